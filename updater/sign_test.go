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
	"net/http"
	"os"
	"path/filepath"
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
		{"zero now skips expiry", good, "demo.counter", 0, time.Time{}, nil},
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := updater.VerifyDocument(tc.env, pub, tc.app, tc.lastSeq, tc.now)
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
	if _, err := updater.VerifyDocument(byOther, pub, "demo.counter", 0, now); !strings.Contains(err.Error(), updater.KeyID(pub)) {
		t.Errorf("wrong-key error does not name the keys: %v", err)
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

func TestSignKeyFiles(t *testing.T) {
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	dir := t.TempDir()
	pemKey, err := updater.EncodePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for _, tc := range []struct {
		name, data string
		ok         bool
	}{
		{"pkcs8 pem", string(pemKey), true},
		{"base64 seed", base64.StdEncoding.EncodeToString(key.Seed()) + "\n", true},
		{"base64 full key", base64.StdEncoding.EncodeToString(key), true},
		{"short", base64.StdEncoding.EncodeToString(key.Seed()[:16]), false},
		{"not a key", "hello", false},
		{"public pem as private", string(pemPub), false},
	} {
		t.Run("private/"+tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			os.WriteFile(p, []byte(tc.data), 0o600)
			got, err := updater.LoadPrivateKey(p)
			if tc.ok != (err == nil) || (tc.ok && !got.Equal(key)) {
				t.Fatalf("LoadPrivateKey = %v", err)
			}
			if err != nil && !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the file: %v", err)
			}
		})
	}
	for _, tc := range []struct {
		name, text string
		ok         bool
	}{
		{"base64", updater.EncodePublicKey(pub), true},
		{"base64 with newline", updater.EncodePublicKey(pub) + "\n", true},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(pub), true},
		{"pkix pem", string(pemPub), true},
		{"too short", base64.StdEncoding.EncodeToString(pub[:31]), false},
		{"private pem", string(pemKey), false},
		{"junk", "%%%", false},
	} {
		t.Run("public/"+tc.name, func(t *testing.T) {
			got, err := updater.ParsePublicKey(tc.text)
			if tc.ok != (err == nil) || (tc.ok && !got.Equal(pub)) {
				t.Fatalf("ParsePublicKey = %v", err)
			}
		})
	}
	p := filepath.Join(dir, "k.pub")
	os.WriteFile(p, []byte(updater.EncodePublicKey(pub)+"\n"), 0o644)
	if got, err := updater.LoadPublicKey(p); err != nil || !got.Equal(pub) {
		t.Fatalf("LoadPublicKey = %v", err)
	}
	if id := updater.KeyID(pub); len(id) != 16 {
		t.Fatalf("KeyID %q", id)
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
	doc, err := updater.VerifyDocument(env, key.Public().(ed25519.PublicKey), "demo.counter", 2, now.Add(time.Minute))
	fmt.Println(doc.Latest.Version, doc.Latest.Path, err)
	_, err = updater.VerifyDocument(env, key.Public().(ed25519.PublicKey), "demo.counter", 2, now.Add(2*time.Hour))
	fmt.Println(errors.Is(err, updater.ErrExpired))
	// Output:
	// 1.2.0 apps/demo.counter/packages/1.2.0.mpk <nil>
	// true
}
