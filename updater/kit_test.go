package updater_test

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
	"time"

	"github.com/minihost/minihost/runtime/runtimetest"
)

// Helpers of this package's tests; the release package's tests keep a copy
// of the ones they share (packages, keys) beside their test server.

// testKey returns a fixed signing key, so failures are reproducible.
func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
}

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
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

// testPackage returns the bytes of a real package of appID (a sample
// guest, compiled) at version; the same bytes for the same arguments.
func testPackage(t testing.TB, appID, version string) []byte {
	t.Helper()
	pkgMu.Lock()
	defer pkgMu.Unlock()
	key := appID + "@" + version
	if b, ok := pkgCache[key]; ok {
		return b
	}
	dir, ok := samples[appID]
	if !ok {
		t.Fatalf("no sample guest for app %q", appID)
	}
	b, err := os.ReadFile(runtimetest.BuildPackage(t, dir, version))
	if err != nil {
		t.Fatal(err)
	}
	pkgCache[key] = b
	return b
}

func manifestJSON(appID, version string) string {
	b, _ := json.Marshal(map[string]any{"appId": appID, "version": version, "abi": 1, "entry": "app.wasm"})
	return string(b)
}

// craftPackage zips files (for packages a real build cannot give: broken
// ones).
func craftPackage(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"app.json", "app.wasm", "other"} {
		body, ok := files[name]
		if !ok {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listFiles returns the files under dir, relative, for "nothing stored"
// checks.
func listFiles(t testing.TB, dir string) []string {
	t.Helper()
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

type ed25519PublicKey = ed25519.PublicKey

// httptestServer serves h on loopback for the test and returns its URL.
func httptestServer(t testing.TB, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}
