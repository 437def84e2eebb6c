package shell_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

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
