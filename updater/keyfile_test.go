package updater_test

import (
	"encoding/base64"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/sigtest"
)

// Key file tests of the public side; the release package tests the
// signing side with the same key forms (sigtest.Files).

func TestParseKeyText(t *testing.T) {
	kf := sigtest.NewFiles(t, testKey())
	pemBody := strings.Split(kf.PEMKey, "\n")[1]
	for _, tc := range []struct {
		name, text string
		want       error // nil: parses to kf.Pub
	}{
		{"public line", kf.PubLine, nil},
		{"public line without newline", strings.TrimSpace(kf.PubLine), nil},
		{"bare base64 (older .pub files)", kf.BarePub, nil},
		{"raw url base64", base64.RawURLEncoding.EncodeToString(kf.Pub), nil},
		{"pkix pem", kf.PEMPub, nil},
		{"private pem", kf.PEMKey, updater.ErrWrongKeyKind},
		{"encrypted private pem", strings.ReplaceAll(kf.PEMKey, "PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), updater.ErrWrongKeyKind},
		{"old seed and public key", kf.OldFull, updater.ErrWrongKeyKind},
		{"too short", base64.StdEncoding.EncodeToString(kf.Pub[:31]), updater.ErrInvalidKey},
		{"prefix with a short key", updater.PublicKeyPrefix + base64.StdEncoding.EncodeToString(kf.Pub[:31]), updater.ErrInvalidKey},
		{"junk", "%%%", updater.ErrInvalidKey},
		{"empty", " \n", updater.ErrInvalidKey},
	} {
		t.Run("public/"+tc.name, func(t *testing.T) {
			got, err := updater.ParsePublicKey(tc.text)
			if tc.want == nil {
				if err != nil || !got.Equal(kf.Pub) {
					t.Fatalf("ParsePublicKey = %v", err)
				}
				return
			}
			sigtest.CheckError(t, err, "parse public key", "", tc.want, nil, []string{pemBody, kf.OldFull})
		})
	}
}

func TestLoadPublicKey(t *testing.T) {
	kf := sigtest.NewFiles(t, testKey())
	pemBody := strings.Split(kf.PEMKey, "\n")[1]
	for _, tc := range []struct {
		name  string
		files map[string]string
		load  string
		want  error // nil: loads kf.Pub
		says  []string
	}{
		{"public line from keygen", map[string]string{"release.key.pub": kf.PubLine}, "release.key.pub", nil, nil},
		{"bare base64 (older .pub files)", map[string]string{"release.key.pub": kf.BarePub}, "release.key.pub", nil, nil},
		{"bare base64 beside an unrelated .pub", map[string]string{"k": kf.BarePub, "k.pub": kf.OtherPub}, "k", nil, nil},
		{"pkix pem", map[string]string{"k.pem": kf.PEMPub}, "k.pem", nil, nil},
		{"private key file", map[string]string{"release.key": kf.PEMKey, "release.key.pub": kf.PubLine}, "release.key",
			updater.ErrWrongKeyKind, []string{"this is a private key; pass the public key file written by keygen (DIR/release.key.pub)"}},
		{"old seed beside its .pub", map[string]string{"k": kf.OldSeed, "k.pub": kf.BarePub}, "k",
			updater.ErrWrongKeyKind, []string{"this is a private key", "(DIR/k.pub)"}},
		{"old seed and public key", map[string]string{"k": kf.OldFull}, "k", updater.ErrWrongKeyKind, []string{"this is a private key"}},
		{"missing", nil, "release.key.pub", fs.ErrNotExist, []string{"file not found"}},
		{"too short", map[string]string{"k.pub": base64.StdEncoding.EncodeToString(kf.Pub[:31])}, "k.pub", updater.ErrInvalidKey, []string{"31 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			sigtest.WriteFiles(t, dir, tc.files)
			p := filepath.Join(dir, tc.load)
			got, err := updater.LoadPublicKey(p)
			if tc.want == nil {
				if err != nil || !got.Equal(kf.Pub) {
					t.Fatalf("LoadPublicKey = %v", err)
				}
				return
			}
			var says []string
			for _, s := range tc.says {
				says = append(says, strings.ReplaceAll(s, "DIR/", dir+string(filepath.Separator)))
			}
			sigtest.CheckError(t, err, "load public key", p, tc.want, says, []string{pemBody, kf.OldSeed, kf.OldFull})
		})
	}
	if id := updater.KeyID(kf.Pub); len(id) != 16 {
		t.Fatalf("KeyID %q", id)
	}
}
