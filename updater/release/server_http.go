package release

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
)

// The HTTP side of the Server: routes, the public handlers, the admin
// middleware and handlers, and JSON answers.

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apps/{app}/release.json", s.handleDocument)
	mux.HandleFunc("GET /apps/{app}/packages/{file}", s.handlePackage)
	mux.HandleFunc("GET /apps/{app}/patches/{to}/{file}", s.handlePatch)
	mux.HandleFunc("POST /admin/apps/{app}/packages", s.admin(s.handlePublish))
	mux.HandleFunc("GET /admin/apps/{app}/versions", s.admin(s.handleVersions))
	mux.HandleFunc("PATCH /admin/apps/{app}/settings", s.admin(s.handleSettings))
	mux.HandleFunc("POST /admin/apps/{app}/revert", s.admin(s.handleRevert))
	newDashboard(s).routes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (s *Server) handleDocument(w http.ResponseWriter, r *http.Request) {
	if s.isClosed() {
		s.writeError(w, r, errServerClosed)
		return
	}
	appID := r.PathValue("app")
	s.countFetch(r, appID)
	if r.URL.Query().Has("wait") {
		held, err := s.holdDocument(w, r, appID)
		if err != nil {
			s.writeError(w, r, err)
		}
		if held || err != nil {
			return
		}
	}
	d, err := s.document(appID)
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
		s.writeError(w, r, errServerClosed)
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
		s.writeError(w, r, fmt.Errorf("%w: %s has no package %q", updater.ErrUnknownVersion, appID, r.PathValue("file")))
		return
	}
	s.serveImmutable(w, r, packageFile(s.cfg.DataDir, appID, sv.Version), "application/zip", sv.SHA256, sv.PublishedAt, appID, sv.Version, countDownload)
}

// serveImmutable serves a file that never changes once published (a
// package or patch, named by its sha256): Range, ETag, cached for a year.
// A download of it is counted (under appID, ver, kind) once the file is
// found, before the answer goes: a client that saw the answer sees the
// count.
func (s *Server) serveImmutable(w http.ResponseWriter, r *http.Request, path, contentType, sum string, published time.Time, appID, ver string, kind adoptionKind) {
	f, err := s.cfg.Fs.Open(path)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("open %s: %w", filepath.Base(path), err))
		return
	}
	defer f.Close()
	s.countDownload(r, appID, ver, kind)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", `"`+sum+`"`)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", published, f)
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
			s.writeError(rec, r, errServerClosed)
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
		s.writeError(w, r, fmt.Errorf("%w: package is %d bytes, limit %d", mpk.ErrTooLarge, r.ContentLength, s.cfg.MaxPackageSize))
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxPackageSize)
	rel, err := s.Publish(r.Context(), r.PathValue("app"), body, percent)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rel)
}

func (s *Server) handleVersions(w http.ResponseWriter, r *http.Request) {
	st, err := s.Status(r.Context(), r.PathValue("app"))
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
	s.adminResult(w, r, s.setSettings(r.Context(), r.PathValue("app"), set))
}

func (s *Server) handleRevert(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Version string `json:"version"`
	}
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.adminResult(w, r, s.revert(r.Context(), r.PathValue("app"), req.Version))
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
			return fmt.Errorf("%w: request body over %d bytes", mpk.ErrTooLarge, maxAdminBody)
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
