package release

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/sign"
)

// Release server defaults, used by New for zero fields of Config (whose
// field docs give each value).
const (
	// defaultRevertLimit is how many earlier versions a revert may go back
	// to (WeChat's limit).
	defaultRevertLimit = 5
	// defaultShutdownTimeout bounds a graceful shutdown in Serve.
	defaultShutdownTimeout = 10 * time.Second
	// defaultMaxWait bounds how long a document request with ?wait= is
	// held for a new sequence. Each hold is one request where a poll
	// would be one per check, so holds are long; a newline every
	// heartbeat keeps proxies from cutting them as idle.
	defaultMaxWait = 12 * time.Hour // updater.PolicyConfig.PushWait's default
	// defaultMaxWaiters bounds the document requests held at once (each
	// costs a goroutine and a connection, some 20 KiB); past it a request
	// with ?wait= is answered at once, and its client polls.
	defaultMaxWaiters = 10000
)

// readHeaderTimeout bounds reading a request's headers in Serve.
const readHeaderTimeout = 10 * time.Second

// maxAdminBody bounds the JSON body of the settings and revert requests.
const maxAdminBody = 64 << 10

// Config configures a Server; New copies it and fills its zero fields with
// the defaults once (later changes to the caller's copy do nothing).
// DataDir, Key and Validator are required.
type Config struct {
	// Fs holds the data folder; nil: the OS file system. Tests inject
	// afero.MemMapFs or a failing fs.
	Fs afero.Fs
	// DataDir is the data folder (created if missing).
	DataDir string
	// Key signs release documents; clients hold its public half.
	Key ed25519.PrivateKey
	// Validator checks the code of every upload after the server's own
	// checks and before it is published. Required: a nil Validator is an
	// error, never "no check". NoValidation() skips it explicitly.
	Validator Validator
	// Tokens are the accepted admin bearer tokens (several, to rotate),
	// each at least 16 characters: New refuses a shorter one, since the
	// login limits only slow a guess down (openssl rand -hex 16 makes a
	// good one). With none, the admin HTTP API answers 403; the Go methods
	// still work.
	Tokens []string
	// MaxPackageSize bounds an upload; 0: mpk.Limits' default, 64 MiB.
	MaxPackageSize int64
	// DocumentLifetime is the validity of a signed release document; the
	// server re-signs once less than half of it remains. 0:
	// updater.DefaultDocumentLifetime.
	DocumentLifetime time.Duration
	// RevertLimit is how many earlier versions a revert may reach; 0: 5
	// (WeChat's limit).
	RevertLimit int
	// Now is the clock for publish times and document issue and expiry;
	// nil: time.Now. A test kit drives it.
	Now func() time.Time
	// Logger receives admin actions and errors (never tokens); nil: none.
	Logger *slog.Logger
	// ShutdownTimeout bounds Serve's graceful shutdown; 0: 10s.
	ShutdownTimeout time.Duration
	// MaxWait bounds how long a document request with ?wait= is held
	// (the push path, see Server); 0: 12h, the client's default push
	// wait; negative: requests are never held, and clients fall back to
	// polling.
	MaxWait time.Duration
	// MaxWaiters bounds the requests held at once; 0: 10,000 (each costs
	// a goroutine and a connection, some 20 KiB).
	MaxWaiters int
	// PatchBases is how many earlier versions a publish builds delta
	// patches from; 0: 3, so clients a few releases behind still get a
	// patch; negative: none.
	PatchBases int
}

// minTokenLen is the shortest admin token New accepts: a guess at 16
// random characters is out of reach of any rate a login limit lets by.
const minTokenLen = 16

// Server is a release server: it stores published packages and app
// settings in its data folder and serves each app's signed release
// document and packages over HTTP, plus an admin API (publish, settings,
// revert, versions) behind bearer tokens.
//
// Public routes (no auth, cacheable by CDNs, the same paths Export writes):
//
//	GET  /apps/{app}/release.json              signed release document
//	GET  /apps/{app}/packages/{version}.mpk    a package (Range, ETag)
//
// The push path: GET release.json?after=SEQ&wait=SECONDS is held until the
// app's sequence passes SEQ, SECONDS (at most MaxWait) pass, or the server
// closes, and then answered with the current document. Such an answer
// carries the header Minihost-Wait, so a client can tell a server that
// holds from a static export, which answers at once without it.
//
// Admin routes (Authorization: Bearer TOKEN; errors are JSON
// {"error": "...", "code": "..."}):
//
//	POST  /admin/apps/{app}/packages[?rollout=N]  body: the .mpk; 201 + Release
//	GET   /admin/apps/{app}/versions              AppStatus
//	PATCH /admin/apps/{app}/settings              body: Settings; AppStatus
//	POST  /admin/apps/{app}/revert                body: {"version": V}; AppStatus
//
// The dashboard (/dashboard/, same tokens) is in dashboard.go, adoption
// counts (fetches by running version, downloads) in adoption.go.
//
// Changes to one app are serialized and each lands whole (package, then
// state, both atomic) or not at all. A signed document is kept in memory
// and served as is until less than half its lifetime remains; then the
// next request re-signs it. All methods are safe for concurrent use. The
// creator calls Close, which stops every Serve. Run one Server per data
// folder (Export may read it at the same time).
type Server struct {
	cfg         Config
	log         *slog.Logger
	tokenHashes [][sha256.Size]byte
	handler     http.Handler

	mu      sync.Mutex // guards apps, closed, https
	apps    map[string]*serverEntry
	closed  bool
	https   map[*http.Server]struct{}
	serving sync.WaitGroup // Serve calls running; Add only under mu while !closed

	done    chan struct{} // closed by Close: held document requests end
	waiters atomic.Int64  // document requests held now

	adoption *adoption // counts per version (adoption.go)
}

// serverEntry is one app in memory. mu serializes changes; state and doc
// are read without locks.
type serverEntry struct {
	mu    sync.Mutex
	state atomic.Pointer[serverApp]
	doc   atomic.Pointer[signedDoc]
	// changed is closed and replaced each time state is stored: held
	// document requests wait on it.
	changed atomic.Pointer[chan struct{}]
}

func newServerEntry(st *serverApp) *serverEntry {
	e := &serverEntry{}
	ch := make(chan struct{})
	e.changed.Store(&ch)
	if st != nil {
		e.state.Store(st)
	}
	return e
}

// setState stores st and wakes the requests waiting for a change.
func (e *serverEntry) setState(st *serverApp) {
	e.state.Store(st)
	ch := make(chan struct{})
	close(*e.changed.Swap(&ch))
}

// signedDoc is a release document signed once and served many times.
type signedDoc struct {
	body     []byte
	etag     string
	seq      uint64
	issuedAt time.Time
	renewAt  time.Time // re-sign from here on
}

// New checks cfg, fills in its defaults, opens (or creates) the data
// folder, loads every app's state and removes leftovers of interrupted
// publishes. It fails, naming the file, on a damaged state file, and
// without a Validator. The caller owns the Server and calls Close.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("new release server: no data folder")
	}
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("new release server: private key is %d bytes, want %d", len(cfg.Key), ed25519.PrivateKeySize)
	}
	if cfg.Validator == nil {
		return nil, errors.New("new release server: no Config.Validator to check uploads (release.NoValidation() skips the check explicitly)")
	}
	if cfg.Fs == nil {
		cfg.Fs = afero.NewOsFs()
	}
	if cfg.MaxPackageSize <= 0 {
		cfg.MaxPackageSize = mpk.Limits{}.WithDefaults().MaxPackageSize
	}
	if cfg.DocumentLifetime <= 0 {
		cfg.DocumentLifetime = updater.DefaultDocumentLifetime
	}
	if cfg.RevertLimit <= 0 {
		cfg.RevertLimit = defaultRevertLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = defaultShutdownTimeout
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = defaultMaxWait
	}
	if cfg.MaxWaiters <= 0 {
		cfg.MaxWaiters = defaultMaxWaiters
	}
	if cfg.PatchBases == 0 {
		cfg.PatchBases = defaultPatchBases
	}
	s := &Server{cfg: cfg, log: cfg.Logger, apps: map[string]*serverEntry{}, https: map[*http.Server]struct{}{}, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i, t := range cfg.Tokens {
		if len(t) < minTokenLen {
			return nil, fmt.Errorf("new release server: admin token %d of %d is %d characters, want at least %d (openssl rand -hex 16 makes one)", i+1, len(cfg.Tokens), len(t), minTokenLen)
		}
		s.tokenHashes = append(s.tokenHashes, sha256.Sum256([]byte(t)))
	}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("new release server: %w", err)
	}
	if err := s.startAdoption(); err != nil {
		return nil, fmt.Errorf("new release server: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// PublicKey returns the public key clients need to verify documents.
func (s *Server) PublicKey() ed25519.PublicKey {
	return s.cfg.Key.Public().(ed25519.PublicKey)
}

// Handler returns the server's HTTP handler (public and admin routes), for
// Serve or an httptest.Server. It stays valid until Close.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve serves the handler on ln until ctx ends or Close is called. When
// ctx ends it shuts down gracefully (in-flight requests finish, for at most
// ShutdownTimeout) and returns nil; after Close it returns nil too. It
// closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// Held document requests end when this Serve starts shutting down, so
	// the graceful shutdown does not wait out their MaxWait.
	shuttingDown := make(chan struct{})
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), shutdownKey{}, shuttingDown)
		},
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return errServerClosed
	}
	s.https[hs] = struct{}{}
	s.serving.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.https, hs)
		s.mu.Unlock()
		s.serving.Done()
	}()

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve releases: %w", err)
	case <-ctx.Done():
		close(shuttingDown)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
		defer cancel()
		err := hs.Shutdown(sctx)
		<-errc
		if err != nil {
			hs.Close()
			return fmt.Errorf("shut down release server: %w", err)
		}
		return nil
	}
}

// Close stops every Serve at once (open connections are closed, in-flight
// requests end) and makes later admin calls, requests and Serve calls fail
// with http.ErrServerClosed (HTTP 503). It then waits for the Serve calls
// and its own goroutine to return, until ctx ends (ctx's error, the Server
// closed all the same), and writes the adoption counts a last time. It is idempotent
// and safe to call from any goroutine.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	var err error
	for hs := range s.https {
		err = errors.Join(err, hs.Close())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.serving.Wait()
		<-s.adoption.stopped
		close(done)
	}()
	select {
	case <-done:
		return errors.Join(err, s.flushAdoption())
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("close release server: %w", context.Cause(ctx)))
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// entry returns the app's entry, making one if create is set.
func (s *Server) entry(appID string, create bool) (*serverEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errServerClosed
	}
	e := s.apps[appID]
	if e == nil && create {
		e = newServerEntry(nil)
		s.apps[appID] = e
	}
	if e == nil {
		return nil, fmt.Errorf("%w %q", updater.ErrUnknownApp, appID)
	}
	return e, nil
}

// appState returns the app's current state or updater.ErrUnknownApp.
func (s *Server) appState(appID string) (*serverEntry, *serverApp, error) {
	e, err := s.entry(appID, false)
	if err != nil {
		return nil, nil, err
	}
	st := e.state.Load()
	if st == nil {
		return nil, nil, fmt.Errorf("%w %q", updater.ErrUnknownApp, appID)
	}
	return e, st, nil
}

// document returns the app's signed document, re-signing when it is
// missing, out of date or past half its lifetime.
func (s *Server) document(appID string) (*signedDoc, error) {
	e, _, err := s.appState(appID)
	if err != nil {
		return nil, err
	}
	return s.entryDocument(e)
}

// entryDocument is document for an entry in hand, also after Close.
func (s *Server) entryDocument(e *serverEntry) (*signedDoc, error) {
	st := e.state.Load()
	now := s.cfg.Now()
	if d := e.doc.Load(); d != nil && d.seq == st.Sequence && now.Before(d.renewAt) && !now.Before(d.issuedAt) {
		return d, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st = e.state.Load()
	if d := e.doc.Load(); d != nil && d.seq == st.Sequence && now.Before(d.renewAt) && !now.Before(d.issuedAt) {
		return d, nil
	}
	return s.sign(e, st, now)
}

// sign signs st's document at now and caches it; the caller holds e.mu.
func (s *Server) sign(e *serverEntry, st *serverApp, now time.Time) (*signedDoc, error) {
	doc := st.document(now, s.cfg.DocumentLifetime)
	body, err := sign.Document(doc, s.cfg.Key)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	d := &signedDoc{
		body:     body,
		etag:     `"` + hex.EncodeToString(sum[:16]) + `"`,
		seq:      st.Sequence,
		issuedAt: doc.IssuedAt,
		renewAt:  doc.IssuedAt.Add(s.cfg.DocumentLifetime / 2),
	}
	e.doc.Store(d)
	return d, nil
}
