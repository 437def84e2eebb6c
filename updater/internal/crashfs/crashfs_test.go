package crashfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/afero"
)

// write creates name with data, optionally syncing it.
func write(t *testing.T, fsys afero.Fs, name string, data string, sync bool) {
	t.Helper()
	f, err := fsys.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, fsys afero.Fs, dir string) {
	t.Helper()
	d, err := fsys.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

// absent is checkImage's want for a file the image must not hold.
const absent = "<absent>"

// checkImage writes f's image (keepMetadata as for Image) into a fresh
// folder and checks each named file there against want.
func checkImage(t *testing.T, f *Fs, keepMetadata bool, want map[string]string) {
	t.Helper()
	dst := t.TempDir()
	if err := f.Image(dst, keepMetadata); err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		got := absent
		b, err := os.ReadFile(filepath.Join(dst, name))
		switch {
		case err == nil:
			got = string(b)
		case !errors.Is(err, fs.ErrNotExist):
			got = "<" + err.Error() + ">"
		}
		if got != w {
			t.Errorf("image (keepMetadata %t): %s = %q, want %q", keepMetadata, name, got, w)
		}
	}
}

func TestImage(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "old"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := New(Config{Root: root, Durable: true, WriteBlock: 4})
	if err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(root, n) }
	write(t, f, p("synced"), "abcdefghij", true) // create, 3 writes, sync, close
	write(t, f, p("unsynced"), "xy", false)
	if err := f.Mkdir(p("d"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, f, p("d/in"), "in", true)
	syncDir(t, f, root) // makes synced, unsynced and d durable, not d/in
	if err := f.Remove(p("old")); err != nil {
		t.Fatal(err)
	}
	if err := f.Rename(p("synced"), p("d/moved")); err != nil {
		t.Fatal(err)
	}

	checkImage(t, f, false, map[string]string{
		"old": "old", "synced": "abcdefghij", "unsynced": "", "d/in": absent, "d/moved": absent,
	})
	checkImage(t, f, true, map[string]string{
		"unsynced": "", "d/in": "in", "d/moved": "abcdefghij", "old": absent,
	})

	var kinds []string
	for _, op := range f.Ops() {
		kinds = append(kinds, op.Kind)
	}
	want := []string{"create", "write", "write", "write", "sync", "close", "create", "write", "close",
		"mkdir", "create", "write", "sync", "close", "syncdir", "remove", "rename"}
	if len(kinds) != len(want) {
		t.Fatalf("ops %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("ops %v, want %v", kinds, want)
		}
	}
}

func TestCrashAt(t *testing.T) {
	root := t.TempDir()
	var at Op
	f, err := New(Config{Root: root, CrashAt: 3, OnCrash: func(op Op) { at = op }})
	if err != nil {
		t.Fatal(err)
	}
	f.SetPhase("p")
	if err := f.MkdirAll(filepath.Join(root, "a", "b"), 0o755); err != nil { // points 1, 2
		t.Fatal(err)
	}
	err = f.Rename(filepath.Join(root, "a"), filepath.Join(root, "c")) // point 3: crash
	if !errors.Is(err, ErrCrashed) || !f.Crashed() {
		t.Fatalf("rename at the crash point: %v", err)
	}
	if at.N != 3 || at.Kind != "rename" || at.Path != "a" || at.To != "c" || at.Phase != "p" {
		t.Errorf("OnCrash got %+v", at)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "b")); err != nil {
		t.Errorf("the crash point ran: %v", err)
	}
	if _, err := f.Stat(root); !errors.Is(err, ErrCrashed) {
		t.Errorf("Stat after the crash: %v, want ErrCrashed", err)
	}
	if err := f.RemoveAll(filepath.Join(root, "a")); !errors.Is(err, ErrCrashed) {
		t.Errorf("RemoveAll after the crash: %v, want ErrCrashed", err)
	}
	// Outside the root nothing is counted or refused.
	if err := f.Mkdir(filepath.Join(t.TempDir(), "x"), 0o755); err != nil {
		t.Errorf("outside the root: %v", err)
	}
}
