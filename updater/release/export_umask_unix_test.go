//go:build unix

package release_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/minihost/minihost/updater/release"
)

// TestExportUnderRestrictiveUmask changes the process umask, so it must not
// run in parallel with anything that creates files.
func TestExportUnderRestrictiveUmask(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o711); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	tests := []struct {
		name    string
		prepare func(t *testing.T, out string)
	}{
		{"a new tree", func(t *testing.T, out string) {}},
		{"a tree whose folders an older export left private", func(t *testing.T, out string) {
			// The operator's folders are readable; the ones inside the
			// tree are not, as an export under umask 077 used to leave them.
			for _, d := range []string{filepath.Dir(filepath.Dir(out)), filepath.Dir(out), out} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(filepath.Join(out, "apps", "demo.counter", "packages"), 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// out's parent does not exist either: Export creates both.
			out := filepath.Join(parent, tt.name, "srv", "public")
			tt.prepare(t, out)
			if _, err := release.Export(t.Context(), release.ExportConfig{DataDir: ts.cfg.DataDir, OutDir: out, Key: testKey()}); err != nil {
				t.Fatalf("Export: %v", err)
			}
			n := 0
			err := filepath.WalkDir(filepath.Join(parent, tt.name), func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				want := fs.FileMode(0o644)
				if d.IsDir() {
					want = 0o755
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%s: mode %v, want %v (umask 077 must not make the tree unreadable to a web server)", p, got, want)
				}
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != 8 { // the 6 folders from tt.name down to packages, 2 files
				t.Errorf("walked %d entries, want 8", n)
			}
			if fi, err := os.Stat(parent); err != nil || fi.Mode().Perm() != 0o711 {
				t.Errorf("the existing folder above the tree: %v, %v; want it left at 0711", fi.Mode(), err)
			}
		})
	}
}
