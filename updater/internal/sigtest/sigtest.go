// Package sigtest holds the test fixtures of both sides of signing (the
// updater package's verification and public key tests and the release
// package's signing and signing key tests): a release document to sign,
// the forms of one key pair as key file contents, a writer of such files
// and a checker of the errors key functions return. It is for tests only;
// everything in it is safe for concurrent use.
package sigtest

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
	"time"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/keyform"
)

// Document returns a valid release document of demo.counter (latest 1.2.0,
// minimum 1.0.0, sequence 7) issued at now, valid for an hour.
func Document(now time.Time) *updater.Document {
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

// Files are the forms of one key pair (and some non-keys) as key file
// contents, for the key file tests. A plain value.
type Files struct {
	Key                ed25519.PrivateKey
	Pub                ed25519.PublicKey
	PEMKey             string // PEM "PRIVATE KEY", what keygen writes
	PubLine            string // minihost-ed25519-public:..., what keygen writes to .pub
	BarePub            string // the bare base64 public key of older .pub files
	OldSeed            string // the old private key form: the base64 seed
	OldFull            string // the other old private form: base64 seed and public key
	PEMPub             string // PEM "PUBLIC KEY" (PKIX)
	OtherPub, OtherOld string // another key pair's bare public key and seed
}

// NewFiles returns the forms of key's pair, written independently of the
// encoders under test.
func NewFiles(t testing.TB, key ed25519.PrivateKey) Files {
	t.Helper()
	pub := key.Public().(ed25519.PublicKey)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize))
	return Files{
		Key: key, Pub: pub,
		PEMKey:   string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		PubLine:  keyform.PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub) + "\n",
		BarePub:  base64.StdEncoding.EncodeToString(pub) + "\n",
		OldSeed:  base64.StdEncoding.EncodeToString(key.Seed()) + "\n",
		OldFull:  base64.StdEncoding.EncodeToString(key),
		PEMPub:   string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		OtherPub: base64.StdEncoding.EncodeToString(other.Public().(ed25519.PublicKey)),
		OtherOld: base64.StdEncoding.EncodeToString(other.Seed()),
	}
}

// WriteFiles writes name -> content into dir, mode 0600.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// CheckError checks that err is a key error (*keyform.Error) for op and
// path that wraps want, says each of says and quotes none of secrets.
func CheckError(t testing.TB, err error, op, path string, want error, says, secrets []string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	var ke *keyform.Error
	if !errors.As(err, &ke) || ke.Op != op || ke.Path != path {
		t.Fatalf("error %#v, want a key error for %q %q", err, op, path)
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
