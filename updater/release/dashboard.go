package release

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The dashboard: pages for operators under /dashboard/ on the release
// server, behind the admin tokens. Its actions call the Server's own
// methods (those of SetSettings and Revert), so they keep the admin API's rules.
//
// Login posts a token once; the answer sets a random session id in an
// HttpOnly, SameSite=Strict cookie (Secure over TLS), held in memory with
// an expiry and a bound on their number. GETs never change state. Every
// POST must pass net/http's CrossOriginProtection (Sec-Fetch-Site, else
// Origin against Host) and carry the session's CSRF token. A strict CSP
// allows only this server's own embedded script and style.

//go:embed dashboard_assets
var dashAssets embed.FS

const (
	dashCookie      = "minihost_session"
	dashSessionTTL  = 12 * time.Hour
	dashMaxSessions = 64 // the oldest is dropped past it
	// Failed logins are limited to dashMaxFailures a dashFailureWindow,
	// server-wide: New refuses a token under minTokenLen characters, so
	// this only stops flooding.
	dashMaxFailures   = 10
	dashFailureWindow = time.Minute
	dashCSP           = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

const dashDisabled = "dashboard disabled: the server has no admin token (set MINIHOST_TOKEN or --token)"

type dashSession struct {
	csrf    string
	expires time.Time
	n       uint64 // creation order: the lowest is dropped first
}

type dashboard struct {
	s    *Server
	tmpl *template.Template
	cop  *http.CrossOriginProtection

	mu       sync.Mutex // guards the fields below
	sessions map[string]dashSession
	made     uint64 // sessions made so far
	failures int
	failFrom time.Time
}

func newDashboard(s *Server) *dashboard {
	tmpl := template.Must(template.New("").Funcs(dashFuncs).ParseFS(dashAssets, "dashboard_assets/*.html"))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dashHeaders(w)
		http.Error(w, "refused: cross-site request", http.StatusForbidden)
	}))
	return &dashboard{s: s, tmpl: tmpl, cop: cop, sessions: map[string]dashSession{}}
}

func (d *dashboard) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(dashAssets, "dashboard_assets")
	files := http.FileServerFS(static)
	mux.HandleFunc("GET /dashboard/assets/{file}", func(w http.ResponseWriter, r *http.Request) {
		dashHeaders(w)
		if f := r.PathValue("file"); !strings.HasSuffix(f, ".js") && !strings.HasSuffix(f, ".css") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.StripPrefix("/dashboard/assets/", files).ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /dashboard/{$}", d.page(d.handleApps))
	mux.HandleFunc("GET /dashboard/apps/{app}", d.page(d.handleApp))
	mux.Handle("POST /dashboard/login", d.cop.Handler(http.HandlerFunc(d.handleLogin)))
	mux.Handle("POST /dashboard/logout", d.cop.Handler(d.action(d.handleLogout)))
	mux.Handle("POST /dashboard/apps/{app}/rollout", d.cop.Handler(d.action(d.handleRollout)))
	mux.Handle("POST /dashboard/apps/{app}/settings", d.cop.Handler(d.action(d.handleSettings)))
	mux.Handle("POST /dashboard/apps/{app}/revert", d.cop.Handler(d.action(d.handleRevert)))
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		dashHeaders(w)
		http.Redirect(w, r, "/dashboard/", http.StatusMovedPermanently)
	})
	// Any other path or method under /dashboard/ (the server's catch-all
	// would answer it without the dashboard's headers).
	mux.HandleFunc("/dashboard/", func(w http.ResponseWriter, r *http.Request) {
		dashHeaders(w)
		http.Error(w, "no such dashboard page: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	})
}

// dashHeaders sets the headers of every dashboard answer.
func dashHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", dashCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// session returns the request's live session and its id.
func (d *dashboard) session(r *http.Request) (string, dashSession, bool) {
	c, err := r.Cookie(dashCookie)
	if err != nil {
		return "", dashSession{}, false
	}
	now := d.s.cfg.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	ss, ok := d.sessions[c.Value]
	if ok && !now.Before(ss.expires) {
		delete(d.sessions, c.Value)
		ok = false
	}
	return c.Value, ss, ok
}

// newSession makes a session, dropping expired ones and, past
// dashMaxSessions, the oldest.
func (d *dashboard) newSession() (string, dashSession) {
	id, ss := randomToken(), dashSession{csrf: randomToken(), expires: d.s.cfg.Now().Add(dashSessionTTL)}
	now := d.s.cfg.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, v := range d.sessions {
		if !now.Before(v.expires) {
			delete(d.sessions, k)
		}
	}
	for len(d.sessions) >= dashMaxSessions {
		oldest := ""
		for k, v := range d.sessions {
			if oldest == "" || v.n < d.sessions[oldest].n {
				oldest = k
			}
		}
		delete(d.sessions, oldest)
	}
	d.made++
	ss.n = d.made
	d.sessions[id] = ss
	return id, ss
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// takeLoginTry takes one of the window's dashMaxFailures tries, before
// the token is read: counted only after the check, concurrent logins (or
// ones slow to send their body) would all pass it first. A right token
// gives its try back (loginOK).
func (d *dashboard) takeLoginTry() bool {
	now := d.s.cfg.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if now.Sub(d.failFrom) >= dashFailureWindow || now.Before(d.failFrom) {
		d.failures, d.failFrom = 0, now
	}
	if d.failures >= dashMaxFailures {
		return false
	}
	d.failures++
	return true
}

// loginOK gives back the try of a login with a right token.
func (d *dashboard) loginOK() {
	d.mu.Lock()
	d.failures = max(0, d.failures-1)
	d.mu.Unlock()
}

func (d *dashboard) setCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: dashCookie, Value: id, Path: "/dashboard/", MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

func (d *dashboard) handleLogin(w http.ResponseWriter, r *http.Request) {
	dashHeaders(w)
	if len(d.s.tokenHashes) == 0 {
		d.render(w, http.StatusForbidden, "login", dashView{Error: dashDisabled})
		return
	}
	if !d.takeLoginTry() {
		d.render(w, http.StatusTooManyRequests, "login", dashView{Error: "too many wrong tokens; wait a minute"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
	if !d.s.tokenOK(r.PostFormValue("token")) {
		d.s.log.Warn("dashboard login refused: wrong token")
		d.render(w, http.StatusUnauthorized, "login", dashView{Error: "wrong admin token"})
		return
	}
	d.loginOK()
	id, _ := d.newSession()
	d.setCookie(w, r, id, int(dashSessionTTL/time.Second))
	d.s.log.Info("dashboard login")
	http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
}

func (d *dashboard) handleLogout(w http.ResponseWriter, r *http.Request, id string) {
	d.mu.Lock()
	delete(d.sessions, id)
	d.mu.Unlock()
	d.setCookie(w, r, "", -1)
	http.Redirect(w, r, "/dashboard/", http.StatusSeeOther)
}

// open runs what every page and action checks first: the headers, a
// closed server, a live session. Without one it answers the login page
// with 401 (and msg) and ok is false.
func (d *dashboard) open(w http.ResponseWriter, r *http.Request, msg string) (id string, ss dashSession, ok bool) {
	dashHeaders(w)
	if d.s.isClosed() {
		http.Error(w, errServerClosed.Error(), http.StatusServiceUnavailable)
		return "", ss, false
	}
	if len(d.s.tokenHashes) == 0 {
		d.render(w, http.StatusForbidden, "login", dashView{Error: dashDisabled})
		return "", ss, false
	}
	if id, ss, ok = d.session(r); !ok {
		d.render(w, http.StatusUnauthorized, "login", dashView{Error: msg})
	}
	return id, ss, ok
}

// page wraps a GET handler (open's checks).
func (d *dashboard) page(h func(w http.ResponseWriter, r *http.Request, v dashView)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ss, ok := d.open(w, r, ""); ok {
			h(w, r, dashView{CSRF: ss.csrf})
		}
	}
}

// action wraps a POST handler: open's checks and the session's CSRF token
// (the cross-origin check runs before, in routes).
func (d *dashboard) action(h func(w http.ResponseWriter, r *http.Request, id string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ss, ok := d.open(w, r, "log in first")
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxAdminBody)
		if got := r.PostFormValue("csrf"); subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) != 1 {
			http.Error(w, "refused: missing or wrong CSRF token", http.StatusForbidden)
			return
		}
		d.s.log.Info("dashboard action", "path", r.URL.Path)
		h(w, r, id)
	})
}

// appIDs returns the ids of the apps with a publish behind them, sorted.
func (s *Server) appIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, e := range s.apps {
		if e.state.Load() != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}
