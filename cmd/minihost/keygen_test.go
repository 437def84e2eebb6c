package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

func TestKeygenCommand(t *testing.T) {
	key := filepath.Join(t.TempDir(), "k")
	code, stdout, stderr := relRun(t, "keygen", "-o", key)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	priv, err := release.LoadPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := updater.LoadPublicKey(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("public key file does not match the private key")
	}
	if !strings.Contains(stdout, updater.EncodePublicKey(pub)) || !strings.Contains(stdout, updater.KeyID(pub)) {
		t.Errorf("stdout %q lacks the public key or its id", stdout)
	}
	fi, _ := os.Stat(key)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, want 0600", fi.Mode().Perm())
	}
	// Each file says what it holds, and the two cannot be mistaken.
	privText, _ := os.ReadFile(key)
	text, _ := os.ReadFile(key + ".pub")
	if !strings.HasPrefix(string(privText), "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("private key file starts %q, want PEM \"PRIVATE KEY\"", strings.SplitN(string(privText), "\n", 2)[0])
	}
	if string(text) != "minihost-ed25519-public:"+base64.StdEncoding.EncodeToString(pub)+"\n" {
		t.Errorf("public key file %q, want minihost-ed25519-public:BASE64", text)
	}
	// The public key text is what "run --pubkey" takes as well.
	if p2, err := updater.ParsePublicKey(string(text)); err != nil || !p2.Equal(pub) {
		t.Fatalf("ParsePublicKey of the .pub text: %v", err)
	}

	before, _ := os.ReadFile(key)
	code, _, stderr = relRun(t, "keygen", "-o", key)
	if code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second keygen: exit %d, %q", code, stderr)
	}
	if after, _ := os.ReadFile(key); string(after) != string(before) {
		t.Fatal("existing key overwritten")
	}
	// Only the .pub exists: still refuse, and write nothing.
	other := filepath.Join(t.TempDir(), "k2")
	os.WriteFile(other+".pub", []byte("x"), 0o644)
	if code, _, _ := relRun(t, "keygen", "-o", other); code != 1 {
		t.Fatalf("keygen over an existing .pub: exit %d", code)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatal("private key written although the .pub existed")
	}
	if code, _, _ := relRun(t, "keygen"); code != 2 {
		t.Fatalf("keygen without -o: exit %d, want 2", code)
	}
}
