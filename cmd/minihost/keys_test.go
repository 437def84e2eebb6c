package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
)

// keyFixture is a folder with one key pair in every form the commands meet:
// the files keygen writes, a public key file in the older bare form, and an
// old-format private key (bare base64 seed) beside its bare .pub.
type keyFixture struct {
	dir      string
	key      string // keygen's private key file (PEM)
	pub      string // keygen's public key file (key + ".pub")
	barePub  string // the same public key, bare base64 (older .pub files)
	old      string // an old-format private key of another pair: base64 seed
	oldSeed  string // its text
	pemBody  string // a line of the PEM private key, to catch an echo
	public   ed25519.PublicKey
	oldPub   ed25519.PublicKey
	missing  string // a path that does not exist
	pemKeyTx string // the PEM private key's text
}

func newKeyFixture(t *testing.T) keyFixture {
	t.Helper()
	dir := t.TempDir()
	f := keyFixture{dir: dir, key: filepath.Join(dir, "release.key"), missing: filepath.Join(dir, "none.key")}
	f.pub = f.key + ".pub"
	if code, _, stderr := relRun(t, "keygen", "-o", f.key); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	pem, _ := os.ReadFile(f.key)
	f.pemKeyTx = string(pem)
	f.pemBody = strings.Split(f.pemKeyTx, "\n")[1]
	pub, err := updater.LoadPublicKey(f.pub)
	if err != nil {
		t.Fatal(err)
	}
	f.public = pub
	f.barePub = filepath.Join(dir, "bare", "release.key.pub")
	os.Mkdir(filepath.Dir(f.barePub), 0o755)
	writeFile(t, f.barePub, base64.StdEncoding.EncodeToString(pub)+"\n")

	oldKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))
	f.oldPub = oldKey.Public().(ed25519.PublicKey)
	f.oldSeed = base64.StdEncoding.EncodeToString(oldKey.Seed())
	f.old = filepath.Join(dir, "old", "legacy.key")
	os.Mkdir(filepath.Dir(f.old), 0o755)
	writeFile(t, f.old, f.oldSeed+"\n")
	writeFile(t, f.old+".pub", base64.StdEncoding.EncodeToString(f.oldPub)+"\n")
	return f
}

// relRunBounded is relRun with a deadline: were a refused key taken, serve
// or run would stop at it and the test fail, not hang.
func relRunBounded(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestKeySigningCommandsRefusePublicKey gives each command that signs
// (serve, export) a public key, an old-format key and a missing file.
func TestKeySigningCommandsRefusePublicKey(t *testing.T) {
	f := newKeyFixture(t)
	commands := map[string]func(key string) []string{
		"serve": func(key string) []string {
			return []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--key", key}
		},
		"export": func(key string) []string {
			return []string{"export", "--data", t.TempDir(), "--to", t.TempDir(), "--key", key}
		},
	}
	for _, tc := range []struct {
		name, key, want string
	}{
		{"public key file", f.pub, "load signing key " + f.pub + ": this is a public key; pass the private key file written by keygen (" + f.key + ")"},
		{"older bare public key file", f.barePub, "load signing key " + f.barePub + ": this is a public key; pass the private key file written by keygen (" + strings.TrimSuffix(f.barePub, ".pub") + ")"},
		{"old-format private key", f.old, "load signing key " + f.old + ": old key format (bare base64), indistinguishable from a public key; convert it with: minihost keygen --convert " + f.old},
		{"missing file", f.missing, "load signing key " + f.missing + ": file not found; make one with: minihost keygen -o " + f.missing},
	} {
		for _, name := range []string{"serve", "export"} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				code, stdout, stderr := relRunBounded(t, commands[name](tc.key)...)
				if code != 1 || !strings.Contains(stderr, "minihost "+name+": "+tc.want+"\n") {
					t.Fatalf("exit %d, stderr %q\nwant %q", code, stderr, tc.want)
				}
				if strings.Contains(stdout, "serving") || strings.Contains(stdout, "exported") {
					t.Fatalf("went on: %q", stdout)
				}
				if strings.Contains(stderr, f.oldSeed) {
					t.Fatal("the message quotes the key")
				}
			})
		}
	}
}

// TestKeyVerifyingCommandsRefusePrivateKey gives each command that
// verifies (run, check) a private key, as a file and as text, and a
// missing file.
func TestKeyVerifyingCommandsRefusePrivateKey(t *testing.T) {
	f := newKeyFixture(t)
	commands := map[string]func(pubkey string) []string{
		"run": func(pubkey string) []string {
			return []string{"run", "--home", t.TempDir(), "--server", "http://127.0.0.1:1", "--pubkey", pubkey, "demo.counter"}
		},
		"check": func(pubkey string) []string {
			return []string{"check", "--home", t.TempDir(), "--server", "http://127.0.0.1:1", "--pubkey", pubkey}
		},
	}
	for _, tc := range []struct {
		name, pubkey, want string
	}{
		{"private key file", f.key, "--pubkey: load public key " + f.key + ": this is a private key; pass the public key file written by keygen (" + f.pub + ")"},
		{"old-format private key file", f.old, "--pubkey: load public key " + f.old + ": this is a private key; pass the public key file written by keygen (" + f.old + ".pub)"},
		{"private key text", f.pemKeyTx, "--pubkey: parse public key: this is a private key"},
		{"missing file", f.missing, "--pubkey: load public key " + f.missing + ": file not found\n"},
		// 64 bytes (a seed and a public half that does not match it):
		// neither a file nor a key, and never quoted as a path.
		{"seed and wrong public half as text", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64)), "--pubkey: parse public key"},
	} {
		for _, name := range []string{"run", "check"} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				code, _, stderr := relRunBounded(t, commands[name](tc.pubkey)...)
				if code != 2 || !strings.Contains(stderr, "minihost "+name+": "+tc.want) {
					t.Fatalf("exit %d, stderr %q\nwant %q", code, stderr, tc.want)
				}
				if strings.Contains(stderr, f.pemBody) || strings.Contains(stderr, f.oldSeed) ||
					(!filepath.IsAbs(tc.pubkey) && strings.Contains(stderr, tc.pubkey)) {
					t.Fatalf("the message quotes the private key: %q", stderr)
				}
			})
		}
	}
}

// TestKeyPubkeyFlagForms: --pubkey takes the files keygen writes, older
// bare base64 files, and the text of either.
func TestKeyPubkeyFlagForms(t *testing.T) {
	f := newKeyFixture(t)
	bare, _ := os.ReadFile(f.barePub)
	line, _ := os.ReadFile(f.pub)
	for _, tc := range []struct {
		name, pubkey string
		want         ed25519.PublicKey
	}{
		{"public key file", f.pub, f.public},
		{"older bare public key file", f.barePub, f.public},
		{"old pair's bare .pub", f.old + ".pub", f.oldPub},
		{"public key line", strings.TrimSpace(string(line)), f.public},
		{"bare base64 text", strings.TrimSpace(string(bare)), f.public},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			uf := addUpdateFlags(fs)
			if err := fs.Parse([]string{"--server", "http://127.0.0.1:1", "--pubkey", tc.pubkey}); err != nil {
				t.Fatal(err)
			}
			cfg, err := uf.config()
			if err != nil || !cfg.PublicKey.Equal(tc.want) {
				t.Fatalf("config() = %+v, %v", cfg, err)
			}
		})
	}
}

// TestKeygenConvert converts an old-format key with the command, then
// signs with it through export and verifies with the old .pub.
func TestKeygenConvert(t *testing.T) {
	f := newKeyFixture(t)
	oldPubText, _ := os.ReadFile(f.old + ".pub")

	code, stdout, stderr := relRun(t, "keygen", "--convert", f.old)
	if code != 0 || !strings.Contains(stdout, "converted "+f.old) || !strings.Contains(stdout, updater.KeyID(f.oldPub)) {
		t.Fatalf("convert: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if data, _ := os.ReadFile(f.old); !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----\n") {
		t.Fatalf("converted file:\n%s", data)
	}
	if fi, _ := os.Stat(f.old); fi.Mode().Perm() != 0o600 {
		t.Errorf("converted key mode %v, want 0600", fi.Mode().Perm())
	}
	if data, _ := os.ReadFile(f.old + ".pub"); !bytes.Equal(data, oldPubText) {
		t.Errorf("the .pub changed: %q", data)
	}
	if code, stdout, _ := relRun(t, "keygen", "--convert", f.old); code != 0 || !strings.Contains(stdout, "nothing to convert") {
		t.Fatalf("second convert: exit %d, %q", code, stdout)
	}

	// Export signs with the converted key; a client holding the old .pub
	// verifies the documents.
	data, _ := publishedHello(t, ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)))
	out := filepath.Join(t.TempDir(), "public")
	if code, _, stderr := relRun(t, "export", "--data", data, "--to", out, "--key", f.old); code != 0 {
		t.Fatalf("export with the converted key: exit %d: %s", code, stderr)
	}
	pub, err := updater.LoadPublicKey(f.old + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	c := exportClient(t, out, pub, time.Now)
	if _, _, err := c.FetchDocument(t.Context(), "demo.hello", 0); err != nil {
		t.Fatalf("document signed with the converted key, verified with the old .pub: %v", err)
	}
}

func TestKeygenConvertRefuses(t *testing.T) {
	f := newKeyFixture(t)
	mismatch := filepath.Join(t.TempDir(), "k")
	writeFile(t, mismatch, f.oldSeed)
	writeFile(t, mismatch+".pub", updater.EncodePublicKey(f.public))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a public key file", []string{"--convert", f.barePub}, 1, "convert key " + f.barePub + ": this is a public key"},
		{"keygen's public key file", []string{"--convert", f.pub}, 1, "convert key " + f.pub + ": this is a public key"},
		{"a .pub of another key", []string{"--convert", mismatch}, 1, "convert key " + mismatch + ": private key does not match its public key file"},
		{"missing file", []string{"--convert", f.missing}, 1, "convert key " + f.missing + ": file not found"},
		{"no file", []string{"--convert"}, 2, "flag needs an argument"},
		{"with -o", []string{"--convert", f.old, "-o", f.missing}, 2, "-o and --convert exclude each other"},
		{"an argument", []string{"--convert", f.old, "extra"}, 2, "takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.ReadFile(f.barePub)
			code, _, stderr := relRun(t, append([]string{"keygen"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want %d %q", code, stderr, tc.code, tc.want)
			}
			if after, _ := os.ReadFile(f.barePub); !bytes.Equal(after, before) {
				t.Fatal("a public key file was rewritten")
			}
			if strings.Contains(stderr, f.oldSeed) {
				t.Fatal("the message quotes the key")
			}
			if data, _ := os.ReadFile(f.old); string(data) != f.oldSeed+"\n" {
				t.Fatal("the old key was converted by a refused command")
			}
		})
	}
}
