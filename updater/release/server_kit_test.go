package release_test

import (
	"archive/zip"
	"bytes"
	"context"
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
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

// testToken is the admin token of test servers.
const testToken = "test-token-5f1c"

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

// closeServer closes srv within a deadline and fails the test on error.
// (It runs in cleanups too, after t.Context() has ended.)
func closeServer(t testing.TB, srv *release.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Close(ctx); err != nil {
		t.Errorf("close release server: %v", err)
	}
}

// testServer is a release server on a real loopback listener, with a data
// folder in t.TempDir(), a hand-moved clock, an admin client and
// release.NoValidation{} (tests of the Validator set their own).
type testServer struct {
	t     testing.TB
	cfg   release.Config
	srv   *release.Server
	hs    *httptest.Server
	admin *release.AdminClient
	clock *testClock
}

func newTestServer(t testing.TB, edit func(*release.Config)) *testServer {
	t.Helper()
	clock := newTestClock()
	cfg := release.Config{
		DataDir:   t.TempDir(),
		Key:       testKey(),
		Validator: release.NoValidation{},
		Tokens:    []string{testToken},
		Now:       clock.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	ts := &testServer{t: t, cfg: cfg, clock: clock}
	ts.start()
	return ts
}

func (ts *testServer) start() {
	ts.t.Helper()
	srv, err := release.New(ts.cfg)
	if err != nil {
		ts.t.Fatalf("NewServer: %v", err)
	}
	ts.srv = srv
	ts.hs = httptest.NewServer(srv.Handler())
	ts.admin, err = release.NewAdminClient(release.AdminClientConfig{BaseURL: ts.hs.URL, Token: testToken})
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(ts.stop)
}

func (ts *testServer) stop() {
	ts.hs.Close()
	closeServer(ts.t, ts.srv)
	ts.admin.Close(context.Background())
}

// restart stops the server and starts a new one on the same data folder.
func (ts *testServer) restart() {
	ts.stop()
	ts.start()
}

func (ts *testServer) client(id string) *updater.Client {
	ts.t.Helper()
	c, err := updater.NewClient(updater.ClientConfig{
		BaseURL: ts.hs.URL, PublicKey: ts.srv.PublicKey(), ClientID: id, Now: ts.clock.Now,
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(c.Close)
	return c
}

// publish uploads a package over HTTP and fails the test on error.
func (ts *testServer) publish(appID, version string) *updater.Release {
	ts.t.Helper()
	rel, err := ts.admin.Publish(ts.t.Context(), appID, bytes.NewReader(testPackage(ts.t, appID, version)), 100)
	if err != nil {
		ts.t.Fatalf("publish %s %s: %v", appID, version, err)
	}
	return rel
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

// httptestServer serves h on loopback for the test and returns its URL.
func httptestServer(t testing.TB, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}
