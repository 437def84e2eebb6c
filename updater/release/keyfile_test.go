package release_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

// Signing key file tests; the key forms are the updater package key
// tests' (keyFiles), the public side's tests are there.

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
	pemKey, err := release.EncodePrivateKey(key)
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
			release.ErrPublicKeyGiven, []string{"this is a public key; pass the private key file written by keygen (DIR/release.key)"}},
		{"old bare public key file", map[string]string{"release.key.pub": kf.barePub}, "release.key.pub",
			release.ErrPublicKeyGiven, []string{"this is a public key", "(DIR/release.key)"}},
		{"pem public key", map[string]string{"k": kf.pemPub}, "k", release.ErrPublicKeyGiven, []string{"this is a public key"}},
		{"public key line under a private name", map[string]string{"k": kf.pubLine}, "k", release.ErrPublicKeyGiven, []string{"this is a public key"}},
		{"copy of its own .pub", map[string]string{"k": kf.barePub, "k.pub": kf.barePub}, "k", release.ErrPublicKeyGiven, []string{"this is a public key"}},
		{"copy of a .pub beside it", map[string]string{"k": kf.barePub, "release.key.pub": kf.pubLine}, "k", release.ErrPublicKeyGiven, []string{"this is a public key"}},
		{"old seed beside its .pub", map[string]string{"k": kf.oldSeed, "k.pub": kf.barePub}, "k",
			release.ErrOldKeyFormat, []string{"old key format (bare base64), indistinguishable from a public key; convert it with: minihost keygen --convert DIR/k"}},
		{"old seed alone", map[string]string{"k": kf.oldSeed}, "k", release.ErrOldKeyFormat, []string{"minihost keygen --convert DIR/k"}},
		{"old seed and public key", map[string]string{"k": kf.oldFull}, "k", release.ErrOldKeyFormat, []string{"minihost keygen --convert DIR/k"}},
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
			got, err := release.LoadPrivateKey(p)
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
	if _, err := release.LoadPrivateKey(filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v is not fs.ErrNotExist", err)
	}
}

func TestParsePrivateKey(t *testing.T) {
	kf := newKeyFiles(t)
	pemBody := strings.Split(kf.pemKey, "\n")[1]
	for _, tc := range []struct {
		name, text string
		want       error // nil: parses to kf.key
	}{
		{"pem", kf.pemKey, nil},
		{"public line", kf.pubLine, release.ErrPublicKeyGiven},
		{"pkix pem", kf.pemPub, release.ErrPublicKeyGiven},
		{"url base64 public key", base64.RawURLEncoding.EncodeToString(kf.pub), release.ErrPublicKeyGiven},
		{"old seed", kf.oldSeed, release.ErrOldKeyFormat},
		{"junk", "%%%", updater.ErrInvalidKey},
	} {
		t.Run("private/"+tc.name, func(t *testing.T) {
			got, err := release.ParsePrivateKey([]byte(tc.text))
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
		{".pub of another key", map[string]string{"k": kf.oldSeed, "k.pub": kf.otherPub}, "k", release.ErrKeyMismatch, "k.pub holds key id", false, false},
		{"copy of its own .pub", map[string]string{"k": kf.barePub, "k.pub": kf.barePub}, "k", release.ErrPublicKeyGiven, "same key as", false, false},
		{"a .pub file", map[string]string{"release.key.pub": kf.barePub}, "release.key.pub", release.ErrPublicKeyGiven, "not its .pub", false, false},
		{"copy of a .pub beside it", map[string]string{"k": kf.otherPub, "other.pub": kf.otherPub}, "k", release.ErrPublicKeyGiven, "other.pub", false, false},
		{"new public key format", map[string]string{"k": kf.pubLine}, "k", release.ErrPublicKeyGiven, "this is a public key", false, false},
		{".pub holds a private key", map[string]string{"k": kf.oldSeed, "k.pub": kf.pemKey}, "k", updater.ErrPrivateKeyGiven, "k.pub", false, false},
		{"missing", nil, "none", updater.ErrKeyNotFound, "file not found", false, false},
		{"junk", map[string]string{"k": "hello"}, "k", updater.ErrInvalidKey, "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			p := filepath.Join(dir, tc.convert)
			res, err := release.ConvertKeyFile(p)
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
			key, err := release.LoadPrivateKey(p)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := updater.LoadPublicKey(p + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			now := newTestClock().Now()
			env, err := release.SignDocument(testDocument(now), key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := updater.VerifyDocument(env, pub, updater.VerifyOptions{AppID: "demo.counter", Now: now}); err != nil {
				t.Fatalf("document signed with the converted key: %v", err)
			}
			// Converting again changes nothing.
			if res, err := release.ConvertKeyFile(p); err != nil || res.Converted {
				t.Fatalf("second ConvertKeyFile = %+v, %v", res, err)
			}
		})
	}
}
