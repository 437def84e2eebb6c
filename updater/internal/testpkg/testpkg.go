// Package testpkg holds the test helpers that the tests of the updater and
// release packages share: a fixed signing key, real and hand-made
// packages, a file listing and a loopback server. Only tests import it;
// it is internal so that it adds nothing to either package's API. Every
// helper is safe for concurrent use and stops the test (tb.Fatal) on
// error, so call them from the test's goroutine.
package testpkg

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/minihost/minihost/runtime/runtimetest"
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
