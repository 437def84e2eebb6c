package updater

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
)

// Release server defaults, used for zero fields of ServerConfig.
const (
	// DefaultRevertLimit is how many earlier versions a revert may go back
	// to (WeChat's limit).
	DefaultRevertLimit = 5
	// DefaultShutdownTimeout bounds a graceful shutdown in Serve.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
)

// maxAdminBody bounds the JSON body of the settings and revert requests.
const maxAdminBody = 64 << 10

// Errors of the release server's admin operations, over HTTP (as the JSON
// "code" of an error response, which HTTPError.Unwrap maps back) and from
// the Go methods; test with errors.Is.
var (
	// ErrInvalidPackage: the upload is not a valid package (not a zip, no
	// or a bad app.json, an entry that is not wasm, an app id other than the
	// URL's). HTTP 400.
	ErrInvalidPackage = errors.New("invalid package")
	// ErrInvalidArgument: a malformed app id, version, setting or request
	// body. HTTP 400.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrRuleViolation: well formed, but against a release rule (a version
	// not newer than every one published, a minimum version above the fully
	// released one, a revert target out of reach). HTTP 409.
	ErrRuleViolation = errors.New("release rule broken")
	// ErrUnknownApp: no version of the app was ever published. HTTP 404.
	ErrUnknownApp = errors.New("unknown app")
	// ErrUnknownVersion: the app has no such version. HTTP 404.
	ErrUnknownVersion = errors.New("unknown version")
	// ErrUnauthorized: a missing or wrong admin token, or no admin token
	// configured at all. HTTP 401 or 403.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrServerClosed: the Server was closed. HTTP 503.
	ErrServerClosed = errors.New("release server closed")
)

// apiErrors maps sentinel errors to HTTP statuses and JSON codes, first
// match wins.
var apiErrors = []struct {
	err    error
	code   string
	status int
}{
	{ErrTooBig, "too_big", http.StatusRequestEntityTooLarge},
	{ErrInvalidPackage, "invalid_package", http.StatusBadRequest},
	{ErrInvalidArgument, "invalid_argument", http.StatusBadRequest},
	{ErrRuleViolation, "rule_violation", http.StatusConflict},
	{ErrUnknownApp, "unknown_app", http.StatusNotFound},
	{ErrUnknownVersion, "unknown_version", http.StatusNotFound},
	{ErrUnauthorized, "unauthorized", http.StatusUnauthorized},
	{ErrServerClosed, "server_closed", http.StatusServiceUnavailable},
}

// errorForCode returns the sentinel error for an API error code, or nil.
func errorForCode(code string) error {
	for _, e := range apiErrors {
		if e.code == code {
			return e.err
		}
	}
	return nil
}

// ServerConfig configures a Server. DataDir and Key are required.
type ServerConfig struct {
	// Fs holds the data folder; nil: the OS file system. Tests inject
	// afero.MemMapFs or a failing fs.
	Fs afero.Fs
	// DataDir is the data folder (created if missing).
	DataDir string
	// Key signs release documents; clients hold its public half.
	Key ed25519.PrivateKey
	// Tokens are the accepted admin bearer tokens (several, to rotate).
	// With none, the admin HTTP API answers 403; the Go methods still work.
	Tokens []string
	// MaxPackageSize bounds an upload; 0: DefaultMaxPackageSize.
	MaxPackageSize int64
	// DocumentLifetime is the validity of a signed release document; the
	// server re-signs once less than half of it remains. 0:
	// DefaultDocumentLifetime.
	DocumentLifetime time.Duration
	// RevertLimit is how many earlier versions a revert may reach; 0:
	// DefaultRevertLimit.
	RevertLimit int
	// Now is the clock for publish times and document issue and expiry;
	// nil: time.Now. A test kit drives it.
	Now func() time.Time
	// Logger receives admin actions and errors (never tokens); nil: none.
	Logger *slog.Logger
	// ShutdownTimeout bounds Serve's graceful shutdown; 0:
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

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
// Admin routes (Authorization: Bearer TOKEN; errors are JSON
// {"error": "...", "code": "..."}):
//
//	POST  /admin/apps/{app}/packages[?rollout=N]  body: the .mpk; 201 + Release
//	GET   /admin/apps/{app}/versions              AppStatus
//	PATCH /admin/apps/{app}/settings              body: Settings; AppStatus
//	POST  /admin/apps/{app}/revert                body: {"version": V}; AppStatus
//
// Changes to one app are serialized and each lands whole (package, then
// state, both atomic) or not at all. A signed document is kept in memory
// and served as is until less than half its lifetime remains; then the
// next request re-signs it. All methods are safe for concurrent use. The
// creator calls Close, which stops every Serve. Run one Server per data
// folder (Export may read it at the same time).
type Server struct {
	cfg         ServerConfig
	log         *slog.Logger
	tokenHashes [][sha256.Size]byte
	handler     http.Handler

	mu     sync.Mutex // guards apps, closed, https
	apps   map[string]*serverEntry
	closed bool
	https  map[*http.Server]struct{}
}

// serverEntry is one app in memory. mu serializes changes; state and doc
// are read without locks.
type serverEntry struct {
	mu    sync.Mutex
	state atomic.Pointer[serverApp]
	doc   atomic.Pointer[signedDoc]
}

// signedDoc is a release document signed once and served many times.
type signedDoc struct {
	body     []byte
	etag     string
	seq      uint64
	issuedAt time.Time
	renewAt  time.Time // re-sign from here on
}

// NewServer opens (or creates) the data folder, loads every app's state
// and removes leftovers of interrupted publishes. It fails, naming the
// file, on a damaged state file.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("new release server: no data folder")
	}
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("new release server: private key is %d bytes, want %d", len(cfg.Key), ed25519.PrivateKeySize)
	}
	if cfg.Fs == nil {
		cfg.Fs = afero.NewOsFs()
	}
	if cfg.MaxPackageSize <= 0 {
		cfg.MaxPackageSize = DefaultMaxPackageSize
	}
	if cfg.DocumentLifetime <= 0 {
		cfg.DocumentLifetime = DefaultDocumentLifetime
	}
	if cfg.RevertLimit <= 0 {
		cfg.RevertLimit = DefaultRevertLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	s := &Server{cfg: cfg, log: cfg.Logger, apps: map[string]*serverEntry{}, https: map[*http.Server]struct{}{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, t := range cfg.Tokens {
		if t == "" {
			return nil, errors.New("new release server: empty admin token")
		}
		s.tokenHashes = append(s.tokenHashes, sha256.Sum256([]byte(t)))
	}
	if err := s.load(); err != nil {
		return nil, fmt.Errorf("new release server: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// load reads every app's state and cleans the data folder.
func (s *Server) load() error {
	fsys, dir := s.cfg.Fs, s.cfg.DataDir
	if err := fsys.MkdirAll(filepath.Join(dir, "apps"), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "tmp")
	if err := fsys.RemoveAll(tmp); err != nil {
		return fmt.Errorf("clean %s: %w", tmp, err)
	}
	if err := fsys.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	ids, err := listServerApps(fsys, dir)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if safename.AppID(id) != nil {
			s.log.Warn("ignoring folder in data/apps", "name", id)
			continue
		}
		st, err := loadServerApp(fsys, dir, id)
		if err != nil {
			return err
		}
		s.cleanApp(id, st)
		if st != nil {
			e := &serverEntry{}
			e.state.Store(st)
			s.apps[id] = e
		}
	}
	return nil
}

// cleanApp removes packages and temporary files no state names: the
// leftovers of a publish interrupted before its state landed.
func (s *Server) cleanApp(appID string, st *serverApp) {
	known := map[string]bool{}
	if st != nil {
		for _, v := range st.Versions {
			known[v.Version+mpk.Ext] = true
		}
	}
	for _, dir := range []string{filepath.Join(s.cfg.DataDir, "apps", appID), filepath.Join(s.cfg.DataDir, "apps", appID, "packages")} {
		entries, err := afero.ReadDir(s.cfg.Fs, dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			stray := strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-") ||
				filepath.Base(dir) == "packages" && !e.IsDir() && !known[name]
			if !stray {
				continue
			}
			p := filepath.Join(dir, name)
			if err := s.cfg.Fs.Remove(p); err != nil {
				s.log.Warn("remove leftover file", "path", p, "err", err)
			} else {
				s.log.Info("removed leftover file", "path", p)
			}
		}
	}
	if st == nil {
		return
	}
	for _, v := range st.Versions {
		p := packageFile(s.cfg.DataDir, appID, v.Version)
		if fi, err := s.cfg.Fs.Stat(p); err != nil || fi.Size() != v.Size {
			s.log.Error("package missing or damaged in data folder", "app", appID, "version", v.Version, "path", p)
		}
	}
}

// PublicKey returns the public key clients need to verify documents.
func (s *Server) PublicKey() ed25519.PublicKey {
	return s.cfg.Key.Public().(ed25519.PublicKey)
}

// Handler returns the server's HTTP handler (public and admin routes), for
// Serve or an httptest.Server. It stays valid until Close.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apps/{app}/release.json", s.handleDocument)
	mux.HandleFunc("GET /apps/{app}/packages/{file}", s.handlePackage)
	mux.HandleFunc("POST /admin/apps/{app}/packages", s.admin(s.handlePublish))
	mux.HandleFunc("GET /admin/apps/{app}/versions", s.admin(s.handleVersions))
	mux.HandleFunc("PATCH /admin/apps/{app}/settings", s.admin(s.handleSettings))
	mux.HandleFunc("POST /admin/apps/{app}/revert", s.admin(s.handleRevert))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// Serve serves the handler on ln until ctx ends or Close is called. When
// ctx ends it shuts down gracefully (in-flight requests finish, for at most
// ShutdownTimeout) and returns nil; after Close it returns nil too. It
// closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.https[hs] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.https, hs)
		s.mu.Unlock()
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

// Close stops every Serve at once (open connections are closed) and makes
// later admin calls and requests fail with ErrServerClosed. It is
// idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var err error
	for hs := range s.https {
		err = errors.Join(err, hs.Close())
	}
	return err
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
		return nil, ErrServerClosed
	}
	e := s.apps[appID]
	if e == nil && create {
		e = &serverEntry{}
		s.apps[appID] = e
	}
	if e == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownApp, appID)
	}
	return e, nil
}

// appState returns the app's current state or ErrUnknownApp.
func (s *Server) appState(appID string) (*serverEntry, *serverApp, error) {
	e, err := s.entry(appID, false)
	if err != nil {
		return nil, nil, err
	}
	st := e.state.Load()
	if st == nil {
		return nil, nil, fmt.Errorf("%w %q", ErrUnknownApp, appID)
	}
	return e, st, nil
}

// document returns the app's signed document, re-signing when it is
// missing, out of date or past half its lifetime.
func (s *Server) document(appID string) (*signedDoc, error) {
	e, st, err := s.appState(appID)
	if err != nil {
		return nil, err
	}
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
	body, err := SignDocument(doc, s.cfg.Key)
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

// DocumentBytes returns the signed release document the server serves for
// appID now (the envelope), re-signing it if due.
func (s *Server) DocumentBytes(appID string) ([]byte, error) {
	d, err := s.document(appID)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(d.body), nil
}

func (s *Server) handleDocument(w http.ResponseWriter, r *http.Request) {
	if s.isClosed() {
		s.writeError(w, r, ErrServerClosed)
		return
	}
	d, err := s.document(r.PathValue("app"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Caches must revalidate: a stale copy may be expired or replaced.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", d.etag)
	http.ServeContent(w, r, "", d.issuedAt, bytes.NewReader(d.body))
}

func (s *Server) handlePackage(w http.ResponseWriter, r *http.Request) {
	if s.isClosed() {
		s.writeError(w, r, ErrServerClosed)
		return
	}
	appID := r.PathValue("app")
	_, st, err := s.appState(appID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vs, ok := strings.CutSuffix(r.PathValue("file"), mpk.Ext)
	var sv *serverVersion
	if ok {
		for i := range st.Versions {
			if st.Versions[i].Version == vs {
				sv = &st.Versions[i]
			}
		}
	}
	if sv == nil || sv.Revoked {
		s.writeError(w, r, fmt.Errorf("%w: %s has no package %q", ErrUnknownVersion, appID, r.PathValue("file")))
		return
	}
	f, err := s.cfg.Fs.Open(packageFile(s.cfg.DataDir, appID, sv.Version))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("open package: %w", err))
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("ETag", `"`+sv.SHA256+`"`)
	// A version's package never changes.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", sv.PublishedAt, f)
}

// admin wraps an admin handler with the bearer token check and a log line
// per request (method, path, status; never headers).
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.log.Info("admin request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"remote", r.RemoteAddr, "duration", time.Since(start))
		}()
		if s.isClosed() {
			s.writeError(rec, r, ErrServerClosed)
			return
		}
		if len(s.tokenHashes) == 0 {
			writeJSONError(rec, http.StatusForbidden, "unauthorized", "admin API disabled: the server has no admin token (set MINIHOST_TOKEN or --token)")
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.tokenOK(tok) {
			rec.Header().Set("WWW-Authenticate", `Bearer realm="minihost admin"`)
			msg := "wrong admin token"
			if !ok {
				msg = "missing admin token: send Authorization: Bearer TOKEN"
			}
			writeJSONError(rec, http.StatusUnauthorized, "unauthorized", msg)
			return
		}
		h(rec, r)
	}
}

// tokenOK compares tok with every configured token in constant time (over
// sha256 digests, so lengths do not leak either).
func (s *Server) tokenOK(tok string) bool {
	got := sha256.Sum256([]byte(tok))
	ok := 0
	for _, want := range s.tokenHashes {
		ok |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return ok == 1
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) handlePublish(w http.ResponseWriter, r *http.Request) {
	percent := 100
	if q := r.URL.Query().Get("rollout"); q != "" {
		p, err := strconv.Atoi(q)
		if err != nil {
			s.writeError(w, r, fmt.Errorf("%w: rollout %q is not a whole number", ErrInvalidArgument, q))
			return
		}
		percent = p
	}
	if r.ContentLength > s.cfg.MaxPackageSize {
		s.writeError(w, r, fmt.Errorf("%w: package is %d bytes, limit %d", ErrTooBig, r.ContentLength, s.cfg.MaxPackageSize))
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxPackageSize)
	rel, err := s.publish(r.Context(), r.PathValue("app"), body, percent)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rel)
}

func (s *Server) handleVersions(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.PathValue("app"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	var set Settings
	if err := readJSON(w, r, &set); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.adminResult(w, r, s.SetSettings(r.Context(), r.PathValue("app"), set))
}

func (s *Server) handleRevert(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Version string `json:"version"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.adminResult(w, r, s.Revert(r.Context(), r.PathValue("app"), req.Version))
}

// adminResult answers a change with the app's new status.
func (s *Server) adminResult(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.handleVersions(w, r)
}

// readJSON decodes a bounded JSON body strictly (unknown fields are
// errors, so a typo in a setting's name is not silently ignored).
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: request body over %d bytes", ErrTooBig, maxAdminBody)
		}
		return fmt.Errorf("%w: request body: %v", ErrInvalidArgument, err)
	}
	return nil
}

// writeError answers err as JSON with the status of its sentinel; other
// errors are 500s, logged, with a generic message.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	for _, e := range apiErrors {
		if errors.Is(err, e.err) {
			writeJSONError(w, e.status, e.code, err.Error())
			return
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		writeJSONError(w, http.StatusNotFound, "not_found", "not found")
		return
	}
	s.log.Error("release server request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSONError(w, http.StatusInternalServerError, "internal", "internal server error; see the server log")
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"error": msg, "code": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encode response","code":"internal"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
