package runtimetest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
)

// tinyGuest is a guest that needs no SDK, so these tests do not depend on
// samples/wx being complete.
const tinyGuest = "runtime/mpk/testdata/tiny"

func TestModuleRoot(t *testing.T) {
	root := runtimetest.ModuleRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "module github.com/minihost/minihost\n") {
		t.Errorf("ModuleRoot() = %s, whose go.mod starts %q", root, data[:min(len(data), 60)])
	}
}

// isolateCache points the cache root ($MINIHOST_CACHE) at a fresh folder
// for this test and returns the guest cache's folder under it. The go
// command's own build cache is not under the root and stays where it is.
func isolateCache(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("MINIHOST_CACHE", dir)
	return filepath.Join(dir, "test", "guests")
}

func cached(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestBuildWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a guest")
	}
	cache := isolateCache(t)

	wasm := runtimetest.BuildWasm(t, tinyGuest)
	if !bytes.HasPrefix(wasm, []byte("\x00asm\x01\x00\x00\x00")) || !bytes.Contains(wasm, []byte("_initialize")) {
		t.Fatalf("BuildWasm returned %d bytes that are not a wasm reactor", len(wasm))
	}
	files := cached(t, cache)
	if len(files) != 1 || !strings.HasSuffix(files[0], ".wasm") {
		t.Fatalf("cache holds %q, want one module", files)
	}

	// A second call reads the cache: plant a marker there to prove it.
	marked := append(slices.Clone(wasm), "marker"...)
	if err := os.WriteFile(filepath.Join(cache, files[0]), marked, 0o644); err != nil {
		t.Fatal(err)
	}
	if again := runtimetest.BuildWasm(t, filepath.Join(runtimetest.ModuleRoot(t), tinyGuest)); !bytes.Equal(again, marked) {
		t.Error("second BuildWasm (absolute path) did not use the cache")
	}

	// A corrupt cache entry is rebuilt, not returned.
	if err := os.WriteFile(filepath.Join(cache, files[0]), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if again := runtimetest.BuildWasm(t, tinyGuest); !bytes.HasPrefix(again, []byte("\x00asm")) {
		t.Error("BuildWasm returned a corrupt cache entry")
	}
}

func TestBuildWasmKeyFollowsSources(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a guest")
	}
	cache := isolateCache(t)
	guest := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":   "module guest\n\ngo 1.24\n",
		"main.go":  "package main\n\nfunc main() {}\n",
		"app.json": `{"appId": "test.guest", "version": "1.0.0", "abi": 1, "entry": "app.wasm"}`,
	} {
		if err := os.WriteFile(filepath.Join(guest, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runtimetest.BuildWasm(t, guest)
	runtimetest.BuildWasm(t, guest)
	if n := len(cached(t, cache)); n != 1 {
		t.Fatalf("after two builds of the same source the cache holds %d modules, want 1", n)
	}
	if err := os.WriteFile(filepath.Join(guest, "extra.go"), []byte("package main\n\nvar X = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runtimetest.BuildWasm(t, guest)
	if n := len(cached(t, cache)); n != 2 {
		t.Fatalf("after a source change the cache holds %d modules, want 2", n)
	}
}

func TestBuildPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a guest")
	}
	cache := isolateCache(t)
	path := runtimetest.BuildPackage(t, tinyGuest, "3.1.4")
	if filepath.Ext(path) != mpk.Ext {
		t.Errorf("BuildPackage returned %s, want a %s file", path, mpk.Ext)
	}
	p, err := mpk.OpenFile(path, mpk.Limits{})
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	defer p.Close()
	if m := p.Manifest; m.AppID != "test.tiny" || m.Version != "3.1.4" || m.Name != "Tiny" {
		t.Errorf("manifest = %+v", m)
	}
	if want := []string{"app.json", "app.wasm", "assets/hello.txt"}; !slices.Equal(p.Files(), want) {
		t.Errorf("Files() = %q, want %q", p.Files(), want)
	}
	wasm, err := p.ReadFile(p.Manifest.Entry)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wasm, runtimetest.BuildWasm(t, tinyGuest)) {
		t.Error("package entry differs from BuildWasm's module")
	}

	// Without a version, the manifest's own is kept.
	p2, err := mpk.OpenFile(runtimetest.BuildPackage(t, tinyGuest, ""), mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if p2.Manifest.Version != "0.1.0" {
		t.Errorf("version = %s, want the source's 0.1.0", p2.Manifest.Version)
	}

	// A second build of the same files is the cached package, byte for
	// byte (plant a marker to prove it), in a path of its own.
	var pkgs []string
	for _, name := range cached(t, cache) {
		if strings.HasSuffix(name, mpk.Ext) {
			pkgs = append(pkgs, name)
		}
	}
	if len(pkgs) != 2 {
		t.Fatalf("after two packages the cache holds %q, want two packages", pkgs)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pkgs {
		if data, err := os.ReadFile(filepath.Join(cache, name)); err == nil && bytes.Equal(data, first) {
			marked := append(slices.Clone(first), "marker"...)
			if err := os.WriteFile(filepath.Join(cache, name), marked, 0o644); err != nil {
				t.Fatal(err)
			}
			again := runtimetest.BuildPackage(t, tinyGuest, "3.1.4")
			if data, _ := os.ReadFile(again); again == path || !bytes.Equal(data, marked) {
				t.Errorf("second BuildPackage of 3.1.4 (%s) did not copy the cached package", again)
			}
			return
		}
	}
	t.Errorf("no cached package holds the bytes of %s", path)
}

// TestGoGuests checks that the list holds the Go guests and neither the
// SDK nor a JavaScript package.
func TestGoGuests(t *testing.T) {
	guests := runtimetest.GoGuests(t)
	for _, want := range []string{"samples/counter", "samples/jsbase", "runtime/testdata/guests/basic"} {
		if !slices.Contains(guests, want) {
			t.Errorf("GoGuests() = %q, want it to hold %s", guests, want)
		}
	}
	for _, not := range []string{"samples/wx", "samples/seed-js"} {
		if slices.Contains(guests, not) {
			t.Errorf("GoGuests() = %q, holds %s", guests, not)
		}
	}
}
