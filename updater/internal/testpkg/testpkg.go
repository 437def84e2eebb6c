// Package testpkg holds the test helpers that the tests of the updater and
// release packages share: a fixed signing key, real and hand-made
// packages, a file listing, a loopback server, and packages' files and
// content digests for delta patches. Only tests import it;
// it is internal so that it adds nothing to either package's API. Every
// helper is safe for concurrent use and stops the test (tb.Fatal) on
// error, so call them from the test's goroutine.
package testpkg

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater/internal/delta"
)

// Key returns a fixed signing key, so failures are reproducible.
func Key() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// samples maps the app ids of the sample guests to their folders.
var samples = map[string]string{
	"demo.counter": "samples/counter",
	"demo.hello":   "samples/hello",
}

var (
	pkgMu    sync.Mutex
	pkgCache = map[string][]byte{}
)

// Sample returns the bytes of a real package of appID (a sample guest,
// compiled: "demo.counter" or "demo.hello") at version; the same bytes for
// the same arguments, built once per test binary.
func Sample(tb testing.TB, appID, version string) []byte {
	tb.Helper()
	pkgMu.Lock()
	defer pkgMu.Unlock()
	key := appID + "@" + version
	if b, ok := pkgCache[key]; ok {
		return b
	}
	dir, ok := samples[appID]
	if !ok {
		tb.Fatalf("testpkg: no sample guest for app %q", appID)
	}
	b, err := os.ReadFile(runtimetest.BuildPackage(tb, dir, version))
	if err != nil {
		tb.Fatal(err)
	}
	pkgCache[key] = b
	return b
}

// Manifest returns an app.json for appID at version, entry app.wasm.
func Manifest(appID, version string) string {
	b, _ := json.Marshal(map[string]any{"appId": appID, "version": version, "abi": 1, "entry": "app.wasm"})
	return string(b)
}

// Zip zips files (names "app.json", "app.wasm" and "other", in that
// order; others are ignored), for packages a real build cannot give:
// broken ones.
func Zip(tb testing.TB, files map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"app.json", "app.wasm", "other"} {
		body, ok := files[name]
		if !ok {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// ListFiles returns the files under dir, relative and slash-separated, for
// "nothing stored" checks.
func ListFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// Serve serves h on loopback until the test ends and returns its URL.
func Serve(tb testing.TB, h http.Handler) string {
	tb.Helper()
	hs := httptest.NewServer(h)
	tb.Cleanup(hs.Close)
	return hs.URL
}

// Entries returns the files of the package bytes pkg, for delta.Build.
func Entries(tb testing.TB, pkg []byte) []delta.Entry {
	tb.Helper()
	p, err := mpk.Open(bytes.NewReader(pkg), int64(len(pkg)), mpk.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	var out []delta.Entry
	for _, name := range p.Files() {
		data, err := p.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, delta.Entry{Path: name, Data: data})
	}
	return out
}

// Digest returns the content digest of entries (delta.Digest of their
// file list), as a release document carries it.
func Digest(entries []delta.Entry) string {
	files := make([]delta.File, len(entries))
	for i, e := range entries {
		files[i] = delta.File{Path: e.Path, Size: int64(len(e.Data)), SHA256: SHA256(e.Data)}
	}
	return delta.Digest(files)
}

// SHA256 returns the hex sha256 of b.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
