package updater_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
)

// Key file tests of the public side; the release package tests the
// signing side with the same key forms.

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
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key) // as release.EncodePrivateKey writes it
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
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
