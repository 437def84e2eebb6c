package release_test

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/sign"
	"github.com/minihost/minihost/updater/internal/sigtest"
	"github.com/minihost/minihost/updater/release"
)

// Signing key file tests; the key forms (sigtest.Files) are shared
// with the updater package's public key tests.

func TestLoadPrivateKey(t *testing.T) {
	kf := sigtest.NewFiles(t, testKey())
	pemBody := strings.Split(kf.PEMKey, "\n")[1]
	for _, tc := range []struct {
		name  string
		files map[string]string // written into a fresh folder
		load  string            // the file to load
		want  error             // nil: loads kf.Key
		says  []string          // what the message must say ("DIR/" is the folder)
	}{
		{"pem from keygen", map[string]string{"release.key": kf.PEMKey}, "release.key", nil, nil},
		{"new public key file", map[string]string{"release.key": kf.PEMKey, "release.key.pub": kf.PubLine}, "release.key.pub",
			updater.ErrWrongKeyKind, []string{"this is a public key; pass the private key file written by keygen (DIR/release.key)"}},
		{"old bare public key file", map[string]string{"release.key.pub": kf.BarePub}, "release.key.pub",
			updater.ErrWrongKeyKind, []string{"this is a public key", "(DIR/release.key)"}},
		{"pem public key", map[string]string{"k": kf.PEMPub}, "k", updater.ErrWrongKeyKind, []string{"this is a public key"}},
		{"url base64 public key", map[string]string{"k": base64.RawURLEncoding.EncodeToString(kf.Pub)}, "k", updater.ErrWrongKeyKind, []string{"this is a public key"}},
		{"public key line under a private name", map[string]string{"k": kf.PubLine}, "k", updater.ErrWrongKeyKind, []string{"this is a public key"}},
		{"copy of its own .pub", map[string]string{"k": kf.BarePub, "k.pub": kf.BarePub}, "k", updater.ErrWrongKeyKind, []string{"this is a public key"}},
		{"copy of a .pub beside it", map[string]string{"k": kf.BarePub, "release.key.pub": kf.PubLine}, "k", updater.ErrWrongKeyKind, []string{"this is a public key"}},
		{"old seed beside its .pub", map[string]string{"k": kf.OldSeed, "k.pub": kf.BarePub}, "k",
			release.ErrOldKeyFormat, []string{"old key format (bare base64), indistinguishable from a public key; convert it with: minihost keygen --convert DIR/k"}},
		{"old seed alone", map[string]string{"k": kf.OldSeed}, "k", release.ErrOldKeyFormat, []string{"minihost keygen --convert DIR/k"}},
		{"old seed and public key", map[string]string{"k": kf.OldFull}, "k", release.ErrOldKeyFormat, []string{"minihost keygen --convert DIR/k"}},
		{"missing", nil, "none.key", fs.ErrNotExist, []string{"file not found; make one with: minihost keygen -o DIR/none.key"}},
		{"missing .pub", nil, "release.key.pub", fs.ErrNotExist, []string{"file not found", "(DIR/release.key)"}},
		{"short seed", map[string]string{"k": base64.StdEncoding.EncodeToString(kf.Key.Seed()[:16])}, "k", updater.ErrInvalidKey, nil},
		{"not a key", map[string]string{"k": "hello"}, "k", updater.ErrInvalidKey, nil},
		{"empty", map[string]string{"k": ""}, "k", updater.ErrInvalidKey, nil},
		{"other pem", map[string]string{"k": strings.ReplaceAll(kf.PEMKey, "PRIVATE KEY", "EC PRIVATE KEY")}, "k", updater.ErrInvalidKey, []string{`"EC PRIVATE KEY"`}},
		{"too big", map[string]string{"k": kf.PEMKey + strings.Repeat("\n", 70<<10)}, "k", updater.ErrInvalidKey, []string{"too big"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sigtest.WriteFiles(t, dir, tc.files)
			p := filepath.Join(dir, tc.load)
			got, err := release.LoadPrivateKey(p)
			if tc.want == nil {
				if err != nil || !got.Equal(kf.Key) {
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
			sigtest.CheckError(t, err, "load signing key", p, tc.want, says, []string{kf.OldSeed, pemBody})
			if tc.want == release.ErrOldKeyFormat && !errors.Is(err, updater.ErrInvalidKey) {
				t.Errorf("old key format: %v is not updater.ErrInvalidKey", err)
			}
		})
	}
	if _, err := release.LoadPrivateKey(filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v is not fs.ErrNotExist", err)
	}
}

func TestConvertKeyFile(t *testing.T) {
	kf := sigtest.NewFiles(t, testKey())
	for _, tc := range []struct {
		name      string
		files     map[string]string
		convert   string
		want      error // nil: converts to kf.Key
		says      string
		unchanged bool // with want nil: the file was already PEM
		wrotePub  bool // with want nil: FILE.pub was written
	}{
		{"old seed with its old .pub", map[string]string{"k": kf.OldSeed, "k.pub": kf.BarePub}, "k", nil, "", false, false},
		{"old seed with a new .pub", map[string]string{"k": kf.OldSeed, "k.pub": kf.PubLine}, "k", nil, "", false, false},
		{"old seed without .pub", map[string]string{"k": kf.OldSeed}, "k", nil, "", false, true},
		{"old seed and public key", map[string]string{"k": kf.OldFull, "k.pub": kf.BarePub}, "k", nil, "", false, false},
		{"already pem", map[string]string{"k": kf.PEMKey, "k.pub": kf.PubLine}, "k", nil, "", true, false},
		{".pub of another key", map[string]string{"k": kf.OldSeed, "k.pub": kf.OtherPub}, "k", release.ErrKeyMismatch, "k.pub holds key id", false, false},
		{"copy of its own .pub", map[string]string{"k": kf.BarePub, "k.pub": kf.BarePub}, "k", updater.ErrWrongKeyKind, "same key as", false, false},
		{"a .pub file", map[string]string{"release.key.pub": kf.BarePub}, "release.key.pub", updater.ErrWrongKeyKind, "not its .pub", false, false},
		{"copy of a .pub beside it", map[string]string{"k": kf.OtherPub, "other.pub": kf.OtherPub}, "k", updater.ErrWrongKeyKind, "other.pub", false, false},
		{"new public key format", map[string]string{"k": kf.PubLine}, "k", updater.ErrWrongKeyKind, "this is a public key", false, false},
		{".pub holds a private key", map[string]string{"k": kf.OldSeed, "k.pub": kf.PEMKey}, "k", updater.ErrWrongKeyKind, "k.pub", false, false},
		{"missing", nil, "none", fs.ErrNotExist, "file not found", false, false},
		{"junk", map[string]string{"k": "hello"}, "k", updater.ErrInvalidKey, "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sigtest.WriteFiles(t, dir, tc.files)
			p := filepath.Join(dir, tc.convert)
			res, err := release.ConvertKeyFile(p)
			after := map[string]string{}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				after[e.Name()] = string(data)
			}
			if tc.want != nil {
				sigtest.CheckError(t, err, "convert key", p, tc.want, []string{tc.says}, []string{kf.OldSeed})
				if tc.want == release.ErrKeyMismatch && !errors.Is(err, updater.ErrInvalidKey) {
					t.Errorf("key mismatch: %v is not updater.ErrInvalidKey", err)
				}
				if !maps.Equal(after, tc.files) && !(tc.files == nil && len(after) == 0) {
					t.Fatalf("files changed on error: %q", after)
				}
				return
			}
			if err != nil || !res.Public.Equal(kf.Pub) || res.Converted == tc.unchanged || res.WrotePublic != tc.wrotePub {
				t.Fatalf("ConvertKeyFile = %+v, %v", res, err)
			}
			wantFiles := len(tc.files)
			if tc.wrotePub {
				wantFiles++
			}
			if len(after) != wantFiles {
				t.Fatalf("files after: %q (temporary files left?)", slices.Sorted(maps.Keys(after)))
			}
			if after[tc.convert] != kf.PEMKey {
				t.Fatalf("converted file:\n%s\nwant the PEM key", after[tc.convert])
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
				t.Errorf("converted key mode %v, want 0600", fi.Mode().Perm())
			}
			if tc.wrotePub && after[tc.convert+".pub"] != kf.PubLine {
				t.Errorf("written .pub %q, want %q", after[tc.convert+".pub"], kf.PubLine)
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
			env, err := sign.Document(sigtest.Document(now), key)
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
