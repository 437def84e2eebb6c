package shell_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/hosttest"
	"github.com/minihost/minihost/host/shell"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
)

// newShell starts a shell on a loopback test server.
func newShell(t *testing.T, cfg shell.Config) (*shell.Shell, *httptest.Server) {
	t.Helper()
	if cfg.Host.Home == "" {
		cfg.Host.Home = t.TempDir()
	}
	cfg.Host.Runtime = runtime.Config{CacheDir: runtimetest.CacheDir(t)}
	sh, err := shell.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sh)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		sh.Close(context.Background())
	})
	return sh, srv
}

// token reads the shell's token from its page, as the shell's script does.
func token(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	m := regexp.MustCompile(`name="minihost-token" content="([0-9a-f]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no token in the shell's page:\n%s", b)
	}
	return string(m[1])
}

// TestShellRefuses checks the rules that keep page content and other
// sites from acting: a loopback Host, the token header on every /api/
// request, same-origin fetches only, JSON bodies; and the headers that
// make a page a sandbox.
func TestShellRefuses(t *testing.T) {
	_, srv := newShell(t, shell.Config{Apps: []string{"demo.counter"}})
	tok := token(t, srv)
	tests := []struct {
		name    string
		method  string
		path    string
		header  map[string]string
		body    string
		want    int
		wantCSP string // a part of Content-Security-Policy, if set
	}{
		{"shell page", "GET", "/", nil, "", 200, "script-src 'self'"},
		{"rebound host", "GET", "/", map[string]string{"Host": "evil.example:80"}, "", http.StatusMisdirectedRequest, ""},
		{"state without token", "GET", "/api/state", nil, "", 403, ""},
		{"state with token", "GET", "/api/state", map[string]string{"X-Minihost-Token": tok}, "", 200, ""},
		{"action without token", "POST", "/api/open", map[string]string{"Content-Type": "application/json"}, `{"app":"demo.counter"}`, 403, ""},
		{"action with a wrong token", "POST", "/api/close", map[string]string{"Content-Type": "application/json", "X-Minihost-Token": strings.Repeat("0", len(tok))}, `{"app":"demo.counter"}`, 403, ""},
		{"cross-site with token", "POST", "/api/close", map[string]string{"Content-Type": "application/json", "X-Minihost-Token": tok, "Sec-Fetch-Site": "cross-site"}, `{"app":"demo.counter"}`, 403, ""},
		{"form body", "POST", "/api/close", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Minihost-Token": tok}, `app=demo.counter`, http.StatusUnsupportedMediaType, ""},
		{"unknown field", "POST", "/api/close", map[string]string{"Content-Type": "application/json", "X-Minihost-Token": tok}, `{"app":"demo.counter","x":1}`, 400, ""},
		{"oversized body", "POST", "/api/view", map[string]string{"Content-Type": "application/json", "X-Minihost-Token": tok}, `{"app":"` + strings.Repeat("a", 20<<10) + `"}`, 400, ""},
		{"action by GET", "GET", "/api/close?app=demo.counter", map[string]string{"X-Minihost-Token": tok}, "", 405, ""},
		{"asset that is not an image", "GET", "/page/demo.counter/assets/app.json", nil, "", 404, "sandbox; default-src 'none'"},
		{"page of an app not running", "GET", "/page/demo.counter/index", nil, "", 404, "sandbox allow-same-origin; default-src 'none'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, res.StatusCode, body, tt.want)
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, tt.wantCSP) {
				t.Errorf("Content-Security-Policy %q, want it to hold %q", csp, tt.wantCSP)
			}
		})
	}
}

// TestEventStreams opens the most live event streams the shell allows,
// sees the next one refused, and sees Close end them all.
func TestEventStreams(t *testing.T) {
	sh, srv := newShell(t, shell.Config{})
	tok := token(t, srv)
	get := func() *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Minihost-Token", tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var streams []*http.Response
	for range 16 {
		res := get()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream %d: %d %s", len(streams)+1, res.StatusCode, res.Header.Get("Content-Type"))
		}
		// The first comment says the stream is registered.
		if _, err := res.Body.Read(make([]byte, 1)); err != nil {
			t.Fatalf("stream %d: %v", len(streams)+1, err)
		}
		streams = append(streams, res)
	}
	if res := get(); res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("stream 17: %d, want 503", res.StatusCode)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := sh.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for i, res := range streams {
		// Close returned after every stream's handler did: each body ends.
		if _, err := io.ReadAll(res.Body); err != nil {
			t.Errorf("stream %d after Close: %v", i+1, err)
		}
		res.Body.Close()
	}
}

// eventLog records a shell's host events (its Config.Host.OnEvent) for a
// test to count and wait on.
type eventLog struct {
	mu      sync.Mutex
	evs     []host.Event
	changed chan struct{} // closed and replaced at each event
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

func (l *eventLog) record(ev host.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
	close(l.changed)
	l.changed = make(chan struct{})
}

// count is how many events named kind app had; for host.EventLog, the
// guest's log lines holding text.
func (l *eventLog) count(app, kind, text string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.evs {
		if ev.App == app && ev.Event == kind && strings.Contains(ev.Message, text) {
			n++
		}
	}
	return n
}

// visibility is how many onShow and onHide app got: the host's events
// (EventShow, EventHide) and the guest's own log lines, which say the
// callback ran in the guest ("counter: onShow", "hello v1.0.0: onHide").
func (l *eventLog) visibility(app string) string {
	return fmt.Sprintf("shows %d hides %d, guest logged onShow %d onHide %d",
		l.count(app, host.EventShow, ""), l.count(app, host.EventHide, ""),
		l.count(app, host.EventLog, ": onShow"), l.count(app, host.EventLog, ": onHide"))
}

// wantVisibility is visibility's text for shows onShow and hides onHide.
func wantVisibility(shows, hides int) string {
	return fmt.Sprintf("shows %d hides %d, guest logged onShow %d onHide %d", shows, hides, shows, hides)
}

// waitVisibility waits until app got shows onShow and hides onHide, up to
// limit, or stops the test saying what it waited for and the events.
func (l *eventLog) waitVisibility(t *testing.T, what, app string, shows, hides int, limit time.Duration) {
	t.Helper()
	want := wantVisibility(shows, hides)
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		changed := l.changed
		l.mu.Unlock()
		got := l.visibility(app)
		if got == want {
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("%s: waited %v for %s to have %s; it has %s; events:\n%s", what, limit, app, want, got, l)
		}
	}
}

// String lists the events, one a line.
func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ev := range l.evs {
		fmt.Fprintf(&b, "  %s %s %s %q\n", ev.App, ev.Event, ev.Version, ev.Message)
	}
	return b.String()
}

// gate holds requests until n have arrived, then lets them all in.
type gate struct {
	mu      sync.Mutex
	n       int
	arrived int
	open    chan struct{}
}

func newGate(n int) *gate { return &gate{n: n, open: make(chan struct{})} }

// pass waits for the gate to open; the n-th arrival opens it. The error
// says how many had arrived when ctx ended.
func (g *gate) pass(ctx context.Context) error {
	g.mu.Lock()
	g.arrived++
	if g.arrived == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		return fmt.Errorf("waited for %d requests, %d arrived: %w", g.n, g.arrived, ctx.Err())
	}
}

// post sends an action on app to the shell with the token tok ("" for
// none) and returns the status and the body.
func post(t *testing.T, srv *httptest.Server, tok, action, app string) (int, string) {
	t.Helper()
	code, body, err := tryPost(t.Context(), srv, tok, action, app)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// tryPost is post for any goroutine: it returns the error.
func tryPost(ctx context.Context, srv *httptest.Server, tok, action, app string) (int, string, error) {
	body, _ := json.Marshal(map[string]string{"app": app})
	req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api/"+action, strings.NewReader(string(body)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("X-Minihost-Token", tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b)), err
}

// TestShowHide drives WeChat's onShow and onHide through the shell's
// actions (POST /api/show, /api/hide) on a real host and guests: each
// change reaches the app once, as the host's event and in the guest's
// own log; a repeat, and a repeat racing itself, delivers nothing; the
// host's onShow at a cold start counts, so after a restart or a reopen
// the app is shown; an unknown app, an app not running and a request
// without the token are refused and deliver nothing. A show or hide
// delivers before its response, so each count is read at once.
func TestShowHide(t *testing.T) {
	ctx := t.Context()
	k := hosttest.New(t, hosttest.Config{})
	evs := newEventLog()
	sh, srv := newShell(t, shell.Config{
		Packages: []string{k.Package(ctx, "counter", "1.0.0"), k.Package(ctx, "hello", "1.0.0")},
		Host:     host.Config{OnEvent: evs.record},
	})
	// While gated is set, the server holds requests at its door (race).
	var gated atomic.Pointer[gate]
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g := gated.Load(); g != nil {
			if err := g.pass(r.Context()); err != nil {
				http.Error(w, "gate: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		sh.ServeHTTP(w, r)
	})
	tok := token(t, srv)
	const counter, hello = "demo.counter", "demo.hello"
	do := func(action, app string, want int, wantBody string) {
		t.Helper()
		code, body := post(t, srv, tok, action, app)
		if code != want || !strings.Contains(body, wantBody) {
			t.Fatalf("%s %s = %d %q, want %d holding %q", action, app, code, body, want, wantBody)
		}
	}
	// expect checks what counter and hello got so far.
	expect := func(step string, counterShows, counterHides, helloShows, helloHides int) {
		t.Helper()
		for _, c := range []struct {
			app          string
			shows, hides int
		}{{counter, counterShows, counterHides}, {hello, helloShows, helloHides}} {
			if got, want := evs.visibility(c.app), wantVisibility(c.shows, c.hides); got != want {
				t.Fatalf("after %s, %s has %s, want %s; events:\n%s", step, c.app, got, want, evs)
			}
		}
	}
	hidden := func(app string) bool {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/state", nil)
		req.Header.Set("X-Minihost-Token", tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var st struct {
			Apps []struct {
				ID     string `json:"id"`
				Hidden bool   `json:"hidden"`
			} `json:"apps"`
		}
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		for _, a := range st.Apps {
			if a.ID == app {
				return a.Hidden
			}
		}
		t.Fatalf("%s not in /api/state", app)
		return false
	}

	// Refused: an app the shell does not list, apps not running.
	for _, action := range []string{"show", "hide"} {
		do(action, "demo.nope", 400, action+" demo.nope: no such app")
		do(action, counter, 400, action+" demo.counter: the app is not running")
	}
	do("open", counter, 200, "")
	do("open", hello, 200, "")
	expect("the cold starts", 1, 0, 1, 0)
	// Refused: no token, a wrong one; nothing reaches the app.
	for _, bad := range []string{"", strings.Repeat("0", len(tok))} {
		if code, body := post(t, srv, bad, "hide", counter); code != http.StatusForbidden {
			t.Fatalf("hide with token %q = %d %q, want 403", bad, code, body)
		}
	}
	expect("hides without the token", 1, 0, 1, 0)

	do("show", counter, 200, "") // shown since its cold start
	expect("showing a shown app", 1, 0, 1, 0)
	do("hide", counter, 200, "")
	expect("hide", 1, 1, 1, 0)
	if !hidden(counter) || hidden(hello) {
		t.Fatalf("/api/state: counter hidden %t, hello hidden %t; want true, false", hidden(counter), hidden(hello))
	}
	do("hide", counter, 200, "")
	expect("hiding a hidden app", 1, 1, 1, 0)
	do("show", counter, 200, "")
	expect("show", 2, 1, 1, 0)
	do("show", counter, 200, "")
	expect("showing a shown app again", 2, 1, 1, 0)

	// Repeats racing each other deliver one change: the host runs an
	// app's calls one at a time and delivers a callback only on a change
	// (host's TestShowHideAlternate). The requests are held at the
	// server's door until all have arrived, then let in at once.
	const racers, rounds = 8, 2
	race := func(action string) {
		t.Helper()
		gated.Store(newGate(racers))
		defer gated.Store(nil)
		var wg sync.WaitGroup
		codes := make([]int, racers)
		bodies := make([]string, racers)
		errs := make([]error, racers)
		for i := range codes {
			wg.Go(func() { codes[i], bodies[i], errs[i] = tryPost(ctx, srv, tok, action, counter) })
		}
		wg.Wait()
		for i, code := range codes {
			if errs[i] != nil || code != 200 {
				t.Fatalf("racing %s %d: %d %q %v", action, i, code, bodies[i], errs[i])
			}
		}
	}
	for r := range rounds {
		race("hide")
		expect(fmt.Sprintf("%d hides at once (round %d)", racers, r+1), 2+r, 2+r, 1, 0)
		race("show")
		expect(fmt.Sprintf("%d shows at once (round %d)", racers, r+1), 3+r, 2+r, 1, 0)
	}
	do("hide", hello, 200, "")
	expect("hiding hello", 2+rounds, 1+rounds, 1, 1)

	// A restart is a cold start: the host shows the app, so the shell's
	// show is a repeat and its hide is a change. (Closing the old
	// instance is the host's onHide, counted from here on.)
	do("hide", counter, 200, "")
	do("open", counter, 200, "")
	shows, hides := evs.count(counter, host.EventShow, ""), evs.count(counter, host.EventHide, "")
	if shows != 3+rounds {
		t.Fatalf("after the restart counter had %d onShow, want %d (one more: the cold start's); events:\n%s", shows, 3+rounds, evs)
	}
	do("show", counter, 200, "")
	expect("showing the restarted app", shows, hides, 1, 1)
	do("hide", counter, 200, "")
	expect("hiding the restarted app", shows, hides+1, 1, 1)

	// Closed, it refuses both; reopened, it is shown again.
	do("close", counter, 200, "")
	hides = evs.count(counter, host.EventHide, "")
	for _, action := range []string{"show", "hide"} {
		do(action, counter, 400, "the app is not running")
	}
	do("open", counter, 200, "")
	do("show", counter, 200, "")
	expect("showing the reopened app", shows+1, hides, 1, 1)
	do("hide", counter, 200, "")
	expect("hiding the reopened app", shows+1, hides+1, 1, 1)
}
