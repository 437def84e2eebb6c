package updatertest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

// defaultStart returns where a Server's own clock starts when
// Config.Clock is nil: a fixed time, so documents and logs are
// reproducible.
func defaultStart() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// readHeaderTimeout bounds reading a request's headers, so a client stuck
// mid-request cannot hold a handler past the test.
const readHeaderTimeout = 10 * time.Second

// Config configures NewServer. The zero value is ready to use;
// zero fields take defaults.
type Config struct {
	// Clock drives the server: publish times and the issued-at and
	// expiry of release documents. nil: a new FakeClock at
	// 2026-01-01T00:00:00Z. Clients must check expiry against this same
	// clock (Server.Clock.Now); see the package doc.
	Clock *FakeClock
	// DocumentLifetime is how long a signed document stays valid; 0:
	// updater.DefaultDocumentLifetime (one hour).
	DocumentLifetime time.Duration
	// Validator checks uploads (release.Config.Validator). nil:
	// release.NoValidation(), on purpose for a test kit: the kit publishes
	// every package that passes the release server's own checks without
	// compiling its entry, so tests stay fast and can publish a package a
	// host then fails to compile. Pass a runtime-backed Validator to test
	// the refusal of such uploads.
	Validator release.Validator
	// Patches makes publishes build delta patches from earlier versions
	// (as many as release.Config's default). Off by default, so that a test
	// of the package path downloads the package even with a base
	// installed; tests of delta updates turn it on.
	Patches bool
}

// Request is one request the Server received, as Server.Requests reports
// it.
type Request struct {
	Method string
	// Path is the URL path, such as "/apps/demo.hello/release.json".
	Path string
	// Range is the request's Range header ("" for none), such as
	// "bytes=1000-" for a resumed download.
	Range string
	// Status is the status sent, 0 when none was (yet): a hang, a refused
	// or cut request aborted before its headers, a request in flight.
	Status int
	// Bytes is how many body bytes were sent.
	Bytes int64
	// Time is the Server's clock (not the wall clock) when the request
	// arrived.
	Time time.Time
	// Fault is the fault applied to the request, FaultNone for none.
	Fault FaultKind
}

// Server is a release server for tests: a release.Server with a fresh
// ed25519 key and an empty data folder, serving on a loopback listener
// (127.0.0.1, a free port) behind a fault-injecting middleware, with a log
// of the requests it received.
//
// Its methods are safe for concurrent use. NewServer with a tb registers
// Close with tb.Cleanup; the creator of a Server made with a nil tb calls
// Close. The methods
// that take a testing.TB stop the test (tb.Fatal) on error, so call them
// from the test's goroutine.
type Server struct {
	// URL is the base URL for clients, "http://127.0.0.1:PORT". It stays
	// the same for the Server's life, FaultRefuse included.
	URL string
	// PublicKey verifies the Server's release documents.
	PublicKey ed25519.PublicKey
	// Clock is the Server's clock (Config.Clock or its own); advance it to
	// move time for the server and the clients that share it, and pass
	// Clock.Now as updater.ClientConfig.Now.
	Clock *FakeClock
	// Release is the real release server, for anything the kit does not
	// wrap (Status, its Handler). Close closes it.
	Release *release.Server

	addr   string          // host:port of the listener, reused after FaultRefuse
	dir    string          // data folder, removed by Close when ownDir
	ownDir bool            // dir is ours to remove (NewServer had no tb)
	ctx    context.Context // parent of every request's context
	cancel context.CancelFunc

	life      sync.Mutex   // serializes listener changes (SetFault, Close)
	hs        *http.Server // nil while refusing and after Close
	serveDone chan struct{}

	mu          sync.Mutex // guards the fields below
	closed      bool
	inflight    sync.WaitGroup // handlers running; Add only under mu while !closed
	fault       Fault
	reqs        []Request
	reqsGen     uint64        // bumped by ResetRequests
	reqsChanged chan struct{} // closed and replaced when reqs grows or resets
}

// NewServer starts a Server. With a tb it keeps its data folder in
// tb.TempDir(), stops the test if the server cannot start and registers
// Close with tb.Cleanup. With a nil tb (an Example, a TestMain) it keeps
// its data folder in a new temporary folder, panics if the server cannot
// start, and the caller must call Close, which also removes the folder.
func NewServer(tb testing.TB, cfg Config) *Server {
	if tb == nil {
		dir, err := os.MkdirTemp("", "updatertest-")
		if err != nil {
			panic(fmt.Sprintf("updatertest: start test release server: %v", err))
		}
		s, err := newServer(cfg, dir, true)
		if err != nil {
			os.RemoveAll(dir)
			panic("updatertest: " + err.Error())
		}
		return s
	}
	tb.Helper()
	s, err := newServer(cfg, tb.TempDir(), false)
	if err != nil {
		tb.Fatalf("updatertest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

func newServer(cfg Config, dir string, ownDir bool) (*Server, error) {
	if cfg.Clock == nil {
		cfg.Clock = NewFakeClock(defaultStart())
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("start test release server: generate key: %w", err)
	}
	if cfg.Validator == nil {
		cfg.Validator = release.NoValidation()
	}
	rs, err := release.New(release.Config{
		DataDir:          dir,
		Key:              key,
		Validator:        cfg.Validator,
		DocumentLifetime: cfg.DocumentLifetime,
		Now:              cfg.Clock.Now,
		PatchBases:       map[bool]int{true: 0, false: -1}[cfg.Patches], // 0: the default
	})
	if err != nil {
		return nil, fmt.Errorf("start test release server: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = rs.Close(context.Background()) // never Served: returns at once
		return nil, fmt.Errorf("start test release server: %w", err)
	}
	s := &Server{
		URL:         "http://" + ln.Addr().String(),
		PublicKey:   pub,
		Clock:       cfg.Clock,
		Release:     rs,
		addr:        ln.Addr().String(),
		dir:         dir,
		ownDir:      ownDir,
		reqsChanged: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.serve(ln)
	return s, nil
}

// serve starts serving on ln; the caller holds s.life (or owns s alone).
func (s *Server) serve(ln net.Listener) {
	hs := &http.Server{
		Handler:           http.HandlerFunc(s.handle),
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          log.New(io.Discard, "", 0),
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln) // ends with ErrServerClosed from stopServing
	}()
	s.hs, s.serveDone = hs, done
}

// stopServing closes the listener and every connection, and waits for the
// serving goroutine; handlers still running end on their own (their
// connections are gone). The caller holds s.life.
func (s *Server) stopServing() {
	if s.hs == nil {
		return
	}
	_ = s.hs.Close()
	<-s.serveDone
	s.hs, s.serveDone = nil, nil
}

// handle is the middleware in front of the release server: it logs the
// request and applies the current fault.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	s.inflight.Add(1)
	f := s.fault
	switch {
	case f.Kind == FaultRefuse:
	case !f.matches(r):
		f = Fault{}
	case f.Times > 0:
		if s.fault.Times--; s.fault.Times == 0 {
			s.fault = Fault{}
		}
	}
	i, gen := len(s.reqs), s.reqsGen
	s.reqs = append(s.reqs, Request{
		Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"),
		Time: s.Clock.Now(), Fault: f.Kind,
	})
	s.notifyRequestsLocked()
	s.mu.Unlock()

	defer s.inflight.Done()
	record := func(status int, bytes int64) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.reqsGen == gen {
			s.reqs[i].Status, s.reqs[i].Bytes = status, bytes
		}
	}
	s.serveFault(&faultWriter{w: w, ctx: r.Context(), f: f, record: record}, r, f)
}

// SetFault makes f the fault for the requests that follow, replacing the
// previous one; SetFault(Fault{}) clears it. Switching to FaultRefuse
// closes the listener and every open connection; switching away from it
// listens again on the same port. SetFault panics on a Fault whose fields
// do not fit its kind (a test bug), and if the port cannot be listened on
// again (another process took it). After Close it does nothing.
func (s *Server) SetFault(f Fault) {
	if err := f.check(); err != nil {
		panic("updatertest: SetFault: " + err.Error())
	}
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	s.fault = f
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	if f.Kind == FaultRefuse {
		s.stopServing()
		return
	}
	if s.hs == nil {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			panic(fmt.Sprintf("updatertest: SetFault: listen again on %s after FaultRefuse: %v", s.addr, err))
		}
		s.serve(ln)
	}
}

// Close stops the Server: it closes the listener and every connection,
// ends held requests (FaultHang, FaultSlow), waits for every handler to
// return, closes the release server and, for a Server made with a nil tb,
// removes its data folder. It is idempotent.
func (s *Server) Close() {
	s.life.Lock()
	defer s.life.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.stopServing()
	_ = s.Release.Close(context.Background()) // never Served: returns at once
	s.inflight.Wait()
	if s.ownDir {
		_ = os.RemoveAll(s.dir)
	}
}

// Requests returns a copy of the log of requests received since the start
// or the last ResetRequests, oldest first. Requests still in flight show
// Status and Bytes as far as they got.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ResetRequests empties the request log; requests in flight are not
// logged again when they finish.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
	s.reqsGen++
	s.notifyRequestsLocked()
}

// WaitForRequests blocks until the log holds at least n requests (counted
// when they arrive, before they are answered), so a test can wait for a
// client to reach the server (for example before advancing the clock or
// closing while a request hangs). It returns ctx's error if ctx ends first.
func (s *Server) WaitForRequests(ctx context.Context, n int) error {
	return waitUntil(ctx, func() (bool, <-chan struct{}) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.reqs) >= n, s.reqsChanged
	})
}

func (s *Server) notifyRequestsLocked() {
	close(s.reqsChanged)
	s.reqsChanged = make(chan struct{})
}

// Publish publishes the package file at pkgPath (its app id read from its
// app.json) as its app's latest version, rolled out to percent (0-100) of
// clients (100: fully released; see release.Server.Publish), and returns
// the release. It stops the test on error.
func (s *Server) Publish(tb testing.TB, pkgPath string, percent int) *updater.Release {
	tb.Helper()
	p, err := mpk.OpenFile(pkgPath, mpk.Limits{})
	if err != nil {
		tb.Fatalf("updatertest: publish: %v", err)
	}
	appID := p.Manifest.AppID
	p.Close()
	f, err := os.Open(pkgPath)
	if err != nil {
		tb.Fatalf("updatertest: publish: %v", err)
	}
	defer f.Close()
	rel, err := s.Release.Publish(tb.Context(), appID, f, percent)
	if err != nil {
		tb.Fatalf("updatertest: %v", err)
	}
	return rel
}

// SetSettings changes the app's release settings (nil fields stay), as
// release.Server.SetSettings: the "minimum available version", the
// "preference for local version" and the rollout share of its latest
// version. It stops the test on error.
func (s *Server) SetSettings(tb testing.TB, appID string, set release.Settings) {
	tb.Helper()
	if _, err := s.Release.SetSettings(tb.Context(), appID, set); err != nil {
		tb.Fatalf("updatertest: %v", err)
	}
}

// Revert makes the earlier version v the app's latest again and revokes
// the versions above it (see release.Server.Revert). It stops the test on
// error.
func (s *Server) Revert(tb testing.TB, appID, v string) {
	tb.Helper()
	if _, err := s.Release.Revert(tb.Context(), appID, v); err != nil {
		tb.Fatalf("updatertest: %v", err)
	}
}
