package fsutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/afero"
)

var errFault = errors.New("injected fault")

// dirSyncFails is a file system on which syncing a folder fails (WriteFunc
// opens only folders with Open).
type dirSyncFails struct{ afero.Fs }

func (f dirSyncFails) Open(name string) (afero.File, error) {
	file, err := f.Fs.Open(name)
	return failingSync{file}, err
}

type failingSync struct{ afero.File }

func (failingSync) Sync() error { return errFault }

// renameFails is a file system on which every rename fails.
type renameFails struct{ afero.Fs }

func (renameFails) Rename(string, string) error { return errFault }

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name       string
		wrap       func(afero.Fs) afero.Fs
		wantErr    bool
		replaced   bool // the new contents are in place
		notDurable bool
	}{
		{name: "ok", wrap: func(f afero.Fs) afero.Fs { return f }, replaced: true},
		{name: "read-only", wrap: afero.NewReadOnlyFs, wantErr: true},
		{name: "rename fails", wrap: func(f afero.Fs) afero.Fs { return renameFails{f} }, wantErr: true},
		{name: "folder sync fails", wrap: func(f afero.Fs) afero.Fs { return dirSyncFails{f} }, wantErr: true, replaced: true, notDurable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := afero.NewMemMapFs()
			if err := afero.WriteFile(mem, "/d/f.json", []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := WriteFile(tt.wrap(mem), "/d/f.json", []byte("new contents"), 0o600)
			if (err != nil) != tt.wantErr {
				t.Fatalf("WriteFile = %v, want an error: %t", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrNotDurable); got != tt.notDurable {
				t.Errorf("errors.Is(%v, ErrNotDurable) = %t, want %t", err, got, tt.notDurable)
			}
			want := "old"
			if tt.replaced {
				want = "new contents"
			}
			if b, _ := afero.ReadFile(mem, "/d/f.json"); string(b) != want {
				t.Errorf("file holds %q, want %q", b, want)
			}
			if names := dirNames(t, mem, "/d"); len(names) != 1 {
				t.Errorf("folder holds %q, want only f.json: a temporary file was left behind", names)
			}
			if fi, err := mem.Stat("/d/f.json"); err != nil {
				t.Error(err)
			} else if tt.replaced && fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode())
			}
		})
	}
}

func TestWriteFuncCheck(t *testing.T) {
	mem := afero.NewMemMapFs()
	if err := mem.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	errBad := errors.New("bad contents")
	tests := []struct {
		name    string
		check   func(tmp string) error
		wantErr error
	}{
		{"check passes", func(string) error { return nil }, nil},
		{"check refuses", func(string) error { return errBad }, errBad},
		{"check sees the whole temporary file", func(tmp string) error {
			b, err := afero.ReadFile(mem, tmp)
			if err != nil {
				return err
			}
			if string(b) != "abc" || !strings.HasPrefix(filepath.Base(tmp), TempPrefix("out")) {
				return errBad
			}
			return nil
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = mem.Remove("/d/out")
			err := WriteFunc(mem, "/d/out", 0o644, func(w io.Writer) error {
				_, err := io.WriteString(w, "abc")
				return err
			}, tt.check)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("WriteFunc = %v, want %v", err, tt.wantErr)
			}
			_, serr := mem.Stat("/d/out")
			if exists := serr == nil; exists != (tt.wantErr == nil) {
				t.Errorf("out exists: %t, want %t", exists, tt.wantErr == nil)
			}
			if names := dirNames(t, mem, "/d"); len(names) > 1 {
				t.Errorf("folder holds %q: a temporary file was left behind", names)
			}
		})
	}
}

func TestWriteOnOSAndRename(t *testing.T) {
	dir := t.TempDir()
	osfs := afero.NewOsFs()
	tests := []struct {
		name string
		run  func(t *testing.T) error
		path string
		want string
	}{
		{"write on the OS", func(t *testing.T) error {
			return WriteFile(osfs, filepath.Join(dir, "a"), []byte("hello"), 0o644)
		}, "a", "hello"},
		{"rename replaces", func(t *testing.T) error {
			if err := os.WriteFile(filepath.Join(dir, "b.tmp"), []byte("moved"), 0o644); err != nil {
				t.Fatal(err)
			}
			return Rename(osfs, filepath.Join(dir, "b.tmp"), filepath.Join(dir, "a"))
		}, "a", "moved"},
		{"sync folder", func(t *testing.T) error { return SyncDir(osfs, dir) }, "a", "moved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(t); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(dir, tt.path)); err != nil || string(b) != tt.want {
				t.Errorf("%s holds %q (%v), want %q", tt.path, b, err, tt.want)
			}
		})
	}
	if err := SyncDir(osfs, filepath.Join(dir, "missing")); err == nil {
		t.Error("SyncDir of a missing folder succeeded")
	}
}

func TestSHA256(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 100_000)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte("abc")},
		{"a megabyte", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, n, err := SHA256(bytes.NewReader(tt.data))
			want := sha256.Sum256(tt.data)
			if err != nil || sum != hex.EncodeToString(want[:]) || n != int64(len(tt.data)) {
				t.Errorf("SHA256 = %s, %d, %v; want %x, %d", sum, n, err, want, len(tt.data))
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		if _, _, err := SHA256(io.MultiReader(strings.NewReader("ab"), errReader{})); !errors.Is(err, errFault) {
			t.Errorf("SHA256 error %v, want %v", err, errFault)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errFault }

func dirNames(t *testing.T, fsys afero.Fs, dir string) []string {
	t.Helper()
	infos, err := afero.ReadDir(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name())
	}
	return names
}
