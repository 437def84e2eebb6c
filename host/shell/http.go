package shell

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/samples/wx/abi"
)

//go:embed static
var static embed.FS

var indexPage = template.Must(template.ParseFS(static, "static/index.html"))

// tokenHeader carries the shell's token on every /api/ request. Page
// content cannot send it: it has no script (RATIONALE.md, host/shell).
const tokenHeader = "X-Minihost-Token"

// Content-Security-Policy of the shell's own page, of an app's page and of
// an asset: the page is a sandbox (no script, forms, popups or top
// navigation) that loads nothing but its own inline styles and its app's
// images (pageCSP ends with the img-src its request names); an asset
// opened on its own (an SVG) is a sandbox too.
const (
	shellCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	pageCSP  = "sandbox allow-same-origin; default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; img-src "
	assetCSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
)

// assetTypes are the assets a page may show, by extension: images only.
var assetTypes = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".svg": "image/svg+xml", ".ico": "image/x-icon",
}

const (
	// maxBodyBytes bounds a request body: an action names an app and a
	// handler, with one input's value.
	maxBodyBytes = 16 << 10
	// actionTimeout bounds an action other than open (a tap, an answer).
	actionTimeout = 30 * time.Second
	// openTimeout bounds a cold start, which may download a version.
	openTimeout = 5 * time.Minute
)

func (s *Shell) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveIndex)
	mux.Handle("GET /static/", http.FileServerFS(static))
	mux.HandleFunc("GET /page/{app}/{page}", s.servePage)
	mux.HandleFunc("GET /page/{app}/assets/{path...}", s.serveAsset)
	mux.HandleFunc("GET /api/state", s.api(s.serveState))
	mux.HandleFunc("GET /api/events", s.api(s.serveEvents))
	mux.HandleFunc("POST /api/open", s.api(s.action(openTimeout, func(ctx context.Context, r request) error { return s.open(ctx, r.App) })))
	mux.HandleFunc("POST /api/close", s.api(s.action(actionTimeout, s.closeApp)))
	mux.HandleFunc("POST /api/view", s.api(s.action(actionTimeout, s.view)))
	mux.HandleFunc("POST /api/modal", s.api(s.action(actionTimeout, s.answerModal)))
	mux.HandleFunc("POST /api/apply", s.api(s.action(openTimeout, s.apply)))
	mux.HandleFunc("POST /api/show", s.api(s.action(actionTimeout, func(ctx context.Context, r request) error { return s.setVisible(ctx, r.App, true) })))
	mux.HandleFunc("POST /api/hide", s.api(s.action(actionTimeout, func(ctx context.Context, r request) error { return s.setVisible(ctx, r.App, false) })))
	return mux
}

// ServeHTTP serves the shell, at the root or under a prefix stripped by
// http.StripPrefix (its page and script use relative URLs). It refuses a request whose Host is not a
// loopback name: a DNS-rebound name would otherwise be same-origin with
// the shell and could read its token. Safe for concurrent use.
func (s *Shell) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !loopbackHost(r.Host) {
		http.Error(w, fmt.Sprintf("shell: host %q is not loopback", r.Host), http.StatusMisdirectedRequest)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// loopbackHost reports whether the Host header names this machine:
// localhost or a loopback address, with any port.
func loopbackHost(h string) bool {
	name, _, err := net.SplitHostPort(h)
	if err != nil {
		name = strings.Trim(h, "[]")
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}

// api guards /api/: the token header, and no cross-site request.
func (s *Shell) api(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get(tokenHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			http.Error(w, "shell: missing or wrong "+tokenHeader, http.StatusForbidden)
			return
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
			http.Error(w, "shell: cross-site request ("+site+")", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

// request is the JSON body of an action.
type request struct {
	App     string `json:"app"`
	Page    string `json:"page,omitempty"`
	Handler string `json:"handler,omitempty"`
	Value   string `json:"value,omitempty"`
	ID      uint64 `json:"id,omitempty"`
	Confirm bool   `json:"confirm,omitempty"`
}

// action decodes a bounded JSON request and runs fn under a deadline.
func (s *Shell) action(limit time.Duration, fn func(ctx context.Context, r request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			http.Error(w, "shell: content type "+ct+", want application/json", http.StatusUnsupportedMediaType)
			return
		}
		var req request
		d := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		d.DisallowUnknownFields()
		if err := d.Decode(&req); err != nil {
			http.Error(w, "shell: decode request: "+err.Error(), http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), limit)
		defer cancel()
		if err := fn(ctx, req); err != nil {
			code := http.StatusBadRequest
			if errors.Is(err, errBusy) {
				code = http.StatusConflict
			}
			http.Error(w, err.Error(), code)
			return
		}
		writeJSON(w, map[string]bool{"ok": true})
	}
}

func (s *Shell) running(id string) (*host.App, error) {
	a := s.app(id)
	if a == nil {
		return nil, fmt.Errorf("%s is not running", id)
	}
	return a, nil
}

func (s *Shell) closeApp(ctx context.Context, r request) error {
	a, err := s.running(r.App)
	if err != nil {
		return err
	}
	return a.Close(ctx)
}

func (s *Shell) view(ctx context.Context, r request) error {
	a, err := s.running(r.App)
	if err != nil {
		return err
	}
	return a.View(ctx, abi.ViewEvent{Page: r.Page, Handler: r.Handler, Value: r.Value})
}

func (s *Shell) answerModal(_ context.Context, r request) error {
	if !s.answer(r.App, r.ID, r.Confirm) {
		return fmt.Errorf("answer dialog %d of %s: no such dialog (answered already?)", r.ID, r.App)
	}
	return nil
}

func (s *Shell) apply(ctx context.Context, r request) error {
	a, err := s.running(r.App)
	if err != nil {
		return err
	}
	return a.ApplyUpdate(ctx)
}

func (s *Shell) serveIndex(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	if err := indexPage.Execute(&b, map[string]string{"Token": s.token}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Security-Policy", shellCSP)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// servePage renders an app's page into its sandbox. Its images are
// assets/... relative to it, and nothing else loads.
func (s *Shell) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", pageCSP+"http://"+r.Host+mountPrefix(r)+"/page/"+url.PathEscape(r.PathValue("app"))+"/assets/")
	s.serveApp(w, r, "text/html; charset=utf-8", func(ctx context.Context, a *host.App) ([]byte, error) {
		var b bytes.Buffer
		err := a.RenderPage(ctx, &b, r.PathValue("page"))
		return b.Bytes(), err
	})
}

// mountPrefix is the path the shell is mounted under (http.StripPrefix),
// "" at the root: what the request's original path has before r.URL.Path.
func mountPrefix(r *http.Request) string {
	orig := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		orig = u.Path
	}
	return strings.TrimSuffix(orig, r.URL.Path)
}

// serveAsset serves an image of the running version's package, read-only.
func (s *Shell) serveAsset(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", assetCSP)
	name := r.PathValue("path")
	ctype, ok := assetTypes[strings.ToLower(path.Ext(name))]
	if !ok {
		http.Error(w, "shell: "+name+" is not an image asset ("+strings.Join(slices.Sorted(maps.Keys(assetTypes)), " ")+")", http.StatusNotFound)
		return
	}
	s.serveApp(w, r, ctype, func(ctx context.Context, a *host.App) ([]byte, error) { return a.Asset(ctx, name) })
}

// serveApp answers with what get reads from the running app the path
// names, as ctype, or 404 saying why.
func (s *Shell) serveApp(w http.ResponseWriter, r *http.Request, ctype string, get func(context.Context, *host.App) ([]byte, error)) {
	a := s.app(r.PathValue("app"))
	if a == nil {
		http.Error(w, "shell: app "+r.PathValue("app")+" is not running", http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), actionTimeout)
	defer cancel()
	b, err := get(ctx, a)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(b)
}

// appView is one app in /api/state.
type appView struct {
	ID       string         `json:"id"`
	Running  bool           `json:"running"`
	Opening  bool           `json:"opening"`
	Version  string         `json:"version,omitempty"`
	Ready    bool           `json:"updateReady"`
	Hidden   bool           `json:"hidden"` // in the background: onHide was the last of onShow and onHide
	Decision *host.Decision `json:"decision,omitempty"`
	Pages    []string       `json:"pages"`
	Dialogs  []*modal       `json:"dialogs"`
	Events   []host.Event   `json:"events"`
}

func (s *Shell) serveState(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var out []appView
	for id, st := range s.apps {
		v := appView{ID: id, Opening: st.opening, Ready: st.ready, Pages: slices.Clone(st.pages),
			Dialogs: slices.Clone(st.modals), Events: slices.Clone(st.events)}
		if st.app != nil {
			v.Running, v.Version, v.Decision, v.Hidden = true, st.app.Version(), st.app.Decision(), st.hidden
		}
		if !slices.Contains(v.Pages, "index") {
			v.Pages = append([]string{"index"}, v.Pages...)
		}
		out = append(out, v)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b appView) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, map[string]any{"apps": out})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// serveEvents streams every change as a server-sent event whose data is
// a host.Event (Event "shell" or "dialog" for the shell's own changes).
// The browser reads it with fetch, since EventSource cannot send the
// token header.
func (s *Shell) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch := make(chan []byte, streamBuffer)
	s.mu.Lock()
	if s.closed || len(s.subs) >= maxStreams {
		s.mu.Unlock()
		http.Error(w, fmt.Sprintf("shell: at most %d event streams", maxStreams), http.StatusServiceUnavailable)
		return
	}
	s.subs[ch] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer s.unsubscribe(ch)
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, ": minihost shell\n\n")
	for {
		if flusher != nil {
			flusher.Flush()
		}
		select {
		case msg, ok := <-ch:
			if !ok {
				return // fell behind: the browser reconnects
			}
			if _, err := fmt.Fprintf(w, "data: %s\n\n", msg); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *Shell) unsubscribe(ch chan []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[ch]; ok {
		delete(s.subs, ch)
		close(ch)
	}
}

// notify sends ev to every stream without blocking: a stream whose
// buffer is full is closed.
func (s *Shell) notify(ev host.Event) {
	msg, err := json.Marshal(ev)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- msg:
		default:
			delete(s.subs, ch)
			close(ch)
		}
	}
}
