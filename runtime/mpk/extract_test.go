package mpk_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
)

func osFs() afero.Fs { return afero.NewOsFs() }

func openZip(tb testing.TB, entries ...entry) *mpk.Package {
	tb.Helper()
	data := makeZip(tb, entries...)
	p, err := mpk.Open(bytes.NewReader(data), int64(len(data)), mpk.Limits{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return p
}

func TestExtract(t *testing.T) {
	p := openZip(t, basic(
		entry{name: "empty/", mode: fs.ModeDir | 0o755},
		entry{name: "img/logo.png", body: "png"},
		entry{name: "a/b/c.txt", body: "c"},
	)...)

	t.Run("os", func(t *testing.T) {
		root := t.TempDir()
		dst := filepath.Join(root, "apps", "demo.counter", "1.0.0")
		if err := p.Extract(t.Context(), osFs(), dst); err != nil {
			t.Fatalf("Extract: %v", err)
		}
		want := []string{"a", "a/b", "a/b/c.txt", "app.json", "app.wasm", "empty", "img", "img/logo.png"}
		if got := listTree(t, dst); !slices.Equal(got, want) {
			t.Errorf("extracted %q, want %q", got, want)
		}
		if got := listTree(t, filepath.Dir(dst)); !slices.Equal(got, append([]string{"1.0.0"}, prefixed("1.0.0/", want)...)) {
			t.Errorf("parent holds %q: a temporary folder was left behind", got)
		}
		for name, body := range map[string]string{"app.wasm": wasmMin, "img/logo.png": "png", "a/b/c.txt": "c", "app.json": manifestOK} {
			got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
			if err != nil || string(got) != body {
				t.Errorf("%s = %q, %v; want %q", name, got, err, body)
			}
		}
		st, err := os.Stat(filepath.Join(dst, "app.wasm"))
		if err != nil || st.Mode().Perm()&0o022 != 0 || !st.Mode().IsRegular() {
			t.Errorf("app.wasm mode = %v, %v", st.Mode(), err)
		}
	})

	t.Run("memory", func(t *testing.T) {
		mem := afero.NewMemMapFs()
		if err := p.Extract(t.Context(), mem, "/apps/x"); err != nil {
			t.Fatalf("Extract: %v", err)
		}
		got, err := afero.ReadFile(mem, "/apps/x/img/logo.png")
		if err != nil || string(got) != "png" {
			t.Errorf("img/logo.png = %q, %v", got, err)
		}
	})

	t.Run("exists", func(t *testing.T) {
		root := t.TempDir()
		dst := filepath.Join(root, "1.0.0")
		writeFile(t, filepath.Join(dst, "keep.txt"), "mine")
		err := p.Extract(t.Context(), osFs(), dst)
		if !errors.Is(err, fs.ErrExist) {
			t.Fatalf("Extract over an existing folder: %v, want fs.ErrExist", err)
		}
		if got := listTree(t, root); !slices.Equal(got, []string{"1.0.0", "1.0.0/keep.txt"}) {
			t.Errorf("after a refused Extract the folder holds %q", got)
		}
	})

	t.Run("exists as empty folder", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "v")
		if err := os.Mkdir(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := p.Extract(t.Context(), osFs(), dst); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("Extract: %v, want fs.ErrExist", err)
		}
	})
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// failFs wraps an afero.Fs and fails the operation chosen by its fields,
// for the faults a real disk cannot be made to give on demand.
type failFs struct {
	afero.Fs
	writeAfter int    // files opened for writing fail after this many bytes, when >= 0
	renameErr  error  // Rename fails with it, when set
	failName   string // only files whose base name is this fail (all when empty)
}

var errDiskFull = errors.New("injected: no space left on device")

func (f *failFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	file, err := f.Fs.OpenFile(name, flag, perm)
	if err != nil || flag&(os.O_WRONLY|os.O_RDWR) == 0 || f.writeAfter < 0 {
		return file, err
	}
	if f.failName != "" && filepath.Base(name) != f.failName {
		return file, nil
	}
	return &failFile{File: file, left: f.writeAfter}, nil
}

func (f *failFs) Rename(oldname, newname string) error {
	if f.renameErr != nil {
		return f.renameErr
	}
	return f.Fs.Rename(oldname, newname)
}

type failFile struct {
	afero.File
	left int
}

func (f *failFile) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n, _ := f.File.Write(p[:f.left])
		f.left = 0
		return n, errDiskFull
	}
	f.left -= len(p)
	return f.File.Write(p)
}

func TestExtractLeavesNothingOnError(t *testing.T) {
	good := basic(entry{name: "img/logo.png", body: "png"}, entry{name: "z/last.txt", body: strings.Repeat("z", 1000)})
	body := wasmMin + strings.Repeat("x", 100)
	tests := []struct {
		name    string
		entries []entry
		fs      func(afero.Fs) afero.Fs
		cancel  bool // the context is canceled before Extract
		want    error
	}{
		{name: "write fails", entries: good, fs: func(base afero.Fs) afero.Fs { return &failFs{Fs: base, writeAfter: 10} }, want: errDiskFull},
		{name: "last file write fails", entries: good, fs: func(base afero.Fs) afero.Fs { return &failFs{Fs: base, writeAfter: 10, failName: "last.txt"} }, want: errDiskFull},
		{name: "rename fails", entries: good, fs: func(base afero.Fs) afero.Fs { return &failFs{Fs: base, writeAfter: -1, renameErr: fs.ErrPermission} }, want: fs.ErrPermission},
		{name: "entry longer than declared", entries: []entry{{name: "app.json", body: manifestOK}, {name: "a.txt", body: "a"}, stored("app.wasm", body, 8, wasmMin)}, want: mpk.ErrNotZip},
		{name: "bad checksum", entries: append(basic(), stored("z.txt", "data", 4, "other")), want: mpk.ErrNotZip},
		{name: "canceled", entries: good, cancel: true, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := openZip(t, tt.entries...)
			root := t.TempDir()
			var fsys afero.Fs = afero.NewOsFs()
			if tt.fs != nil {
				fsys = tt.fs(fsys)
			}
			ctx, cancel := context.WithCancel(t.Context())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			err := p.Extract(ctx, fsys, filepath.Join(root, "1.0.0"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Extract: %v, want an error wrapping %v", err, tt.want)
			}
			if got := listTree(t, root); len(got) != 0 {
				t.Errorf("failed Extract left %q", got)
			}
		})
	}
}

func TestExtractBoundedByLimits(t *testing.T) {
	// The headers declare 8 bytes per file; the data holds more. Extract
	// must stop at the limit, not trust the headers.
	body := strings.Repeat("x", 300)
	data := makeZip(t, entry{name: "app.json", body: manifestOK}, entry{name: "app.wasm", body: wasmMin},
		stored("a", body, 8, body), stored("b", body, 8, body))
	p, err := mpk.Open(bytes.NewReader(data), int64(len(data)), mpk.Limits{MaxFileSize: 200})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	root := t.TempDir()
	if err := p.Extract(t.Context(), osFs(), filepath.Join(root, "v")); err == nil {
		t.Fatal("Extract succeeded on entries longer than declared")
	}
	if got := listTree(t, root); len(got) != 0 {
		t.Errorf("failed Extract left %q", got)
	}
}

// syncLog is a file system that records, in order, every sync of a file
// or folder and every rename; a sync of a path named failSync fails. It is
// safe for concurrent use: Extract syncs on goroutines of its own.
type syncLog struct {
	afero.Fs
	failSync string
	mu       sync.Mutex
	events   []string
}

var errSyncFailed = errors.New("injected: sync failed")

func (l *syncLog) log(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *syncLog) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	f, err := l.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &syncLogFile{File: f, l: l, name: name}, nil
}

func (l *syncLog) Open(name string) (afero.File, error) { return l.OpenFile(name, os.O_RDONLY, 0) }

func (l *syncLog) Rename(oldname, newname string) error {
	l.log("rename " + oldname)
	return l.Fs.Rename(oldname, newname)
}

type syncLogFile struct {
	afero.File
	l    *syncLog
	name string
}

func (f *syncLogFile) Sync() error {
	if f.l.failSync != "" && filepath.Base(f.name) == f.l.failSync {
		return errSyncFailed
	}
	f.l.log("sync " + f.name)
	return f.File.Sync()
}

// TestExtractSyncsBeforeRename checks that every file and folder of the
// extraction is synced before the temporary folder is renamed into place
// (the syncs run beside the inflating, extract_sync.go), and that a
// failed sync fails the extraction and leaves nothing.
func TestExtractSyncsBeforeRename(t *testing.T) {
	p := openZip(t, basic(
		entry{name: "img/logo.png", body: "png"},
		entry{name: "a/b/c.txt", body: "c"},
		entry{name: "z.txt", body: "z"},
	)...)
	tests := []struct {
		name     string
		failSync string
	}{
		{"all synced", ""},
		{"a file's sync fails", "c.txt"},
		{"a folder's sync fails", "img"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			fsys := &syncLog{Fs: afero.NewOsFs(), failSync: tt.failSync}
			err := p.Extract(t.Context(), fsys, filepath.Join(root, "1.0.0"))
			if tt.failSync != "" {
				if !errors.Is(err, errSyncFailed) {
					t.Fatalf("Extract: %v, want the sync's error", err)
				}
				if got := listTree(t, root); len(got) != 0 {
					t.Errorf("failed Extract left %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			synced := map[string]bool{}
			var tmp string
			for _, e := range fsys.events {
				if path, ok := strings.CutPrefix(e, "sync "); ok {
					synced[path] = true
					continue
				}
				tmp = strings.TrimPrefix(e, "rename ")
				break
			}
			for _, name := range []string{"", "a", "a/b", "a/b/c.txt", "app.json", "app.wasm", "img", "img/logo.png", "z.txt"} {
				if !synced[filepath.Join(tmp, filepath.FromSlash(name))] {
					t.Errorf("%q not synced before the rename (events %q)", name, fsys.events)
				}
			}
		})
	}
}
