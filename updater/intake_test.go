package updater_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
)

// longVersion returns a valid-looking pre-release version of n bytes.
func longVersion(n int) string { return "1.0.0-" + strings.Repeat("a", n-len("1.0.0-")) }

// TestIntakeStoreRefusesLongVersion: the client store is never given a
// version it could not name a file after: InstallRelease refuses it before
// reading or extracting anything.
func TestIntakeStoreRefusesLongVersion(t *testing.T) {
	for _, n := range []int{65, 244, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			home := t.TempDir()
			s, err := updater.OpenStore(updater.StoreConfig{Dir: home})
			if err != nil {
				t.Fatal(err)
			}
			v := longVersion(n)
			pkg := filepath.Join(t.TempDir(), "p.mpk")
			if err := os.WriteFile(pkg, craftPackage(t, map[string]string{
				"app.json": manifestJSON("demo.app", v), "app.wasm": "\x00asm\x01\x00\x00\x00"}), 0o644); err != nil {
				t.Fatal(err)
			}
			rel := releaseOf(t, "demo.app", v, pkg)
			err = s.InstallRelease(t.Context(), "demo.app", rel, pkg)
			if want := fmt.Sprintf("%d bytes exceeds the limit of 64", n); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("InstallRelease: %v, want an error saying %q", err, want)
			}
			if files := listFiles(t, home); len(files) != 0 {
				t.Errorf("a refused InstallRelease left %v", files)
			}
		})
	}
}

// TestIntakeStoreOpenRemovesTempLeftovers: a crash during an atomic write
// leaves its temporary file, which made doctor report a problem (exit 1)
// until --repair. Opening the store removes such leftovers (they are never
// valid state), so Check then reports the app clean; an extraction folder,
// possibly an install in progress elsewhere, is left to Check and Prune.
func TestIntakeStoreOpenRemovesTempLeftovers(t *testing.T) {
	tests := []struct {
		name      string
		leftovers []string // relative to apps/demo.app
		kept      []string
		clean     bool // Check finds nothing after the open
	}{
		{name: "state write", leftovers: []string{".state.json.tmp-123"}, clean: true},
		{name: "several state writes", leftovers: []string{".state.json.tmp-1", ".state.json.tmp-2"}, clean: true},
		{name: "file list write", leftovers: []string{"files/.1.0.0.json.tmp-4"}, clean: true},
		{name: "extraction in progress", kept: []string{"versions/.install-2.0.0-9/pkg/app.json"}},
		{name: "other files stay", kept: []string{"notes.tmp", "files/1.0.0.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			s, err := updater.OpenStore(updater.StoreConfig{Dir: home})
			if err != nil {
				t.Fatal(err)
			}
			pkg := filepath.Join(t.TempDir(), "p.mpk")
			if err := os.WriteFile(pkg, craftPackage(t, map[string]string{
				"app.json": manifestJSON("demo.app", "1.0.0"), "app.wasm": "\x00asm\x01\x00\x00\x00"}), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := s.InstallRelease(t.Context(), "demo.app", releaseOf(t, "demo.app", "1.0.0", pkg), pkg); err != nil {
				t.Fatal(err)
			}
			appDir := filepath.Join(home, "apps", "demo.app")
			for _, name := range append(slices.Clone(tt.leftovers), tt.kept...) {
				p := filepath.Join(appDir, filepath.FromSlash(name))
				if _, err := os.Stat(p); err == nil {
					continue // a real file of the store, such as the file list
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("{"), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			s, err = updater.OpenStore(updater.StoreConfig{Dir: home})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range tt.leftovers {
				if _, err := os.Stat(filepath.Join(appDir, filepath.FromSlash(name))); !os.IsNotExist(err) {
					t.Errorf("leftover %s still there after the open (%v)", name, err)
				}
			}
			for _, name := range tt.kept {
				if _, err := os.Stat(filepath.Join(appDir, filepath.FromSlash(name))); err != nil {
					t.Errorf("%s removed by the open: %v", name, err)
				}
			}
			rep, err := checkOne(t, s, "demo.app", false)
			if err != nil {
				t.Fatal(err)
			}
			if tt.clean && (!rep.OK() || len(rep.Problems) != 0) {
				t.Errorf("Check after the open found %v", rep.Problems)
			}
		})
	}
}
