// Package runtimetest is the test kit for code that runs real guests: it
// compiles Go guests (samples/counter, a test's own testdata guest) to
// WebAssembly and packs them into .mpk files, so that tests of runtime,
// host and updater exercise real modules instead of fakes.
//
// Compiling a guest takes seconds, so BuildWasm caches the module on disk,
// keyed by a hash of everything that goes into it: the guest folder's files,
// the guest SDK (samples/wx), the test guests' shared packages
// (runtime/testdata/guests/internal), the module's go.mod and go.sum, and
// the Go version; BuildPackage caches the package it packs, keyed by the
// packed files and mpk's sources. The cache lives in test/guests under the cache root (see
// runtime.CacheRoot: $MINIHOST_CACHE, else minihost under the user cache
// folder), beside CacheDir's test/wazero, and is written atomically, so
// concurrent test binaries share it safely; it is safe to delete at any
// time ("minihost cache clean").
//
// Typical use, in a test of package runtime:
//
//	func TestLaunch(t *testing.T) {
//		wasm := runtimetest.BuildWasm(t, "samples/counter")
//		// ... compile wasm with wazero and call it ...
//		pkg := runtimetest.BuildPackage(t, "samples/counter", "1.2.0")
//		// ... install the .mpk file at pkg ...
//	}
//
// The kit keeps no state between calls and imports mpk but not the runtime
// package, so runtime's own tests can use it.
package runtimetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/internal/compilecache"
	"github.com/minihost/minihost/runtime/internal/guestbuild"
	"github.com/minihost/minihost/runtime/mpk"
)

// sdkDir is the guest SDK's folder, relative to the module root. Its Go
// files are part of every guest's cache key.
const sdkDir = "samples/wx"

// guestLibDir holds the packages the test guests share (guestkit), outside
// any one guest's folder. Its Go files are part of every guest's cache key,
// as the SDK's are.
const guestLibDir = "runtime/testdata/guests/internal"

// cacheVersion changes when the way guests are built changes, to retire
// every cached module at once.
const cacheVersion = "minihost-test guest 2 (data segments merged)"

// ModuleRoot returns the folder of the minihost module: the nearest folder
// holding go.mod, going up from the working directory (a test's working
// directory is its package folder). It fails the test when there is none.
func ModuleRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("runtimetest: find module root: %v", err)
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && st.Mode().IsRegular() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("runtimetest: find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildWasm compiles the Go guest in dir and returns the module's bytes.
// dir is absolute or relative to the module root (for example
// "samples/counter"); it needs Go sources, not an app.json. The module is
// built as a WASI reactor exactly as mpk.Build builds it, at most once per
// content hash (see the package doc), and the test fails with the
// compiler's output when the guest does not compile.
//
// BuildWasm is safe to call from parallel tests and test binaries.
func BuildWasm(tb testing.TB, dir string) []byte {
	tb.Helper()
	root := ModuleRoot(tb)
	dir = resolve(root, dir)
	key, err := cacheKey(tb, root, dir)
	if err != nil {
		tb.Fatalf("runtimetest: hash guest %s: %v", dir, err)
	}
	cached := filepath.Join(cacheDir(), key+".wasm")
	if data, err := os.ReadFile(cached); err == nil && bytes.HasPrefix(data, []byte("\x00asm\x01\x00\x00\x00")) {
		return data
	}

	out := filepath.Join(tb.TempDir(), "guest.wasm")
	if err := guestbuild.Compile(tb.Context(), dir, out, guestbuild.Options{}); err != nil {
		tb.Fatalf("runtimetest: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		tb.Fatalf("runtimetest: %v", err)
	}
	// A cache that cannot be written costs time, not correctness.
	osfs := afero.NewOsFs()
	if err := osfs.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		tb.Logf("runtimetest: cache guest: %v", err)
	} else if err := fsutil.WriteFile(osfs, cached, data, 0o644); err != nil {
		tb.Logf("runtimetest: cache guest: %v", err)
	}
	return data
}

// BuildPackage builds the guest in dir into a package in a fresh folder of
// tb.TempDir() and returns the package's path. dir is resolved as by
// BuildWasm and must hold an app.json; when version is not empty it
// replaces the manifest's version (dir itself is not changed). The module
// comes from BuildWasm's cache; the package is made with mpk.Pack, so it
// holds the same files as one from mpk.Build and is valid for mpk.Open.
func BuildPackage(tb testing.TB, dir, version string) string {
	tb.Helper()
	root := ModuleRoot(tb)
	dir = resolve(root, dir)
	wasm := BuildWasm(tb, dir)

	manifest, err := os.ReadFile(filepath.Join(dir, mpk.ManifestName))
	if err != nil {
		tb.Fatalf("runtimetest: %v", err)
	}
	m, err := mpk.ParseManifest(manifest)
	if err != nil {
		tb.Fatalf("runtimetest: %s: %v", dir, err)
	}
	if version != "" {
		manifest, err = setVersion(manifest, version)
		if err != nil {
			tb.Fatalf("runtimetest: %s: set version %q: %v", dir, version, err)
		}
		if m, err = mpk.ParseManifest(manifest); err != nil {
			tb.Fatalf("runtimetest: %s: set version %q: %v", dir, version, err)
		}
	}

	stage := filepath.Join(tb.TempDir(), "stage")
	if err := copyAssets(dir, stage, m.Entry); err != nil {
		tb.Fatalf("runtimetest: %v", err)
	}
	for name, data := range map[string][]byte{mpk.ManifestName: manifest, m.Entry: wasm} {
		p := filepath.Join(stage, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatalf("runtimetest: %v", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			tb.Fatalf("runtimetest: %v", err)
		}
	}
	out := filepath.Join(tb.TempDir(), m.AppID+"-"+m.Version+mpk.Ext)
	if err := packCached(tb, root, stage, out); err != nil {
		tb.Fatalf("runtimetest: %v", err)
	}
	return out
}

// packCached packs stage to out with mpk.Pack, or copies the package that
// an earlier Pack of the same files made: Pack is deterministic, and its
// deflate of a multi-megabyte module costs most of a second under the race
// detector, in every test that publishes. The key holds the staged files
// and mpk's own sources, so a change to either packs anew.
func packCached(tb testing.TB, root, stage, out string) error {
	h := sha256.New()
	fmt.Fprintf(h, "%s\npackage\n", cacheVersion)
	if err := hashTree(h, "stage/", stage, func(string) bool { return true }); err != nil {
		return err
	}
	isSource := func(name string) bool { return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") }
	if err := hashTree(h, "mpk/", filepath.Join(root, "runtime", "mpk"), isSource); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	cached := filepath.Join(cacheDir(), hex.EncodeToString(h.Sum(nil))+mpk.Ext)
	osfs := afero.NewOsFs()
	if data, err := os.ReadFile(cached); err == nil && bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return os.WriteFile(out, data, 0o644)
	}
	if err := mpk.Pack(tb.Context(), stage, out); err != nil {
		return err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	if err := osfs.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		tb.Logf("runtimetest: cache package: %v", err)
	} else if err := fsutil.WriteFile(osfs, cached, data, 0o644); err != nil {
		tb.Logf("runtimetest: cache package: %v", err)
	}
	return nil
}

func resolve(root, dir string) string {
	if filepath.IsAbs(dir) {
		return filepath.Clean(dir)
	}
	return filepath.Join(root, filepath.FromSlash(dir))
}

func cacheDir() string { return filepath.Join(compilecache.Root(), "test", "guests") }

// setVersion returns app.json with its version replaced, other fields kept
// as they are (mpk.Pack validates the result).
func setVersion(manifest []byte, version string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(manifest, &fields); err != nil {
		return nil, err
	}
	v, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	fields["version"] = v
	return json.MarshalIndent(fields, "", "  ")
}

// cacheKey hashes everything that decides the module built from dir.
func cacheKey(tb testing.TB, root, dir string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", cacheVersion)
	goVersion, err := exec.CommandContext(tb.Context(), "go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	fmt.Fprintf(h, "go %s\n", bytes.TrimSpace(goVersion))
	for _, name := range []string{"go.mod", "go.sum"} {
		if err := hashFile(h, "module/"+name, filepath.Join(root, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	if err := hashTree(h, "guest/", dir, func(string) bool { return true }); err != nil {
		return "", err
	}
	isGo := func(name string) bool { return strings.HasSuffix(name, ".go") }
	for _, lib := range []struct{ prefix, dir string }{{"sdk/", sdkDir}, {"guestlib/", guestLibDir}} {
		libDir := filepath.Join(root, filepath.FromSlash(lib.dir))
		if _, err := os.Stat(libDir); err == nil {
			if err := hashTree(h, lib.prefix, libDir, isGo); err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashTree hashes the names and contents of the regular files under dir
// (hidden ones excepted) that keep accepts, in a fixed order.
func hashTree(h hash.Hash, prefix, dir string, keep func(name string) bool) error {
	var names []string
	err := walkVisible(dir, func(_, rel string, d fs.DirEntry) error {
		if d.Type().IsRegular() && keep(d.Name()) {
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := hashFile(h, prefix+name, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return err
		}
	}
	return nil
}

func hashFile(h hash.Hash, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%q %d\n", name, st.Size())
	n, err := io.Copy(h, f)
	if err != nil {
		return err
	}
	if n != st.Size() {
		return fmt.Errorf("%s changed while hashing", path)
	}
	return nil
}

// copyAssets copies the regular, non-hidden files of src to dst, except
// the entry module (replaced by the fresh build). Symbolic links are an
// error, as in mpk.Pack; Pack leaves out the sources copied along.
func copyAssets(src, dst, entry string) error {
	return walkVisible(src, func(p, rel string, d fs.DirEntry) error {
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s: symbolic links are not allowed in packages", p)
		case !d.Type().IsRegular() || filepath.ToSlash(rel) == entry:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// walkVisible walks dir as filepath.WalkDir does, passing fn each path,
// the path relative to dir and its entry, and leaves out the hidden files
// and folders below dir (a name starting with a dot).
func walkVisible(dir string, fn func(p, rel string, d fs.DirEntry) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return fn(p, rel, d)
	})
}
