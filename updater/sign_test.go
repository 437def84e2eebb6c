package updater_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
)

func testDocument(now time.Time) *updater.Document {
	return &updater.Document{
		AppID:    "demo.counter",
		Sequence: 7,
		Latest: &updater.Release{Version: "1.2.0", Size: 1234, SHA256: strings.Repeat("ab", 32),
			Path: "apps/demo.counter/packages/1.2.0.mpk"},
		RolloutPercent: 100,
		MinVersion:     "1.0.0",
		IssuedAt:       now,
		ExpiresAt:      now.Add(time.Hour),
	}
}

// editEnvelope decodes an envelope, lets edit change it, and re-encodes it.
func editEnvelope(t *testing.T, env []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(env, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignVerifyDocument(t *testing.T) {
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	now := newTestClock().Now()
	sign := func(d *updater.Document) []byte {
		env, err := updater.SignDocument(d, key)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	good := sign(testDocument(now))
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	byOther, _ := updater.SignDocument(testDocument(now), otherKey)
	bad := testDocument(now)
	bad.Latest.SHA256 = "XYZ"
	stableNewer := testDocument(now)
	stableNewer.Stable = &updater.Release{Version: "1.3.0", Size: 1, SHA256: strings.Repeat("cd", 32), Path: "a/b.mpk"}
	escaping := testDocument(now)
	escaping.Latest.Path = "../../etc/passwd"
	// A version no client can store as a file name (it names the
	// download's .part file): the package rule, at most 64 bytes.
	longVersion := testDocument(now)
	longVersion.Latest.Version = "1.2.0-" + strings.Repeat("a", 238)
	longMin := testDocument(now)
	longMin.MinVersion = "1.0.0-" + strings.Repeat("a", 238)

	for _, tc := range []struct {
		name    string
		env     []byte
		app     string
		lastSeq uint64
		now     time.Time
		want    error
	}{
		{"valid", good, "demo.counter", 0, now, nil},
		{"same sequence", good, "demo.counter", 7, now, nil},
		{"replay", good, "demo.counter", 8, now, updater.ErrReplay},
		{"expired", good, "demo.counter", 0, now.Add(time.Hour), updater.ErrExpired},
		{"wrong app", good, "demo.hello", 0, now, updater.ErrWrongApp},
		{"signed by another key", byOther, "demo.counter", 0, now, updater.ErrBadSignature},
		{"tampered body", editEnvelope(t, good, func(m map[string]any) {
			body, _ := base64.StdEncoding.DecodeString(m["signed"].(string))
			body = bytes.Replace(body, []byte(`"sequence":7`), []byte(`"sequence":9`), 1)
			m["signed"] = base64.StdEncoding.EncodeToString(body)
		}), "demo.counter", 0, now, updater.ErrBadSignature},
		{"tampered signature", editEnvelope(t, good, func(m map[string]any) {
			sig, _ := base64.StdEncoding.DecodeString(m["signature"].(string))
			sig[0] ^= 1
			m["signature"] = base64.StdEncoding.EncodeToString(sig)
		}), "demo.counter", 0, now, updater.ErrBadSignature},
		{"no signature", editEnvelope(t, good, func(m map[string]any) { delete(m, "signature") }), "demo.counter", 0, now, updater.ErrUnsigned},
		{"bare document", mustJSON(testDocument(now)), "demo.counter", 0, now, updater.ErrUnsigned},
		{"not JSON", []byte("<html>"), "demo.counter", 0, now, updater.ErrUnsigned},
		{"too big", append(bytes.Repeat([]byte(" "), updater.MaxEnvelopeSize), good...), "demo.counter", 0, now, updater.ErrTooBig},
		{"bad hash field", sign(bad), "demo.counter", 0, now, updater.ErrInvalidDocument},
		{"stable newer than latest", sign(stableNewer), "demo.counter", 0, now, updater.ErrInvalidDocument},
		{"path leaves the base", sign(escaping), "demo.counter", 0, now, updater.ErrInvalidDocument},
		{"version too long for a file name", sign(longVersion), "demo.counter", 0, now, updater.ErrInvalidDocument},
		{"minVersion too long", sign(longMin), "demo.counter", 0, now, updater.ErrInvalidDocument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := updater.VerifyDocument(tc.env, pub, updater.VerifyOptions{AppID: tc.app, MinSequence: tc.lastSeq, Now: tc.now})
			if tc.want == nil {
				if err != nil || doc.Sequence != 7 || doc.Latest.Version != "1.2.0" {
					t.Fatalf("VerifyDocument = %+v, %v", doc, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || doc != nil {
				t.Fatalf("VerifyDocument = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := updater.VerifyDocument(byOther, pub, updater.VerifyOptions{AppID: "demo.counter", Now: now}); !strings.Contains(err.Error(), updater.KeyID(pub)) {
		t.Errorf("wrong-key error does not name the keys: %v", err)
	}
}

// TestVerifyDocumentOptions: every check of VerifyOptions is on unless
// waived, a zero value never turns one off, and a waiver skips only its
// own check.
func TestVerifyDocumentOptions(t *testing.T) {
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	now := newTestClock().Now()
	good, err := updater.SignDocument(testDocument(now), key) // sequence 7, expires now+1h
	if err != nil {
		t.Fatal(err)
	}
	byOther, err := updater.SignDocument(testDocument(now), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	expired := now.Add(time.Hour)
	tests := []struct {
		name    string
		env     []byte
		opts    updater.VerifyOptions
		want    error  // a sentinel, or nil
		mention string // for errors without a sentinel
	}{
		{name: "every check passes", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 7, Now: now}},
		{name: "MinSequence 0: nothing seen yet", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", Now: now}},
		{name: "empty AppID", env: good, opts: updater.VerifyOptions{Now: now}, mention: "VerifyOptions.AppID"},
		{name: "empty AppID with waivers", env: good, opts: updater.VerifyOptions{WaiveExpiry: true, WaiveReplay: true}, mention: "VerifyOptions.AppID"},
		{name: "zero Now without waiver", env: good, opts: updater.VerifyOptions{AppID: "demo.counter"}, mention: "VerifyOptions.Now is zero"},
		{name: "zero Now with WaiveExpiry", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", WaiveExpiry: true}},
		{name: "expired", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", Now: expired}, want: updater.ErrExpired},
		{name: "expired, WaiveExpiry", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", Now: expired, WaiveExpiry: true}},
		{name: "replay", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, Now: now}, want: updater.ErrReplay},
		{name: "replay, WaiveReplay", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, Now: now, WaiveReplay: true}},
		{name: "WaiveReplay keeps the expiry check", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, Now: expired, WaiveReplay: true}, want: updater.ErrExpired},
		{name: "WaiveExpiry keeps the replay check", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, WaiveExpiry: true}, want: updater.ErrReplay},
		{name: "saved document: both waived", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, Now: expired, WaiveExpiry: true, WaiveReplay: true}},
		{name: "waivers keep the app check", env: good, opts: updater.VerifyOptions{AppID: "demo.hello", WaiveExpiry: true, WaiveReplay: true}, want: updater.ErrWrongApp},
		{name: "waivers keep the signature check", env: byOther, opts: updater.VerifyOptions{AppID: "demo.counter", WaiveExpiry: true, WaiveReplay: true}, want: updater.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := updater.VerifyDocument(tt.env, pub, tt.opts)
			switch {
			case tt.want == nil && tt.mention == "":
				if err != nil || doc == nil || doc.Sequence != 7 {
					t.Fatalf("VerifyDocument = %+v, %v; want the document", doc, err)
				}
			case tt.want != nil:
				if !errors.Is(err, tt.want) || doc != nil {
					t.Fatalf("VerifyDocument = %+v, %v; want %v", doc, err, tt.want)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.mention) || doc != nil {
					t.Fatalf("VerifyDocument = %+v, %v; want an error naming %q", doc, err, tt.mention)
				}
				for _, sentinel := range verifyErrors {
					if errors.Is(err, sentinel) {
						t.Errorf("options error %q wraps %v, a verdict on the document", err, sentinel)
					}
				}
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestClientRejects serves bad documents from a real loopback server and
// checks the Client refuses each.
func TestClientRejects(t *testing.T) {
	key := testKey()
	clock := newTestClock()
	now := clock.Now()
	docFor := func(app string, seq uint64, issued time.Time) []byte {
		d := testDocument(issued)
		d.AppID, d.Sequence = app, seq
		env, err := updater.SignDocument(d, key)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	var serve []byte
	hs := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apps/demo.counter/release.json" {
			http.NotFound(w, r)
			return
		}
		w.Write(serve)
	}))
	c, err := updater.NewClient(updater.ClientConfig{BaseURL: hs, PublicKey: key.Public().(ed25519.PublicKey), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name    string
		env     []byte
		lastSeq uint64
		want    error
	}{
		{"good", docFor("demo.counter", 5, now), 5, nil},
		{"other app's document", docFor("demo.hello", 5, now), 0, updater.ErrWrongApp},
		{"expired", docFor("demo.counter", 5, now.Add(-2*time.Hour)), 0, updater.ErrExpired},
		{"replayed older", docFor("demo.counter", 4, now), 5, updater.ErrReplay},
		{"signed by another key", func() []byte {
			env, _ := updater.SignDocument(testDocument(now), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)))
			return env
		}(), 0, updater.ErrBadSignature},
		{"unsigned", mustJSON(testDocument(now)), 0, updater.ErrUnsigned},
		{"over the size limit", bytes.Repeat([]byte("x"), updater.MaxEnvelopeSize+10), 0, updater.ErrTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serve = tc.env
			doc, env, err := c.FetchDocument(t.Context(), "demo.counter", tc.lastSeq)
			if tc.want == nil {
				if err != nil || doc == nil || !bytes.Equal(env, tc.env) {
					t.Fatalf("FetchDocument: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || doc != nil || env != nil {
				t.Fatalf("FetchDocument = %v, want %v", err, tc.want)
			}
		})
	}
}

// keyFiles are the forms of one key pair (and some non-keys) as key file
// contents, for the key file tests.
type keyFiles struct {
	key                ed25519.PrivateKey
	pub                ed25519.PublicKey
	pemKey             string // PEM "PRIVATE KEY", what keygen writes
	pubLine            string // minihost-ed25519-public:..., what keygen writes to .pub
	barePub            string // the bare base64 public key of older .pub files
	oldSeed            string // the old private key form: the base64 seed
	oldFull            string // the other old private form: base64 seed and public key
	pemPub             string // PEM "PUBLIC KEY" (PKIX)
	otherPub, otherOld string // another key pair's bare public key and seed
}

func newKeyFiles(t *testing.T) keyFiles {
	t.Helper()
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	pemKey, err := updater.EncodePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	return keyFiles{
		key: key, pub: pub,
		pemKey:   string(pemKey),
		pubLine:  updater.EncodePublicKey(pub) + "\n",
		barePub:  base64.StdEncoding.EncodeToString(pub) + "\n",
		oldSeed:  base64.StdEncoding.EncodeToString(key.Seed()) + "\n",
		oldFull:  base64.StdEncoding.EncodeToString(key),
		pemPub:   string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		otherPub: base64.StdEncoding.EncodeToString(other.Public().(ed25519.PublicKey)),
		otherOld: base64.StdEncoding.EncodeToString(other.Seed()),
	}
}

// writeFiles writes name -> content into dir (private-looking names 0600).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// checkKeyError checks err is a *KeyError for op and path that wraps want,
// says each of says and quotes none of secrets.
func checkKeyError(t *testing.T, err error, op, path string, want error, says, secrets []string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	var ke *updater.KeyError
	if !errors.As(err, &ke) || ke.Op != op || ke.Path != path {
		t.Fatalf("error %#v, want a *KeyError for %q %q", err, op, path)
	}
	prefix := op + ": "
	if path != "" {
		prefix = op + " " + path + ": "
	}
	if msg := err.Error(); !strings.HasPrefix(msg, prefix) {
		t.Errorf("message %q does not start with %q", msg, prefix)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not say %q", err, s)
		}
	}
	for _, s := range secrets {
		if s = strings.TrimSpace(s); s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("message %q quotes the key", err)
		}
	}
}

func TestLoadPrivateKey(t *testing.T) {
	kf := newKeyFiles(t)
	pemBody := strings.Split(kf.pemKey, "\n")[1]
	for _, tc := range []struct {
		name  string
		files map[string]string // written into a fresh folder
		load  string            // the file to load
		want  error             // nil: loads kf.key
		says  []string          // what the message must say ("DIR/" is the folder)
	}{
		{"pem from keygen", map[string]string{"release.key": kf.pemKey}, "release.key", nil, nil},
		{"new public key file", map[string]string{"release.key": kf.pemKey, "release.key.pub": kf.pubLine}, "release.key.pub",
			updater.ErrPublicKeyGiven, []string{"this is a public key; pass the private key file written by keygen (DIR/release.key)"}},
		{"old bare public key file", map[string]string{"release.key.pub": kf.barePub}, "release.key.pub",
			updater.ErrPublicKeyGiven, []string{"this is a public key", "(DIR/release.key)"}},
		{"pem public key", map[string]string{"k": kf.pemPub}, "k", updater.ErrPublicKeyGiven, []string{"this is a public key"}},
		{"public key line under a private name", map[string]string{"k": kf.pubLine}, "k", updater.ErrPublicKeyGiven, []string{"this is a public key"}},
		{"copy of its own .pub", map[string]string{"k": kf.barePub, "k.pub": kf.barePub}, "k", updater.ErrPublicKeyGiven, []string{"this is a public key"}},
		{"copy of a .pub beside it", map[string]string{"k": kf.barePub, "release.key.pub": kf.pubLine}, "k", updater.ErrPublicKeyGiven, []string{"this is a public key"}},
		{"old seed beside its .pub", map[string]string{"k": kf.oldSeed, "k.pub": kf.barePub}, "k",
			updater.ErrOldKeyFormat, []string{"old key format (bare base64), indistinguishable from a public key; convert it with: minihost keygen --convert DIR/k"}},
		{"old seed alone", map[string]string{"k": kf.oldSeed}, "k", updater.ErrOldKeyFormat, []string{"minihost keygen --convert DIR/k"}},
		{"old seed and public key", map[string]string{"k": kf.oldFull}, "k", updater.ErrOldKeyFormat, []string{"minihost keygen --convert DIR/k"}},
		{"missing", nil, "none.key", updater.ErrKeyNotFound, []string{"file not found; make one with: minihost keygen -o DIR/none.key"}},
		{"missing .pub", nil, "release.key.pub", updater.ErrKeyNotFound, []string{"file not found", "(DIR/release.key)"}},
		{"short seed", map[string]string{"k": base64.StdEncoding.EncodeToString(kf.key.Seed()[:16])}, "k", updater.ErrInvalidKey, nil},
		{"not a key", map[string]string{"k": "hello"}, "k", updater.ErrInvalidKey, nil},
		{"empty", map[string]string{"k": ""}, "k", updater.ErrInvalidKey, nil},
		{"other pem", map[string]string{"k": strings.ReplaceAll(kf.pemKey, "PRIVATE KEY", "EC PRIVATE KEY")}, "k", updater.ErrInvalidKey, []string{`"EC PRIVATE KEY"`}},
		{"too big", map[string]string{"k": kf.pemKey + strings.Repeat("\n", 70<<10)}, "k", updater.ErrInvalidKey, []string{"too big"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			p := filepath.Join(dir, tc.load)
			got, err := updater.LoadPrivateKey(p)
			if tc.want == nil {
				if err != nil || !got.Equal(kf.key) {
					t.Fatalf("LoadPrivateKey = %v", err)
				}
				return
			}
			if got != nil {
				t.Fatal("a key came back with the error")
			}
			var says []string
			for _, s := range tc.says {
				says = append(says, strings.ReplaceAll(s, "DIR/", dir+string(filepath.Separator)))
			}
			checkKeyError(t, err, "load signing key", p, tc.want, says, []string{kf.oldSeed, pemBody})
		})
	}
	if _, err := updater.LoadPrivateKey(filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v is not fs.ErrNotExist", err)
	}
}

func TestParseKeyText(t *testing.T) {
	kf := newKeyFiles(t)
	pemBody := strings.Split(kf.pemKey, "\n")[1]
	for _, tc := range []struct {
		name, text string
		want       error // nil: parses to kf.pub
	}{
		{"public line", kf.pubLine, nil},
		{"public line without newline", strings.TrimSpace(kf.pubLine), nil},
		{"bare base64 (older .pub files)", kf.barePub, nil},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(kf.pub), nil},
		{"pkix pem", kf.pemPub, nil},
		{"private pem", kf.pemKey, updater.ErrPrivateKeyGiven},
		{"encrypted private pem", strings.ReplaceAll(kf.pemKey, "PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), updater.ErrPrivateKeyGiven},
		{"old seed and public key", kf.oldFull, updater.ErrPrivateKeyGiven},
		{"too short", base64.StdEncoding.EncodeToString(kf.pub[:31]), updater.ErrInvalidKey},
		{"prefix with a short key", updater.PublicKeyPrefix + base64.StdEncoding.EncodeToString(kf.pub[:31]), updater.ErrInvalidKey},
		{"junk", "%%%", updater.ErrInvalidKey},
		{"empty", " \n", updater.ErrInvalidKey},
	} {
		t.Run("public/"+tc.name, func(t *testing.T) {
			got, err := updater.ParsePublicKey(tc.text)
			if tc.want == nil {
				if err != nil || !got.Equal(kf.pub) {
					t.Fatalf("ParsePublicKey = %v", err)
				}
				return
			}
			checkKeyError(t, err, "parse public key", "", tc.want, nil, []string{pemBody, kf.oldFull})
		})
	}
	for _, tc := range []struct {
		name, text string
		want       error // nil: parses to kf.key
	}{
		{"pem", kf.pemKey, nil},
		{"public line", kf.pubLine, updater.ErrPublicKeyGiven},
		{"pkix pem", kf.pemPub, updater.ErrPublicKeyGiven},
		{"url base64 public key", base64.RawURLEncoding.EncodeToString(kf.pub), updater.ErrPublicKeyGiven},
		{"old seed", kf.oldSeed, updater.ErrOldKeyFormat},
		{"junk", "%%%", updater.ErrInvalidKey},
	} {
		t.Run("private/"+tc.name, func(t *testing.T) {
			got, err := updater.ParsePrivateKey([]byte(tc.text))
			if tc.want == nil {
				if err != nil || !got.Equal(kf.key) {
					t.Fatalf("ParsePrivateKey = %v", err)
				}
				return
			}
			checkKeyError(t, err, "parse signing key", "", tc.want, nil, []string{pemBody, kf.oldSeed})
		})
	}
}

func TestLoadPublicKey(t *testing.T) {
	kf := newKeyFiles(t)
	pemBody := strings.Split(kf.pemKey, "\n")[1]
	for _, tc := range []struct {
		name  string
		files map[string]string
		load  string
		want  error // nil: loads kf.pub
		says  []string
	}{
		{"public line from keygen", map[string]string{"release.key.pub": kf.pubLine}, "release.key.pub", nil, nil},
		{"bare base64 (older .pub files)", map[string]string{"release.key.pub": kf.barePub}, "release.key.pub", nil, nil},
		{"bare base64 beside an unrelated .pub", map[string]string{"k": kf.barePub, "k.pub": kf.otherPub}, "k", nil, nil},
		{"pkix pem", map[string]string{"k.pem": kf.pemPub}, "k.pem", nil, nil},
		{"private key file", map[string]string{"release.key": kf.pemKey, "release.key.pub": kf.pubLine}, "release.key",
			updater.ErrPrivateKeyGiven, []string{"this is a private key; pass the public key file written by keygen (DIR/release.key.pub)"}},
		{"old seed beside its .pub", map[string]string{"k": kf.oldSeed, "k.pub": kf.barePub}, "k",
			updater.ErrPrivateKeyGiven, []string{"this is a private key", "(DIR/k.pub)"}},
		{"old seed and public key", map[string]string{"k": kf.oldFull}, "k", updater.ErrPrivateKeyGiven, []string{"this is a private key"}},
		{"missing", nil, "release.key.pub", updater.ErrKeyNotFound, []string{"file not found"}},
		{"too short", map[string]string{"k.pub": base64.StdEncoding.EncodeToString(kf.pub[:31])}, "k.pub", updater.ErrInvalidKey, []string{"31 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			p := filepath.Join(dir, tc.load)
			got, err := updater.LoadPublicKey(p)
			if tc.want == nil {
				if err != nil || !got.Equal(kf.pub) {
					t.Fatalf("LoadPublicKey = %v", err)
				}
				return
			}
			var says []string
			for _, s := range tc.says {
				says = append(says, strings.ReplaceAll(s, "DIR/", dir+string(filepath.Separator)))
			}
			checkKeyError(t, err, "load public key", p, tc.want, says, []string{pemBody, kf.oldSeed, kf.oldFull})
		})
	}
	if id := updater.KeyID(kf.pub); len(id) != 16 {
		t.Fatalf("KeyID %q", id)
	}
}

func TestConvertKeyFile(t *testing.T) {
	kf := newKeyFiles(t)
	for _, tc := range []struct {
		name      string
		files     map[string]string
		convert   string
		want      error // nil: converts to kf.key
		says      string
		unchanged bool // with want nil: the file was already PEM
		wrotePub  bool // with want nil: FILE.pub was written
	}{
		{"old seed with its old .pub", map[string]string{"k": kf.oldSeed, "k.pub": kf.barePub}, "k", nil, "", false, false},
		{"old seed with a new .pub", map[string]string{"k": kf.oldSeed, "k.pub": kf.pubLine}, "k", nil, "", false, false},
		{"old seed without .pub", map[string]string{"k": kf.oldSeed}, "k", nil, "", false, true},
		{"old seed and public key", map[string]string{"k": kf.oldFull, "k.pub": kf.barePub}, "k", nil, "", false, false},
		{"already pem", map[string]string{"k": kf.pemKey, "k.pub": kf.pubLine}, "k", nil, "", true, false},
		{".pub of another key", map[string]string{"k": kf.oldSeed, "k.pub": kf.otherPub}, "k", updater.ErrKeyMismatch, "k.pub holds key id", false, false},
		{"copy of its own .pub", map[string]string{"k": kf.barePub, "k.pub": kf.barePub}, "k", updater.ErrPublicKeyGiven, "same key as", false, false},
		{"a .pub file", map[string]string{"release.key.pub": kf.barePub}, "release.key.pub", updater.ErrPublicKeyGiven, "not its .pub", false, false},
		{"copy of a .pub beside it", map[string]string{"k": kf.otherPub, "other.pub": kf.otherPub}, "k", updater.ErrPublicKeyGiven, "other.pub", false, false},
		{"new public key format", map[string]string{"k": kf.pubLine}, "k", updater.ErrPublicKeyGiven, "this is a public key", false, false},
		{".pub holds a private key", map[string]string{"k": kf.oldSeed, "k.pub": kf.pemKey}, "k", updater.ErrPrivateKeyGiven, "k.pub", false, false},
		{"missing", nil, "none", updater.ErrKeyNotFound, "file not found", false, false},
		{"junk", map[string]string{"k": "hello"}, "k", updater.ErrInvalidKey, "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			p := filepath.Join(dir, tc.convert)
			res, err := updater.ConvertKeyFile(p)
			after := map[string]string{}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				after[e.Name()] = string(data)
			}
			if tc.want != nil {
				checkKeyError(t, err, "convert key", p, tc.want, []string{tc.says}, []string{kf.oldSeed})
				if !maps.Equal(after, tc.files) && !(tc.files == nil && len(after) == 0) {
					t.Fatalf("files changed on error: %q", after)
				}
				return
			}
			if err != nil || !res.Public.Equal(kf.pub) || res.Converted == tc.unchanged || res.WrotePublic != tc.wrotePub {
				t.Fatalf("ConvertKeyFile = %+v, %v", res, err)
			}
			wantFiles := len(tc.files)
			if tc.wrotePub {
				wantFiles++
			}
			if len(after) != wantFiles {
				t.Fatalf("files after: %q (temporary files left?)", slices.Sorted(maps.Keys(after)))
			}
			if after[tc.convert] != kf.pemKey {
				t.Fatalf("converted file:\n%s\nwant the PEM key", after[tc.convert])
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
				t.Errorf("converted key mode %v, want 0600", fi.Mode().Perm())
			}
			if tc.wrotePub && after[tc.convert+".pub"] != kf.pubLine {
				t.Errorf("written .pub %q, want %q", after[tc.convert+".pub"], kf.pubLine)
			}
			if !tc.wrotePub && after[tc.convert+".pub"] != tc.files[tc.convert+".pub"] {
				t.Errorf(".pub rewritten: %q", after[tc.convert+".pub"])
			}
			// The converted key signs; the .pub clients already hold verifies.
			key, err := updater.LoadPrivateKey(p)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := updater.LoadPublicKey(p + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			now := newTestClock().Now()
			env, err := updater.SignDocument(testDocument(now), key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := updater.VerifyDocument(env, pub, updater.VerifyOptions{AppID: "demo.counter", Now: now}); err != nil {
				t.Fatalf("document signed with the converted key: %v", err)
			}
			// Converting again changes nothing.
			if res, err := updater.ConvertKeyFile(p); err != nil || res.Converted {
				t.Fatalf("second ConvertKeyFile = %+v, %v", res, err)
			}
		})
	}
}

func ExampleSignDocument() {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	env, err := updater.SignDocument(&updater.Document{
		AppID:    "demo.counter",
		Sequence: 3,
		Latest: &updater.Release{Version: "1.2.0", Size: 4096, SHA256: strings.Repeat("0", 64),
			Path: updater.PackagePath("demo.counter", "1.2.0")},
		RolloutPercent: 100,
		IssuedAt:       now,
		ExpiresAt:      now.Add(updater.DefaultDocumentLifetime),
	}, key)
	if err != nil {
		panic(err)
	}
	// The client holds the public key and the last sequence it verified.
	pub := key.Public().(ed25519.PublicKey)
	doc, err := updater.VerifyDocument(env, pub, updater.VerifyOptions{AppID: "demo.counter", MinSequence: 2, Now: now.Add(time.Minute)})
	fmt.Println(doc.Latest.Version, doc.Latest.Path, err)
	_, err = updater.VerifyDocument(env, pub, updater.VerifyOptions{AppID: "demo.counter", MinSequence: 2, Now: now.Add(2 * time.Hour)})
	fmt.Println(errors.Is(err, updater.ErrExpired))
	// Output:
	// 1.2.0 apps/demo.counter/packages/1.2.0.mpk <nil>
	// true
}
