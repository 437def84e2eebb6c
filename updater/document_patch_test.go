package updater_test

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/sign"
	"github.com/minihost/minihost/updater/internal/sigtest"
)

// A document's delta fields verify like the rest: well formed or refused
// with ErrInvalidDocument; a document without them (older servers)
// verifies as before.
func TestVerifyDocumentPatches(t *testing.T) {
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	now := newTestClock().Now()
	sum := strings.Repeat("ab", 32)
	good := updater.Patch{From: "1.1.0", Size: 10, SHA256: sum, Path: "apps/a/patches/1.2.0/1.1.0.mpd"}
	tests := []struct {
		name    string
		content string
		patches []updater.Patch
		ok      bool
	}{
		{name: "no delta fields", ok: true},
		{name: "content only", content: sum, ok: true},
		{name: "content and patch", content: sum, patches: []updater.Patch{good}, ok: true},
		{name: "patches without content", patches: []updater.Patch{good}},
		{name: "content not hex", content: strings.Repeat("X", 64)},
		{name: "patch from a newer version", content: sum, patches: []updater.Patch{{From: "9.0.0", Size: 1, SHA256: sum, Path: "p"}}},
		{name: "patch from itself", content: sum, patches: []updater.Patch{{From: "1.2.0", Size: 1, SHA256: sum, Path: "p"}}},
		{name: "patch of no size", content: sum, patches: []updater.Patch{{From: "1.1.0", SHA256: sum, Path: "p"}}},
		{name: "patch path escapes", content: sum, patches: []updater.Patch{{From: "1.1.0", Size: 1, SHA256: sum, Path: "../x"}}},
		{name: "patch sha256 short", content: sum, patches: []updater.Patch{{From: "1.1.0", Size: 1, SHA256: "ab", Path: "p"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := sigtest.Document(now)
			if d.Latest.Version != "1.2.0" {
				t.Fatalf("sigtest's latest is %s; the cases assume 1.2.0", d.Latest.Version)
			}
			d.Latest.Content, d.Latest.Patches = tt.content, tt.patches
			env, err := sign.Document(d, key)
			if err != nil {
				t.Fatal(err)
			}
			_, err = updater.VerifyDocument(env, pub, updater.VerifyOptions{AppID: d.AppID, Now: now})
			if tt.ok && err != nil {
				t.Fatalf("VerifyDocument = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, updater.ErrInvalidDocument) {
				t.Fatalf("VerifyDocument = %v, want ErrInvalidDocument", err)
			}
		})
	}
}
