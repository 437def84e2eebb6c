package mpk_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
)

// sourceDir writes a guest source folder: app.json, a prebuilt entry,
// assets, and the files Pack must leave out.
func sourceDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, body := range map[string]string{
		"app.json":             manifestOK,
		"app.wasm":             wasmMin,
		"assets/logo.png":      "png",
		"assets/deep/data.txt": "data",
		"main.go":              "package main\n",
		"main_test.go":         "package main\n",
		"lib/util.go":          "package lib\n",
		"go.mod":               "module x\n",
		"go.sum":               "",
		"default.pgo":          "profile",
		"README.md":            "# readme\n",
		"assets/README":        "readme\n",
		".hidden":              "secret",
		".git/config":          "[core]\n",
		"assets/.DS_Store":     "junk",
	} {
		writeFile(tb, filepath.Join(dir, filepath.FromSlash(name)), body)
	}
	return dir
}

func TestPack(t *testing.T) {
	src := sourceDir(t)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "demo.mpk")
	if err := mpk.Pack(t.Context(), src, out); err != nil {
		t.Fatalf("Pack: %v", err)
	}
	p, err := mpk.OpenFile(out, mpk.Limits{})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	defer p.Close()
	want := []string{"app.json", "app.wasm", "assets/deep/data.txt", "assets/logo.png"}
	if got := p.Files(); !slices.Equal(got, want) {
		t.Errorf("Files() = %q, want %q", got, want)
	}
	if got := listTree(t, outDir); !slices.Equal(got, []string{"demo.mpk"}) {
		t.Errorf("output folder holds %q, want only demo.mpk", got)
	}

	// Same input, same bytes: release hashes are reproducible.
	out2 := filepath.Join(outDir, "again.mpk")
	if err := mpk.Pack(t.Context(), src, out2); err != nil {
		t.Fatalf("second Pack: %v", err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) {
		t.Error("packing the same folder twice gave different bytes")
	}
}

func TestPackIntoSourceFolder(t *testing.T) {
	src := sourceDir(t)
	out := filepath.Join(src, "demo.mpk")
	for i := range 2 { // the second run must not pack the first one's output
		if err := mpk.Pack(t.Context(), src, out); err != nil {
			t.Fatalf("Pack #%d: %v", i+1, err)
		}
	}
	p, err := mpk.OpenFile(out, mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if slices.Contains(p.Files(), "demo.mpk") {
		t.Errorf("package holds itself: %q", p.Files())
	}
}

func TestPackErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, dir string)
		want   error
		msg    string
		cancel bool // the context is canceled before Pack
	}{
		{
			name: "symlink",
			setup: func(t *testing.T, dir string) {
				if err := os.Symlink("/etc/passwd", filepath.Join(dir, "assets", "passwd")); err != nil {
					t.Skipf("cannot make a symlink here: %v", err)
				}
			},
			want: mpk.ErrUnsafePath, msg: `"assets/passwd"`,
		},
		{
			name: "symlinked folder",
			setup: func(t *testing.T, dir string) {
				if err := os.Symlink(t.TempDir(), filepath.Join(dir, "linked")); err != nil {
					t.Skipf("cannot make a symlink here: %v", err)
				}
			},
			want: mpk.ErrUnsafePath, msg: `"linked"`,
		},
		{name: "missing manifest", setup: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "app.json")) }, want: mpk.ErrNoManifest},
		{name: "invalid manifest", setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "app.json"), withField(t, "version", `"1"`))
		}, want: mpk.ErrInvalidManifest, msg: `field "version"`},
		{name: "missing entry", setup: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "app.wasm")) }, want: mpk.ErrNoEntry, msg: `"app.wasm"`},
		{name: "entry not wasm", setup: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "app.wasm"), "not wasm") }, want: mpk.ErrNotWasm},
		{name: "unsafe file name", setup: func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, `a\b.txt`), "x") }, want: mpk.ErrUnsafePath, msg: "backslash"},
		{name: "names that differ only in case", setup: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "assets", "LOGO.png"), "x")
			if _, err := os.Stat(filepath.Join(dir, "assets", "logo.png")); err == nil && sameFile(t, dir) {
				t.Skip("case-insensitive file system")
			}
		}, want: mpk.ErrUnsafePath, msg: "letter case"},
		{name: "canceled", setup: func(t *testing.T, dir string) {}, cancel: true, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := sourceDir(t)
			tt.setup(t, src)
			outDir := t.TempDir()
			out := filepath.Join(outDir, "demo.mpk")
			writeFile(t, out, "previous")
			ctx, cancel := context.WithCancel(t.Context())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			err := mpk.Pack(ctx, src, out)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Pack: %v, want an error wrapping %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if got := listTree(t, outDir); !slices.Equal(got, []string{"demo.mpk"}) {
				t.Errorf("failed Pack left %q", got)
			}
			if got, _ := os.ReadFile(out); string(got) != "previous" {
				t.Errorf("failed Pack changed the existing output to %q", got)
			}
		})
	}
}

func sameFile(t *testing.T, dir string) bool {
	a, err1 := os.Stat(filepath.Join(dir, "assets", "LOGO.png"))
	b, err2 := os.Stat(filepath.Join(dir, "assets", "logo.png"))
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func TestPackNoOutputFolder(t *testing.T) {
	src := sourceDir(t)
	err := mpk.Pack(t.Context(), src, filepath.Join(t.TempDir(), "missing", "demo.mpk"))
	if err == nil {
		t.Fatal("Pack into a missing folder succeeded")
	}
}

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a guest")
	}
	ctx := t.Context()
	outDir := t.TempDir()
	out := filepath.Join(outDir, "tiny.mpk")
	var stderr bytes.Buffer
	if err := mpk.Build(ctx, "testdata/tiny", out, mpk.BuildOptions{Version: "2.0.0-rc.1", Stderr: &stderr}); err != nil {
		t.Fatalf("Build: %v\n%s", err, stderr.String())
	}
	p, err := mpk.OpenFile(out, mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if m := p.Manifest; m.AppID != "test.tiny" || m.Version != "2.0.0-rc.1" || m.Name != "Tiny" {
		t.Errorf("manifest = %+v", m)
	}
	if want := []string{"app.json", "app.wasm", "assets/hello.txt"}; !slices.Equal(p.Files(), want) {
		t.Errorf("Files() = %q, want %q", p.Files(), want)
	}
	wasm, err := p.ReadFile(p.Manifest.Entry)
	if err != nil {
		t.Fatal(err)
	}
	// A reactor built with -buildmode=c-shared exports _initialize.
	if !bytes.Contains(wasm, []byte("_initialize")) {
		t.Error("entry is not a WASI reactor (no _initialize export)")
	}
	if src, _ := os.ReadFile("testdata/tiny/app.json"); !bytes.Contains(src, []byte(`"0.1.0"`)) {
		t.Error("Build changed the source app.json")
	}
	if got := listTree(t, outDir); !slices.Equal(got, []string{"tiny.mpk"}) {
		t.Errorf("output folder holds %q", got)
	}

	// Without Version, the source app.json is packed byte for byte.
	out2 := filepath.Join(outDir, "plain.mpk")
	if err := mpk.Build(ctx, "testdata/tiny", out2, mpk.BuildOptions{}); err != nil {
		t.Fatalf("Build: %v", err)
	}
	p2, err := mpk.OpenFile(out2, mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	got, _ := p2.ReadFile(mpk.ManifestName)
	src, _ := os.ReadFile("testdata/tiny/app.json")
	if !bytes.Equal(got, src) {
		t.Errorf("packed app.json = %s, want the source %s", got, src)
	}
}

func TestBuildErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a guest")
	}
	broken := t.TempDir()
	writeFile(t, filepath.Join(broken, "app.json"), manifestOK)
	writeFile(t, filepath.Join(broken, "go.mod"), "module broken\n\ngo 1.24\n")
	writeFile(t, filepath.Join(broken, "main.go"), "package main\n\nfunc main() { undefinedThing() }\n")
	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name string
		ctx  context.Context
		dir  string
		opt  mpk.BuildOptions
		want error // a sentinel, or nil to check only msg
		msg  []string
	}{
		{name: "compile error", ctx: t.Context(), dir: broken, msg: []string{"build guest in " + broken, "undefinedThing"}},
		{name: "invalid version", ctx: t.Context(), dir: "testdata/tiny", opt: mpk.BuildOptions{Version: "1.0"}, want: mpk.ErrInvalidManifest, msg: []string{"testdata/tiny", `field "version"`, `"1.0"`}},
		{name: "no manifest", ctx: t.Context(), dir: t.TempDir(), want: mpk.ErrNoManifest},
		{name: "no go command", ctx: t.Context(), dir: "testdata/tiny", opt: mpk.BuildOptions{GoCmd: filepath.Join(t.TempDir(), "no-go")}, msg: []string{"build guest in testdata/tiny"}},
		{name: "canceled", ctx: canceled, dir: "testdata/tiny", want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outDir := t.TempDir()
			err := mpk.Build(tt.ctx, tt.dir, filepath.Join(outDir, "x.mpk"), tt.opt)
			if err == nil {
				t.Fatal("Build succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v does not wrap %v", err, tt.want)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
			if got := listTree(t, outDir); len(got) != 0 {
				t.Errorf("failed Build left %q", got)
			}
		})
	}
}
