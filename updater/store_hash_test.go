package updater

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/delta"
	"github.com/minihost/minihost/updater/internal/testpkg"
)

// checkRecords fails the test unless every record of rec under dir is the
// file's real size and sha256, and, when all is set, every file under dir
// has a record.
func checkRecords(t *testing.T, rec *hashingFs, dir string, all bool) {
	t.Helper()
	disk, err := listFiles(afero.NewOsFs(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, fe := range disk.Files {
		got, ok := rec.recorded(filepath.Join(dir, filepath.FromSlash(fe.Path)))
		switch {
		case !ok && all:
			t.Errorf("%s: no sum recorded while writing; the install would read it back", fe.Path)
		case ok && (got.size != fe.Size || got.sum != fe.SHA256):
			t.Errorf("%s: recorded %d bytes %s, the file has %d bytes %s", fe.Path, got.size, got.sum, fe.Size, fe.SHA256)
		}
	}
}

// TestHashingFsExtractors runs both extractions an install uses on a
// hashingFs: each must leave a record, equal to the file on disk, of
// every file it wrote, after its own rename of its temporary folder.
func TestHashingFsExtractors(t *testing.T) {
	tests := []struct {
		name    string
		extract func(t *testing.T, fsys afero.Fs, dir string)
	}{
		{"package", func(t *testing.T, fsys afero.Fs, dir string) {
			data := testpkg.Sample(t, "demo.counter", "1.0.0")
			p, err := mpk.Open(bytes.NewReader(data), int64(len(data)), mpk.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Extract(t.Context(), fsys, dir); err != nil {
				t.Fatal(err)
			}
		}},
		{"patch", func(t *testing.T, fsys afero.Fs, dir string) {
			f := newPatchFixture(t)
			base, err := f.s.patchBase("demo.counter", "1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			patch, err := os.ReadFile(f.patch)
			if err != nil {
				t.Fatal(err)
			}
			if err := delta.Apply(t.Context(), bytes.NewReader(patch), base, fsys, dir, f.rel.Content, delta.Limits{}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newHashingFs(afero.NewOsFs())
			dir := filepath.Join(t.TempDir(), "pkg")
			tt.extract(t, rec, dir)
			checkRecords(t, rec, dir, true)
		})
	}
}

// TestHashingFsRecords checks that a record is the written content or
// absent: every way of changing a file other than one in-order stream
// through its one handle drops it.
func TestHashingFsRecords(t *testing.T) {
	excl := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	open := func(t *testing.T, fsys afero.Fs, name string, flag int) afero.File {
		t.Helper()
		f, err := fsys.OpenFile(name, flag, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	write := func(t *testing.T, f afero.File, s string) {
		t.Helper()
		if _, err := io.WriteString(f, s); err != nil {
			t.Fatal(err)
		}
	}
	// hello writes "hello" to the new file a, runs during on it (if not
	// nil) before closing it and after (if not nil) after.
	hello := func(during func(fsys afero.Fs, dir string, f afero.File), after func(fsys afero.Fs, dir string)) func(t *testing.T, fsys afero.Fs, dir string) string {
		return func(t *testing.T, fsys afero.Fs, dir string) string {
			f := open(t, fsys, filepath.Join(dir, "a"), excl)
			write(t, f, "hello")
			if during != nil {
				during(fsys, dir, f)
			}
			f.Close()
			if after != nil {
				after(fsys, dir)
			}
			return filepath.Join(dir, "a")
		}
	}
	tests := []struct {
		name   string
		run    func(t *testing.T, fsys afero.Fs, dir string) string // returns the file to look up
		record bool
	}{
		{"written in order", func(t *testing.T, fsys afero.Fs, dir string) string {
			f := open(t, fsys, filepath.Join(dir, "a"), excl)
			write(t, f, "hello ")
			write(t, f, "world")
			f.Close()
			return filepath.Join(dir, "a")
		}, true},
		{"created with Create", func(t *testing.T, fsys afero.Fs, dir string) string {
			f, err := fsys.Create(filepath.Join(dir, "a"))
			if err != nil {
				t.Fatal(err)
			}
			write(t, f, "x")
			f.Close()
			return filepath.Join(dir, "a")
		}, true},
		{"written at an offset", hello(func(_ afero.Fs, _ string, f afero.File) { f.WriteAt([]byte("J"), 0) }, nil), false},
		{"seeked", hello(func(_ afero.Fs, _ string, f afero.File) { f.Seek(1, io.SeekStart); f.Write([]byte("E")) }, nil), false},
		{"truncated", hello(func(_ afero.Fs, _ string, f afero.File) { f.Truncate(2) }, nil), false},
		{"opened to append", func(t *testing.T, fsys afero.Fs, dir string) string {
			os.WriteFile(filepath.Join(dir, "a"), []byte("old"), 0o644)
			f := open(t, fsys, filepath.Join(dir, "a"), os.O_WRONLY|os.O_CREATE|os.O_APPEND)
			write(t, f, "new")
			f.Close()
			return filepath.Join(dir, "a")
		}, false},
		{"rewritten without truncating", hello(nil, func(fsys afero.Fs, dir string) {
			f, _ := fsys.OpenFile(filepath.Join(dir, "a"), os.O_WRONLY, 0)
			f.Write([]byte("J"))
			f.Close()
		}), false},
		{"written by a second handle while open", hello(func(fsys afero.Fs, dir string, _ afero.File) {
			g, _ := fsys.OpenFile(filepath.Join(dir, "a"), os.O_WRONLY, 0)
			g.Write([]byte("J"))
			g.Close()
		}, nil), false},
		{"removed and made again outside", hello(nil, func(fsys afero.Fs, dir string) {
			fsys.Remove(filepath.Join(dir, "a"))
			os.WriteFile(filepath.Join(dir, "a"), []byte("other"), 0o644)
		}), false},
		{"renamed while open", hello(func(fsys afero.Fs, dir string, _ afero.File) {
			fsys.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "b"))
		}, func(_ afero.Fs, dir string) { os.WriteFile(filepath.Join(dir, "a"), []byte("other"), 0o644) }), false},
		{"replaced by a rename", hello(nil, func(fsys afero.Fs, dir string) {
			os.WriteFile(filepath.Join(dir, "b"), []byte("other"), 0o644)
			fsys.Rename(filepath.Join(dir, "b"), filepath.Join(dir, "a"))
		}), false},
		{"folder renamed after writing", func(t *testing.T, fsys afero.Fs, dir string) string {
			fsys.Mkdir(filepath.Join(dir, "d"), 0o755)
			f := open(t, fsys, filepath.Join(dir, "d", "a"), excl)
			write(t, f, "hello")
			f.Close()
			if err := fsys.Rename(filepath.Join(dir, "d"), filepath.Join(dir, "e")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "e", "a")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newHashingFs(afero.NewOsFs())
			dir := t.TempDir()
			name := tt.run(t, rec, dir)
			if _, ok := rec.recorded(name); ok != tt.record {
				t.Errorf("recorded %v, want %v", ok, tt.record)
			}
			checkRecords(t, rec, dir, false)
		})
	}
}

// TestInstallFileListHashedWhileWriting checks the file list an install
// wrote from the sums taken while extracting against the installed files,
// for both ways of installing, and that a file changed on disk afterwards
// still fails the check against it.
func TestInstallFileListHashedWhileWriting(t *testing.T) {
	tests := []struct {
		name    string
		install func(t *testing.T) (*Store, string) // returns the store and the version installed
	}{
		{"package", func(t *testing.T) (*Store, string) { return newPatchFixture(t).s, "1.0.0" }},
		{"patch", func(t *testing.T) (*Store, string) {
			f := newPatchFixture(t)
			if err := f.s.InstallPatch(t.Context(), "demo.counter", f.rel, "1.0.0", f.patch); err != nil {
				t.Fatal(err)
			}
			return f.s, "1.1.0"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, v := tt.install(t)
			list, err := s.readFileList(s.fileListPath("demo.counter", v), "demo.counter", v)
			if err != nil {
				t.Fatal(err)
			}
			dir := s.PackageDir("demo.counter", v)
			if diff, err := diffFileList(s.fs, dir, list); err != nil || diff != "" {
				t.Fatalf("file list against the installed files: %q, %v; want no difference", diff, err)
			}
			wasm := filepath.Join(dir, "app.wasm")
			data, err := os.ReadFile(wasm)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 1
			if err := os.WriteFile(wasm, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if diff, err := diffFileList(s.fs, dir, list); err != nil || diff == "" {
				t.Errorf("a changed app.wasm: diff %q, %v; want it reported", diff, err)
			}
		})
	}
}

// TestPipeHash checks the hashing that moves to a goroutine past
// pipeInline against crypto/sha256, for streams in line, at the switch
// and past it, written in pieces that straddle the chunks.
func TestPipeHash(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		piece int
	}{
		{"empty", 0, 1},
		{"in line", 1000, 7},
		{"at the switch", pipeInline, 4096},
		{"one past the switch", pipeInline + 1, 4096},
		{"pieces larger than a chunk", 3<<20 + 5, pipeChunk*3 + 1},
		{"small pieces", 1<<20 + 3, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := make([]byte, tt.size)
			for i := range data {
				data[i] = byte(i*7 + i>>9)
			}
			p := &pipeHash{h: sha256.New()}
			for b := data; len(b) > 0; {
				k := min(len(b), tt.piece)
				p.write(b[:k])
				b = b[k:]
			}
			want := sha256.Sum256(data)
			if got := p.sum(); got != hex.EncodeToString(want[:]) {
				t.Errorf("sum %s, want %x", got, want)
			}
		})
	}
}

// TestIsInstallingCoversExtractTemp checks that a Prune during an install
// spares both the staging folder and the temporary folder the extraction
// fills beside it (mpk names it fsutil.TempPrefix of the staging name),
// and nothing else.
func TestIsInstallingCoversExtractTemp(t *testing.T) {
	s, _ := newTestStore(t)
	vdir := filepath.Join(t.TempDir(), "versions")
	staging := filepath.Join(vdir, storeInstallPrefix+"1.0.0-abc")
	s.setInstalling(staging, +1)
	tests := []struct {
		name string
		dir  string
		want bool
	}{
		{"the staging folder", staging, true},
		{"its extraction's temporary folder", filepath.Join(vdir, fsutil.TempPrefix(filepath.Base(staging))+"123"), true},
		{"another install's temporary folder", filepath.Join(vdir, fsutil.TempPrefix(storeInstallPrefix+"1.0.0-abd")+"123"), false},
		{"the same name in another folder", filepath.Join(t.TempDir(), fsutil.TempPrefix(filepath.Base(staging))+"123"), false},
		{"a version", filepath.Join(vdir, "1.0.0"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.isInstalling(tt.dir); got != tt.want {
				t.Errorf("isInstalling(%s) = %v, want %v", tt.dir, got, tt.want)
			}
		})
	}
	s.setInstalling(staging, -1)
	if s.isInstalling(filepath.Join(vdir, fsutil.TempPrefix(filepath.Base(staging))+"123")) {
		t.Error("the temporary folder is still covered after the install ended")
	}
}
