package release_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

// The release server under load and under attack, served by Server.Serve
// (the production http.Server settings) on a loopback listener.

// servedServer is a release server behind Serve on 127.0.0.1, with its
// log captured.
type servedServer struct {
	srv  *release.Server
	url  string
	addr string
	logs *syncBuffer
	// stop ends Serve (its context) and returns what Serve returned; the
	// cleanup calls it too.
	stop func() error
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func serveServer(t *testing.T, edit func(*release.Config)) *servedServer {
	t.Helper()
	logs := &syncBuffer{}
	cfg := release.Config{
		DataDir: t.TempDir(), Key: testKey(), Validator: release.NoValidation(), Tokens: []string{testToken},
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := release.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	stop := sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
		closeServer(t, srv)
		if strings.Contains(logs.String(), "panic") {
			t.Errorf("the server logged a panic:\n%s", logs.String())
		}
	})
	return &servedServer{srv: srv, url: "http://" + ln.Addr().String(), addr: ln.Addr().String(), logs: logs, stop: stop}
}

// loadPackage is a small valid package of demo.load at version v (the
// wasm bytes differ per version, so every version has its own hash).
func loadPackage(t testing.TB, v string) []byte {
	return craftPackage(t, map[string]string{
		"app.json": manifestJSON("demo.load", v),
		"app.wasm": "\x00asm\x01\x00\x00\x00" + strings.Repeat(v, 64),
	})
}

// TestServerLoad runs 200 clients against one server for a few seconds,
// each checking and downloading in a loop, while an operator publishes
// versions and changes settings over the admin API. Every request must
// succeed, every publish must land, and every client must end on the
// latest version, fetched, verified and downloaded with its hash checked.
func TestServerLoad(t *testing.T) {
	t.Parallel()
	const (
		app      = "demo.load"
		clients  = 200
		versions = 6
		// pause between the operator's changes: the load lasts about
		// 3*(versions-1)*pause plus the changes' own latency, which grows
		// with the load (about 0.5 s each under -race on 2 cores).
		pause = 150 * time.Millisecond
	)
	ss := serveServer(t, nil)
	admin, err := release.NewAdminClient(release.AdminClientConfig{BaseURL: ss.url, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(t.Context())
	ctx := t.Context()
	if _, err := admin.Publish(ctx, app, bytes.NewReader(loadPackage(t, "1.0.0")), 100); err != nil {
		t.Fatal(err)
	}
	pub := testKey().Public().(ed25519.PublicKey)

	var (
		stop                 atomic.Bool
		fetches, downloads   atomic.Int64
		bytesIn              atomic.Int64
		errMu                sync.Mutex
		errs                 []error
		wg                   sync.WaitGroup
		final                = make([]string, clients)
		finalSeq             = make([]uint64, clients)
		changes              = 1 // the first publish
		published            = []string{"1.0.0"}
		verifiedDownloadHash = func(fsys afero.Fs, path, want string) error {
			b, err := afero.ReadFile(fsys, path)
			if err != nil {
				return err
			}
			if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
				return fmt.Errorf("downloaded file %s does not hash to %s", path, want)
			}
			return nil
		}
	)
	fail := func(err error) {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
	}
	// check is one client round: fetch and verify the document, then
	// download the release the rollout gives this client if it is new.
	check := func(c *updater.Client, fsys afero.Fs, id string, seq *uint64, have *string) error {
		doc, _, err := c.FetchDocument(ctx, app, *seq)
		fetches.Add(1)
		if err != nil {
			return fmt.Errorf("%s: fetch: %w", id, err)
		}
		*seq = doc.Sequence
		rel := doc.LatestFor(id)
		if rel == nil || rel.Version == *have {
			return nil
		}
		path := "/dl/" + rel.Version + ".mpk"
		n, err := c.Download(ctx, rel, path, nil)
		downloads.Add(1)
		bytesIn.Add(n)
		if err != nil {
			return fmt.Errorf("%s: download %s: %w", id, rel.Version, err)
		}
		if err := verifiedDownloadHash(fsys, path, rel.SHA256); err != nil {
			return err
		}
		*have = rel.Version
		return nil
	}
	began := time.Now()
	for i := range clients {
		wg.Go(func() {
			id := fmt.Sprintf("client-%03d", i)
			fsys := afero.NewMemMapFs()
			c, err := updater.NewClient(updater.ClientConfig{BaseURL: ss.url, PublicKey: pub, Fs: fsys})
			if err != nil {
				fail(err)
				return
			}
			defer c.Close(t.Context())
			var seq uint64
			var have string
			for !stop.Load() {
				if err := check(c, fsys, id, &seq, &have); err != nil {
					fail(err)
					return
				}
			}
			// The final round, after the last change.
			if err := check(c, fsys, id, &seq, &have); err != nil {
				fail(err)
				return
			}
			final[i], finalSeq[i] = have, seq
		})
	}

	// The operator: publish staged, release fully, raise the minimum and
	// prefer-local versions, every few tens of milliseconds.
	for v := 1; v < versions; v++ {
		ver := fmt.Sprintf("1.%d.0", v)
		steps := []func() error{
			func() error {
				_, err := admin.Publish(ctx, app, bytes.NewReader(loadPackage(t, ver)), 30)
				return err
			},
			func() error {
				_, err := admin.SetSettings(ctx, app, release.Settings{RolloutPercent: new(100)})
				return err
			},
			func() error {
				prev := published[len(published)-1]
				_, err := admin.SetSettings(ctx, app, release.Settings{MinVersion: &prev, PreferLocal: &prev})
				return err
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				t.Fatalf("operator: %v", err)
			}
			changes++
			time.Sleep(pause)
		}
		published = append(published, ver)
	}
	stop.Store(true)
	wg.Wait()
	took := time.Since(began)

	for _, err := range errs {
		t.Error(err)
	}
	st, err := admin.Status(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sequence != uint64(changes) {
		t.Errorf("sequence %d after %d changes: a change was lost", st.Sequence, changes)
	}
	if len(st.Versions) != len(published) {
		t.Errorf("server lists %d versions, %d were published", len(st.Versions), len(published))
	}
	latest := published[len(published)-1]
	for i := range clients {
		if final[i] != latest || finalSeq[i] != st.Sequence {
			t.Errorf("client-%03d ended on %q at sequence %d, want %s at %d", i, final[i], finalSeq[i], latest, st.Sequence)
		}
	}
	t.Logf("load: %d clients, %d document fetches and %d package downloads (%d bytes) in %v (%.0f requests/s), %d changes (%d versions), %d errors",
		clients, fetches.Load(), downloads.Load(), bytesIn.Load(), took.Round(time.Millisecond),
		float64(fetches.Load()+downloads.Load())/took.Seconds(), changes, len(published), len(errs))
}

// rawRequest sends raw bytes on a new connection and returns the status
// line of the answer ("" when the server closed without answering).
func rawRequest(t *testing.T, addr string, req []byte) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	// The server may answer (and close) before reading everything.
	go conn.Write(req)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil && line == "" {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("no answer to %.60q within 10s", req)
		}
		return ""
	}
	return strings.TrimSpace(line)
}

// TestServerLoadMalformedRequests sends the server garbage, oversized and
// hostile requests on raw connections: each gets a 4xx (or the connection
// is closed), never a 5xx or a panic, never a file outside the public
// tree, and the server keeps serving.
func TestServerLoadMalformedRequests(t *testing.T) {
	ss := serveServer(t, func(cfg *release.Config) { cfg.MaxPackageSize = 64 << 10 })
	ctx := t.Context()
	if _, err := ss.srv.Publish(ctx, "demo.load", bytes.NewReader(loadPackage(t, "1.0.0")), 100); err != nil {
		t.Fatal(err)
	}
	get := func(path string, headers ...string) []byte {
		return []byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(headers, "") + "\r\n")
	}
	tests := []struct {
		name string
		req  []byte
		want string // status code prefix, "" for a closed connection, "4" for any 4xx
	}{
		{"binary garbage", []byte("\x00\x01\x02\x03\xff\xfe\r\n\r\n"), "4"},
		{"no host", []byte("GET /apps/demo.load/release.json HTTP/1.1\r\n\r\n"), "400"},
		{"HTTP/0.9", []byte("GET /apps/demo.load/release.json\r\n\r\n"), "4"},
		{"unknown protocol", []byte("GET / SPDY/9\r\nHost: x\r\n\r\n"), "4"},
		{"huge header", get("/apps/demo.load/release.json", "X-Big: "+strings.Repeat("a", 2<<20)+"\r\n"), "431"},
		{"many headers", get("/apps/demo.load/release.json", strings.Repeat("X-Many: "+strings.Repeat("b", 100)+"\r\n", 20000)), "431"},
		{"huge path", get("/apps/" + strings.Repeat("a", 2<<20) + "/release.json"), "431"},
		{"long app id", get("/apps/" + strings.Repeat("a", 4000) + "/release.json"), "404"},
		{"bad method", []byte("FOO /apps/demo.load/release.json HTTP/1.1\r\nHost: x\r\n\r\n"), "4"},
		{"DELETE a package", []byte("DELETE /apps/demo.load/packages/1.0.0.mpk HTTP/1.1\r\nHost: x\r\n\r\n"), "4"},
		{"PUT a document", []byte("PUT /apps/demo.load/release.json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"), "4"},
		// The mux cleans dot-dot paths and redirects to the clean path, on
		// this server.
		{"dotdot path", get("/apps/../../etc/passwd"), "307"},
		{"dotdot app", get("/apps/../release.json"), "307"},
		{"escaped dotdot app", get("/apps/%2e%2e/release.json"), "404"},
		{"escaped slash in package", get("/apps/demo.load/packages/..%2fstate.json"), "404"},
		{"escaped slash in app", get("/apps/demo.load%2fpackages/release.json"), "404"},
		{"state file", get("/apps/demo.load/state.json"), "404"},
		{"package dotdot", get("/apps/demo.load/packages/../state.json"), "307"},
		{"NUL in path", get("/apps/demo.load/packages/1.0.0.mpk%00"), "404"},
		{"raw NUL in path", get("/apps/demo.load/packages/1.0.0.mpk\x00"), "400"},
		{"version without .mpk", get("/apps/demo.load/packages/1.0.0"), "404"},
		{"absolute URL to another host", get("http://evil.example/apps/demo.load/release.json"), "200"},
		{"range past the end", get("/apps/demo.load/packages/1.0.0.mpk", "Range: bytes=999999999-\r\n"), "416"},
		{"range overflow", get("/apps/demo.load/packages/1.0.0.mpk", "Range: bytes=0-99999999999999999999999\r\n"), "4"},
		{"many ranges", get("/apps/demo.load/packages/1.0.0.mpk", "Range: bytes="+strings.TrimSuffix(strings.Repeat("0-0,", 5000), ",")+"\r\n"), "2"},
		{"negative content length", []byte("POST /admin/apps/demo.load/packages HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), "400"},
		{"content length and chunked", []byte("POST /admin/apps/demo.load/packages HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), "4"},
		// An authenticated upload whose body is malformed is the client's
		// fault: a 4xx, not a 500 logged as a server failure.
		{"bad chunk", []byte("POST /admin/apps/demo.load/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), "4"},
		{"upload over the limit", []byte("POST /admin/apps/demo.load/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken +
			"\r\nContent-Length: 1048576\r\n\r\n" + strings.Repeat("x", 1<<20)), "413"},
		{"chunked upload over the limit", []byte("POST /admin/apps/demo.load/packages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken +
			"\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n" + strings.Repeat("x", 1<<20) + "\r\n0\r\n\r\n"), "413"},
		{"settings body over the limit", []byte("PATCH /admin/apps/demo.load/settings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + testToken +
			"\r\nContent-Length: 1048576\r\n\r\n{\"minVersion\":\"" + strings.Repeat("1", 1<<20-16) + "\"}"), "413"},
		{"admin without token", []byte("GET /admin/apps/demo.load/versions HTTP/1.1\r\nHost: x\r\n\r\n"), "401"},
		{"admin with a huge token", get("/admin/apps/demo.load/versions", "Authorization: Bearer "+strings.Repeat("t", 512<<10)+"\r\n"), "401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := rawRequest(t, ss.addr, tt.req)
			t.Logf("%s -> %q", tt.name, line)
			if tt.want == "" {
				if line != "" {
					t.Fatalf("got %q, want the connection closed", line)
				}
				return
			}
			code := strings.TrimPrefix(line, "HTTP/1.1 ")
			if line == "" || !strings.HasPrefix(line, "HTTP/1.") || !strings.HasPrefix(code, tt.want) {
				t.Fatalf("got %q, want status %s...", line, tt.want)
			}
			if strings.HasPrefix(code, "5") {
				t.Fatalf("server error on a malformed request: %q", line)
			}
		})
	}
	// Nothing was stored, and the server still serves.
	st, err := ss.srv.Status(context.Background(), "demo.load")
	if err != nil || len(st.Versions) != 1 || st.Sequence != 1 {
		t.Fatalf("status after the attacks = %+v, %v", st, err)
	}
	c, err := updater.NewClient(updater.ClientConfig{BaseURL: ss.url, PublicKey: ss.srv.PublicKey(), Fs: afero.NewMemMapFs()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	doc, _, err := c.FetchDocument(ctx, "demo.load", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Download(ctx, doc.Latest, "/p", nil); err != nil {
		t.Fatal(err)
	}
}

// TestServerLoadSlowClients holds many connections that send their headers a
// byte at a time (slowloris): the server cuts each off after its header
// timeout (release.ReadHeaderTimeout, not configurable), and serves
// other clients meanwhile.
func TestServerLoadSlowClients(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the server's 10 s header timeout")
	}
	t.Parallel()
	ss := serveServer(t, nil)
	if _, err := ss.srv.Publish(t.Context(), "demo.load", bytes.NewReader(loadPackage(t, "1.0.0")), 100); err != nil {
		t.Fatal(err)
	}
	const slow = 50
	began := time.Now()
	closed := make(chan time.Duration, slow)
	for range slow {
		conn, err := net.Dial("tcp", ss.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go func() {
			// Never finish the headers: one byte every 200 ms.
			req := "GET /apps/demo.load/release.json HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 1000)
			for i := 0; i < len(req); i++ {
				conn.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := conn.Write([]byte{req[i]}); err != nil {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
		go func() {
			conn.SetReadDeadline(time.Now().Add(release.ReadHeaderTimeout + 15*time.Second))
			_, err := io.Copy(io.Discard, conn) // returns when the server closes
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				closed <- -1
				return
			}
			closed <- time.Since(began)
		}()
	}
	// Meanwhile the server answers everyone else.
	c, err := updater.NewClient(updater.ClientConfig{BaseURL: ss.url, PublicKey: ss.srv.PublicKey(), Fs: afero.NewMemMapFs()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	served := 0
	for time.Since(began) < release.ReadHeaderTimeout/2 {
		if _, _, err := c.FetchDocument(t.Context(), "demo.load", 0); err != nil {
			t.Fatalf("a normal client was refused during the slow attack: %v", err)
		}
		served++
		time.Sleep(10 * time.Millisecond)
	}
	var last time.Duration
	for range slow {
		d := <-closed
		if d < 0 {
			t.Fatalf("a slow client was still connected %v after its header timeout", 15*time.Second)
		}
		if d < release.ReadHeaderTimeout-time.Second {
			t.Fatalf("a slow client was cut off after %v, before the header timeout", d)
		}
		last = max(last, d)
	}
	t.Logf("%d slow clients cut off by %v (header timeout %v); %d normal requests served meanwhile",
		slow, last.Round(time.Millisecond), release.ReadHeaderTimeout, served)
}
