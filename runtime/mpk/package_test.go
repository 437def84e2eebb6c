package mpk_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
)

func TestOpen(t *testing.T) {
	zeros := strings.Repeat("\x00", 10<<20) // deflates about 1000:1
	tests := []struct {
		name  string
		zip   []byte
		lim   mpk.Limits
		want  error  // nil for success
		file  string // the entry the *Error names
		msg   string // a substring of the message
		files []string
	}{
		{name: "minimal", zip: makeZip(t, basic()...), files: []string{"app.json", "app.wasm"}},
		{
			name: "folders and assets",
			zip: makeZip(t, basic(
				entry{name: "img/", mode: fs.ModeDir | 0o755},
				entry{name: "img/logo.png", body: "png"},
				entry{name: "data/a/b.txt", body: "b"},
				entry{name: "empty.txt"},
			)...),
			files: []string{"app.json", "app.wasm", "data/a/b.txt", "empty.txt", "img/logo.png"},
		},
		{name: "small file with high ratio", zip: makeZip(t, basic(entry{name: "zeros", body: zeros[:60<<10]})...), files: []string{"app.json", "app.wasm", "zeros"}},

		{name: "not a zip", zip: []byte("hello, this is not a zip file at all"), want: mpk.ErrNotZip, msg: "read package"},
		{name: "empty input", zip: nil, want: mpk.ErrNotZip},
		{name: "traversal", zip: makeZip(t, basic(entry{name: "../x", body: "x"})...), want: mpk.ErrUnsafePath, file: "../x", msg: `package entry "../x": path leaves the package`},
		{name: "traversal inside", zip: makeZip(t, basic(entry{name: "a/../../x", body: "x"})...), want: mpk.ErrUnsafePath, file: "a/../../x", msg: "leaves the package"},
		{name: "absolute", zip: makeZip(t, basic(entry{name: "/etc/x", body: "x"})...), want: mpk.ErrUnsafePath, file: "/etc/x", msg: "absolute path"},
		{name: "backslash", zip: makeZip(t, basic(entry{name: `..\x`, body: "x"})...), want: mpk.ErrUnsafePath, file: `..\x`, msg: "backslash"},
		{name: "drive letter", zip: makeZip(t, basic(entry{name: "C:/x", body: "x"})...), want: mpk.ErrUnsafePath, file: "C:/x", msg: "':'"},
		{name: "dot element", zip: makeZip(t, basic(entry{name: "./x", body: "x"})...), want: mpk.ErrUnsafePath, file: "./x", msg: "not clean"},
		{name: "empty element", zip: makeZip(t, basic(entry{name: "a//x", body: "x"})...), want: mpk.ErrUnsafePath, file: "a//x", msg: "not clean"},
		{name: "NUL byte", zip: makeZip(t, basic(entry{name: "a\x00.txt", body: "x"})...), want: mpk.ErrUnsafePath, msg: "NUL"},
		{name: "symlink", zip: makeZip(t, basic(entry{name: "link", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777})...), want: mpk.ErrUnsafePath, file: "link", msg: "symbolic link"},
		{name: "named pipe", zip: makeZip(t, basic(entry{name: "fifo", mode: fs.ModeNamedPipe | 0o644})...), want: mpk.ErrUnsafePath, file: "fifo", msg: "not a regular file"},
		{name: "folder with data", zip: bytes.ReplaceAll(makeZip(t, basic(entry{name: "dirX", body: "data", mode: fs.ModeDir | 0o755})...), []byte("dirX"), []byte("dir/")), want: mpk.ErrUnsafePath, file: "dir/", msg: "folder entry holds data"},
		{name: "duplicate", zip: makeZip(t, basic(entry{name: "a.txt", body: "1"}, entry{name: "a.txt", body: "2"})...), want: mpk.ErrUnsafePath, file: "a.txt", msg: "duplicate entry"},
		{name: "duplicate manifest", zip: makeZip(t, basic(entry{name: "app.json", body: manifestOK})...), want: mpk.ErrUnsafePath, file: "app.json", msg: "duplicate entry"},
		{name: "duplicate ignoring case", zip: makeZip(t, basic(entry{name: "A.txt", body: "1"}, entry{name: "a.txt", body: "2"})...), want: mpk.ErrUnsafePath, file: "a.txt", msg: `same name as "A.txt"`},
		{name: "duplicate folder entry", zip: makeZip(t, basic(entry{name: "d/", mode: fs.ModeDir | 0o755}, entry{name: "d", body: "x"})...), want: mpk.ErrUnsafePath, file: "d", msg: "duplicate entry"},
		{name: "file used as folder", zip: makeZip(t, basic(entry{name: "a", body: "1"}, entry{name: "a/b", body: "2"})...), want: mpk.ErrUnsafePath, file: "a/b", msg: `inside "a", which is a file`},
		{name: "unsupported method", zip: makeZip(t, basic(entry{name: "x", body: "x", raw: true, method: 99, size: 1})...), want: mpk.ErrNotZip, file: "x", msg: "compression method 99"},
		{name: "missing manifest", zip: makeZip(t, entry{name: "app.wasm", body: wasmMin}), want: mpk.ErrNoManifest, file: "app.json", msg: "app.json: missing from the package root"},
		{name: "manifest in folder only", zip: makeZip(t, entry{name: "sub/app.json", body: manifestOK}, entry{name: "app.wasm", body: wasmMin}), want: mpk.ErrNoManifest},
		{name: "invalid manifest", zip: makeZip(t, entry{name: "app.json", body: withField(t, "abi", "3")}, entry{name: "app.wasm", body: wasmMin}), want: mpk.ErrInvalidManifest, file: "app.json", msg: `field "abi"`},
		{name: "entry missing", zip: makeZip(t, entry{name: "app.json", body: manifestOK}), want: mpk.ErrNoEntry, file: "app.wasm", msg: `package entry "app.wasm": named by app.json but not in the package`},
		{name: "entry is a folder", zip: makeZip(t, entry{name: "app.json", body: manifestOK}, entry{name: "app.wasm/", mode: fs.ModeDir | 0o755}), want: mpk.ErrNoEntry, file: "app.wasm"},
		{name: "entry not wasm", zip: makeZip(t, entry{name: "app.json", body: manifestOK}, entry{name: "app.wasm", body: "#!/bin/sh\necho hi\n"}), want: mpk.ErrNotWasm, file: "app.wasm", msg: "WebAssembly magic"},
		{name: "entry wasm version 2", zip: makeZip(t, entry{name: "app.json", body: manifestOK}, entry{name: "app.wasm", body: "\x00asm\x02\x00\x00\x00"}), want: mpk.ErrNotWasm},
		{name: "entry too short", zip: makeZip(t, entry{name: "app.json", body: manifestOK}, entry{name: "app.wasm", body: "\x00asm"}), want: mpk.ErrNotWasm},
		{name: "entry empty", zip: makeZip(t, entry{name: "app.json", body: manifestOK}, entry{name: "app.wasm"}), want: mpk.ErrNotWasm},

		{name: "bomb declares huge size", zip: makeZip(t, basic(stored("bomb", "tiny", 1<<40, "tiny"))...), want: mpk.ErrTooLarge, file: "bomb", msg: "declared size 1099511627776 bytes, above the limit of 67108864"},
		{name: "bomb high ratio", zip: makeZip(t, basic(entry{name: "zeros", body: zeros})...), want: mpk.ErrTooLarge, file: "zeros", msg: "compression ratio above the limit of 100:1"},
		{name: "ratio within custom limit", zip: makeZip(t, basic(entry{name: "zeros", body: zeros})...), lim: mpk.Limits{MaxRatio: 10000, MaxTotalRatio: 10000}, files: []string{"app.json", "app.wasm", "zeros"}},
		{name: "oversized file", zip: makeZip(t, basic(entry{name: "big", body: strings.Repeat("x", 2000)})...), lim: mpk.Limits{MaxFileSize: 1000}, want: mpk.ErrTooLarge, file: "big", msg: "declared size 2000 bytes, above the limit of 1000"},
		{name: "oversized manifest", zip: makeZip(t, entry{name: "app.json", body: withField(t, "name", `"`+strings.Repeat("x", 70000)+`"`)}, entry{name: "app.wasm", body: wasmMin}), want: mpk.ErrTooLarge, file: "app.json"},
		{name: "total too large", zip: makeZip(t, basic(entry{name: "a", body: strings.Repeat("x", 60)}, entry{name: "b", body: strings.Repeat("x", 60)})...), lim: mpk.Limits{MaxTotalSize: 200}, want: mpk.ErrTooLarge, file: "b", msg: "total more than the limit of 200"},
		{name: "too many files", zip: makeZip(t, basic(entry{name: "a"}, entry{name: "b"})...), lim: mpk.Limits{MaxFiles: 3}, want: mpk.ErrTooLarge, msg: "4 entries, above the limit of 3"},
		{name: "package too large", zip: makeZip(t, basic()...), lim: mpk.Limits{MaxPackageSize: 10}, want: mpk.ErrTooLarge, msg: "above the limit of 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mpk.Open(bytes.NewReader(tt.zip), int64(len(tt.zip)), tt.lim)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if got := p.Files(); !slices.Equal(got, tt.files) {
					t.Errorf("Files() = %q, want %q", got, tt.files)
				}
				if p.Manifest.AppID != "demo.counter" || p.Size != int64(len(tt.zip)) {
					t.Errorf("Manifest.AppID = %q, Size = %d", p.Manifest.AppID, p.Size)
				}
				wasm, err := p.ReadFile(p.Manifest.Entry)
				if err != nil || string(wasm) != wasmMin {
					t.Errorf("ReadFile(entry) = %q, %v", wasm, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Open succeeded, want an error wrapping %v", tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %q does not wrap %v", err, tt.want)
			}
			var merr *mpk.Error
			if !errors.As(err, &merr) {
				t.Fatalf("error %q is not an *mpk.Error", err)
			}
			if tt.file != "" && merr.File != tt.file {
				t.Errorf("error names file %q, want %q", merr.File, tt.file)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestReadEntryChecksActualBytes(t *testing.T) {
	body := wasmMin + strings.Repeat("x", 300)
	tests := []struct {
		name string
		e    entry
		lim  mpk.Limits
		want error
		msg  string
	}{
		{name: "more bytes than declared", e: stored("app.wasm", body, 8, wasmMin), want: zip.ErrFormat},
		{name: "fewer bytes than declared", e: stored("app.wasm", wasmMin, 50, wasmMin), want: mpk.ErrNotZip},
		{name: "bad checksum", e: stored("app.wasm", body, uint64(len(body)), "other"), want: zip.ErrChecksum},
		{name: "above the file limit, declared below", e: entry{name: "app.wasm", body: body}, lim: mpk.Limits{MaxFileSize: 200}, want: zip.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := makeZip(t, entry{name: "app.json", body: manifestOK}, tt.e)
			lim := tt.lim
			if lim.MaxFileSize != 0 {
				// Open would refuse the declared size; lie about it.
				data = makeZip(t, entry{name: "app.json", body: manifestOK}, stored("app.wasm", body, 8, body))
			}
			p, err := mpk.Open(bytes.NewReader(data), int64(len(data)), lim)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			got, err := p.ReadFile(p.Manifest.Entry)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadFile(entry) = %d bytes, %v; want an error wrapping %v", len(got), err, tt.want)
			}
			if !strings.Contains(err.Error(), `package entry "app.wasm"`) {
				t.Errorf("error %q does not name the entry", err)
			}
		})
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "demo"+mpk.Ext)
	if err := os.WriteFile(path, makeZip(t, basic()...), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := mpk.OpenFile(path, mpk.Limits{})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	if _, err := p.ReadFile(p.Manifest.Entry); err != nil {
		t.Errorf("ReadFile(entry): %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	bad := filepath.Join(dir, "bad.mpk")
	if err := os.WriteFile(bad, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mpk.OpenFile(bad, mpk.Limits{}); !errors.Is(err, mpk.ErrNotZip) || !strings.Contains(err.Error(), bad) {
		t.Errorf("OpenFile(junk) error = %v, want ErrNotZip naming the file", err)
	}
	if _, err := mpk.OpenFile(filepath.Join(dir, "none.mpk"), mpk.Limits{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenFile(missing) error = %v, want fs.ErrNotExist", err)
	}
	if _, err := mpk.OpenFile(dir, mpk.Limits{}); err == nil {
		t.Error("OpenFile(folder) succeeded")
	}
}

func TestReadFile(t *testing.T) {
	data := makeZip(t, basic(entry{name: "img/a.txt", body: "hello"})...)
	p, err := mpk.Open(bytes.NewReader(data), int64(len(data)), mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.ReadFile("img/a.txt"); err != nil || string(got) != "hello" {
		t.Errorf("ReadFile = %q, %v", got, err)
	}
	if _, err := p.ReadFile("img"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile(folder) error = %v, want fs.ErrNotExist", err)
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(makeZip(f, basic()...))
	f.Add(makeZip(f, basic(entry{name: "img/", mode: fs.ModeDir | 0o755}, entry{name: "img/a.png", body: "png"})...))
	f.Add(makeZip(f, basic(entry{name: "../x", body: "x"})...))
	f.Add(makeZip(f, basic(entry{name: "link", body: "/etc", mode: fs.ModeSymlink | 0o777})...))
	f.Add(makeZip(f, basic(stored("bomb", "tiny", 1<<40, "tiny"))...))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := mpk.Limits{MaxFileSize: 1 << 20, MaxTotalSize: 4 << 20}
		p, err := mpk.Open(bytes.NewReader(data), int64(len(data)), lim)
		if err != nil {
			var merr *mpk.Error
			if !errors.As(err, &merr) {
				t.Fatalf("error %q is not an *mpk.Error", err)
			}
			return
		}
		for _, name := range p.Files() {
			if !fs.ValidPath(name) || strings.ContainsAny(name, `\:`) {
				t.Fatalf("Open accepted unsafe name %q", name)
			}
		}
		if wasm, err := p.ReadFile(p.Manifest.Entry); err == nil && !bytes.HasPrefix(wasm, []byte(wasmMin)) {
			t.Fatalf("ReadFile(entry) returned non-wasm %q", wasm)
		}
		dir := t.TempDir()
		dst := filepath.Join(dir, "out")
		if err := p.Extract(t.Context(), osFs(), dst); err != nil {
			if got := listTree(t, dir); len(got) != 0 {
				t.Fatalf("Extract failed (%v) and left %q", err, got)
			}
			return
		}
		var total int64
		for _, name := range listTree(t, dst) {
			st, err := os.Lstat(filepath.Join(dst, filepath.FromSlash(name)))
			if err != nil {
				t.Fatal(err)
			}
			if !st.Mode().IsRegular() && !st.IsDir() {
				t.Fatalf("Extract made %s with mode %v", name, st.Mode())
			}
			total += st.Size()
		}
		if total > lim.MaxTotalSize {
			t.Fatalf("Extract wrote %d bytes, above the limit", total)
		}
	})
}
