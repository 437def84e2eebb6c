package release_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/testpkg"
	"github.com/minihost/minihost/updater/release"
	"github.com/minihost/minihost/updater/updatertest"
)

// testToken is the admin token of test servers.
const testToken = "test-token-5f1c9a0b7e"

// testKey returns a fixed signing key, so failures are reproducible.
func testKey() ed25519.PrivateKey { return testpkg.Key() }

// newTestClock returns a clock the test moves by hand, at a fixed start.
func newTestClock() *updatertest.FakeClock {
	return updatertest.NewFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
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
// release.NoValidation() (tests of the Validator set their own).
type testServer struct {
	t     testing.TB
	cfg   release.Config
	srv   *release.Server
	hs    *httptest.Server
	admin release.Admin
	clock *updatertest.FakeClock
}

func newTestServer(t testing.TB, edit func(*release.Config)) *testServer {
	t.Helper()
	clock := newTestClock()
	cfg := release.Config{
		DataDir:   t.TempDir(),
		Key:       testKey(),
		Validator: release.NoValidation(),
		Tokens:    []string{testToken},
		Now:       clock.Now,
		// No delta patches unless the test is about them (withPatches):
		// building them at zstd's best level is most of a publish's time
		// under -race, and most tests publish several versions.
		PatchBases: -1,
	}
	if edit != nil {
		edit(&cfg)
	}
	ts := &testServer{t: t, cfg: cfg, clock: clock}
	ts.start()
	return ts
}

// withPatches is newTestServer's edit for tests about delta patches: the
// product's default, Config.PatchBases 0 (3 bases).
func withPatches(c *release.Config) { c.PatchBases = 0 }

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

func (ts *testServer) client() *updater.Client {
	ts.t.Helper()
	c, err := updater.NewClient(updater.ClientConfig{
		BaseURL: ts.hs.URL, PublicKey: ts.srv.PublicKey(), Now: ts.clock.Now,
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// fetch fetches appID's document with c (newer than sequence since) and
// fails the test on error.
func (ts *testServer) fetch(c *updater.Client, appID string, since uint64) *updater.Document {
	ts.t.Helper()
	doc, _, err := c.FetchDocument(ts.t.Context(), appID, since)
	if err != nil {
		ts.t.Fatalf("fetch the document of %s: %v", appID, err)
	}
	return doc
}

// get fetches path from the test server, with Range rng unless empty.
func (ts *testServer) get(path, rng string) (int, []byte) {
	ts.t.Helper()
	req, err := http.NewRequestWithContext(ts.t.Context(), http.MethodGet, ts.hs.URL+"/"+path, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return resp.StatusCode, body
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

// testPackage returns the bytes of a real package of a sample app at
// version (testpkg.Sample).
func testPackage(t testing.TB, appID, version string) []byte {
	return testpkg.Sample(t, appID, version)
}

func manifestJSON(appID, version string) string { return testpkg.Manifest(appID, version) }

// craftPackage zips files (testpkg.Zip), for broken packages.
func craftPackage(t testing.TB, files map[string]string) []byte { return testpkg.Zip(t, files) }

// listFiles returns the files under dir, relative (testpkg.ListFiles).
func listFiles(t testing.TB, dir string) []string { return testpkg.ListFiles(t, dir) }

// httptestServer serves h on loopback for the test and returns its URL.
func httptestServer(t testing.TB, h http.Handler) string { return testpkg.Serve(t, h) }
