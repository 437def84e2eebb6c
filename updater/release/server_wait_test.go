package release_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

// heldRequest sends a document request with ?after=&wait= and returns
// once its headers are in, with the response whose body is still coming.
func heldRequest(t *testing.T, url, after, wait string) *http.Response {
	t.Helper()
	// 15 s: a hold that nothing ends fails the test well before its 50 s.
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/apps/demo.hello/release.json?after="+after+"&wait="+wait, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("held document request: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readDocument reads a held response's body (bounded by the request's
// deadline) and verifies it.
func readDocument(t *testing.T, ts *testServer, resp *http.Response) *updater.Document {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the held response: %v", err)
	}
	doc, err := updater.VerifyDocument(body, ts.srv.PublicKey(), updater.VerifyOptions{AppID: "demo.hello", Now: ts.clock.Now()})
	if err != nil {
		t.Fatalf("verify the held response: %v (body %q)", err, body)
	}
	return doc
}

// TestHeldDocumentRequest: a ?wait= request is held until the sequence
// moves (publish, settings) or the server closes, and answered at once when
// the client is behind already.
func TestHeldDocumentRequest(t *testing.T) {
	minVersion := "1.0.0"
	tests := []struct {
		name     string
		behind   bool // ask with the previous sequence
		act      func(ts *testServer)
		wantNext bool // the answer has the next sequence
		wantVer  string
	}{
		{name: "publish wakes it", act: func(ts *testServer) { ts.publish("demo.hello", "1.1.0") }, wantNext: true, wantVer: "1.1.0"},
		{name: "settings wake it", act: func(ts *testServer) {
			if _, err := ts.srv.SetSettings(ts.t.Context(), "demo.hello", release.Settings{MinVersion: &minVersion}); err != nil {
				ts.t.Fatal(err)
			}
		}, wantNext: true, wantVer: "1.0.0"},
		{name: "close ends it", act: func(ts *testServer) { closeServer(ts.t, ts.srv) }, wantVer: "1.0.0"},
		{name: "behind already: at once", behind: true, wantVer: "1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			ts.publish("demo.hello", "1.0.0")
			seq := ts.fetch(ts.client(), "demo.hello", 0).Sequence
			after := seq
			if tt.behind {
				after--
			}
			resp := heldRequest(t, ts.hs.URL, strconv.FormatUint(after, 10), "50")
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Minihost-Wait") != "43200" {
				t.Fatalf("status %d, Minihost-Wait %q; want 200 and the server's bound, 43200", resp.StatusCode, resp.Header.Get("Minihost-Wait"))
			}
			if tt.act != nil {
				if got := ts.srv.HeldRequests(); got != 1 {
					t.Fatalf("held requests after the headers came: %d, want 1", got)
				}
				tt.act(ts)
			}
			want := seq
			if tt.wantNext {
				want++
			}
			if doc := readDocument(t, ts, resp); doc.Sequence != want || doc.Latest.Version != tt.wantVer {
				t.Errorf("answer: sequence %d latest %s, want %d %s", doc.Sequence, doc.Latest.Version, want, tt.wantVer)
			}
		})
	}
}

// TestHeldDocumentRequestRefused: a bad query is a 400 naming the field,
// and a server that may not hold (MaxWait < 0, or MaxWaiters held)
// answers at once without the Minihost-Wait header, so clients poll.
func TestHeldDocumentRequestRefused(t *testing.T) {
	tests := []struct {
		name, after, wait string
		edit              func(*release.Config)
		holdFirst         bool
		wantStatus        int
	}{
		{name: "after not a number", after: "x", wait: "5", wantStatus: http.StatusBadRequest},
		{name: "wait negative", after: "1", wait: "-1", wantStatus: http.StatusBadRequest},
		{name: "holding off", after: "1", wait: "5", edit: func(c *release.Config) { c.MaxWait = -1 }, wantStatus: http.StatusOK},
		{name: "too many held", after: "1", wait: "5", edit: func(c *release.Config) { c.MaxWaiters = 1 }, holdFirst: true, wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, tt.edit)
			ts.publish("demo.hello", "1.0.0")
			if tt.holdFirst {
				first := heldRequest(t, ts.hs.URL, "1", "50")
				// The first hold must end before the test's servers close.
				defer func() { closeServer(t, ts.srv); readDocument(t, ts, first) }()
			}
			resp := heldRequest(t, ts.hs.URL, tt.after, tt.wait)
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Minihost-Wait") != "" {
				t.Fatalf("status %d, Minihost-Wait %q (body %s); want %d and no header", resp.StatusCode, resp.Header.Get("Minihost-Wait"), body, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusBadRequest && !bytes.Contains(body, []byte(tt.name[:strings.IndexByte(tt.name, ' ')])) {
				t.Errorf("400 body %s does not name the field", body)
			}
		})
	}
}

// TestHeldDocumentRequestTimesOut: a hold ends after its wait, and never
// after more than MaxWait, with the unchanged document. (synctest's clock:
// the hold's timer is real time inside the bubble.)
func TestHeldDocumentRequestTimesOut(t *testing.T) {
	for _, tt := range []struct {
		name string
		wait string
		want time.Duration
	}{
		{"its own wait", "30", 30 * time.Second},
		{"capped by MaxWait", "172800", 12 * time.Hour}, // Config.MaxWait's default
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := newTestClock()
				srv, err := release.New(release.Config{Fs: afero.NewMemMapFs(), DataDir: "/data", Key: testKey(), Validator: release.NoValidation(), Now: clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				defer closeServer(t, srv)
				if _, err := srv.Publish(t.Context(), "demo.hello", bytes.NewReader(testPackage(t, "demo.hello", "1.0.0")), 100); err != nil {
					t.Fatal(err)
				}
				rec := httptest.NewRecorder()
				start := time.Now()
				srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/apps/demo.hello/release.json?after=1&wait="+tt.wait, nil))
				if got := time.Since(start); got != tt.want {
					t.Errorf("held for %v, want %v", got, tt.want)
				}
				// A newline every 25 s keeps proxies from cutting the hold.
				body := rec.Body.Bytes()
				// (A beat due the instant the hold ends may or may not go.)
				beats, due := len(body)-len(bytes.TrimLeft(body, "\n")), int(tt.want/(25*time.Second))
				if beats != due && beats != due-1 {
					t.Errorf("%d heartbeat newlines in %v, want one per 25 s", beats, tt.want)
				}
				doc, err := updater.VerifyDocument(body, srv.PublicKey(), updater.VerifyOptions{AppID: "demo.hello", Now: clock.Now()})
				if err != nil || doc.Sequence != 1 {
					t.Errorf("answer after the hold: %v, %v; want sequence 1", doc, err)
				}
			})
		})
	}
}

// TestServeShutdownEndsHeldRequests: when Serve's context ends, held
// requests are answered at once, so the graceful shutdown does not wait
// out MaxWait.
func TestServeShutdownEndsHeldRequests(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.hello", "1.0.0")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- ts.srv.Serve(ctx, ln) }()
	resp := heldRequest(t, "http://"+ln.Addr().String(), "1", "50")
	cancel()
	if doc := readDocument(t, ts, resp); doc.Sequence != 1 {
		t.Errorf("answer at shutdown: sequence %d, want 1", doc.Sequence)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return within 20 s of its context ending (it waits out a held request)")
	}
}

// TestWaitDocument: the client's push path gets the next document as soon
// as it is published, and tells a static export (no holds) by ErrNoPush.
func TestWaitDocument(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.hello", "1.0.0")
	c := ts.client()
	got := make(chan *updater.Document, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		doc, _, err := c.WaitDocument(ctx, "demo.hello", 1, 50*time.Second)
		if err != nil {
			t.Errorf("WaitDocument: %v", err)
		}
		got <- doc
	}()
	waitUntil(t, "the server to hold the client's request", func() bool { return ts.srv.HeldRequests() == 1 })
	ts.publish("demo.hello", "1.1.0")
	if doc := <-got; doc == nil || doc.Sequence != 2 || doc.Latest.Version != "1.1.0" {
		t.Fatalf("pushed document %+v, want sequence 2 with 1.1.0", doc)
	}

	out := t.TempDir()
	if _, err := release.Export(t.Context(), release.ExportConfig{DataDir: ts.cfg.DataDir, OutDir: out, Key: testKey(), Now: ts.clock.Now}); err != nil {
		t.Fatal(err)
	}
	static, err := updater.NewClient(updater.ClientConfig{BaseURL: httptestServer(t, http.FileServer(http.Dir(out))), PublicKey: ts.srv.PublicKey(), Now: ts.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer static.Close(t.Context())
	if _, _, err := static.WaitDocument(t.Context(), "demo.hello", 2, 50*time.Second); !errors.Is(err, updater.ErrNoPush) {
		t.Errorf("WaitDocument on a static export: %v, want ErrNoPush", err)
	}
	if doc, _, err := static.WaitDocument(t.Context(), "demo.hello", 1, 50*time.Second); err != nil || doc.Sequence != 2 {
		t.Errorf("WaitDocument on a static export, behind: %+v, %v; want sequence 2 at once", doc, err)
	}
}

// waitUntil polls cond every millisecond for 20 s, failing the test with
// what it waited for.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
