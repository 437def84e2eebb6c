package release_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/updater/release"
)

// dashClient is a browser-less dashboard user: it keeps the session
// cookie and the CSRF token of the last page, and never follows
// redirects (the tests look at them).
type dashClient struct {
	ts     *testServer
	cookie *http.Cookie
	csrf   string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// do sends a request (form: a POST of it; nil: a GET) with the session
// cookie and extra headers; it returns the status, a header and the body.
func (dc *dashClient) do(path string, form url.Values, header http.Header) (int, http.Header, string) {
	t := dc.ts.t
	t.Helper()
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, dc.ts.hs.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", dc.ts.hs.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if dc.cookie != nil {
		req.AddCookie(dc.cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "minihost_session" {
			dc.cookie = ck
		}
	}
	if m := csrfField.FindStringSubmatch(string(data)); m != nil {
		dc.csrf = m[1]
	}
	return resp.StatusCode, resp.Header, string(data)
}

func (dc *dashClient) login(token string) int {
	code, _, _ := dc.do("/dashboard/login", url.Values{"token": {token}}, nil)
	return code
}

func TestDashboardLoginAndSession(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	dc := &dashClient{ts: ts}
	if code, h, body := dc.do("/dashboard/", nil, nil); code != http.StatusUnauthorized || !strings.Contains(body, `id="login"`) ||
		!strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("without a session: %d, CSP %q, want 401 and the login page", code, h.Get("Content-Security-Policy"))
	}
	// Login CSRF: a form on another site cannot log the browser in.
	if code, _, _ := dc.do("/dashboard/login", url.Values{"token": {testToken}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}); code != http.StatusForbidden || dc.cookie != nil {
		t.Fatalf("cross-site login: %d, cookie %v; want 403 and none", code, dc.cookie)
	}
	if code := dc.login("wrong"); code != http.StatusUnauthorized || dc.cookie != nil {
		t.Fatalf("wrong token: %d, cookie %v; want 401 and none", code, dc.cookie)
	}
	if code := dc.login(testToken); code != http.StatusSeeOther {
		t.Fatalf("login: %d, want 303", code)
	}
	if c := dc.cookie; c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/dashboard/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path /dashboard/", c)
	}
	code, _, body := dc.do("/dashboard/", nil, nil)
	if code != http.StatusOK || !strings.Contains(body, `href="/dashboard/apps/demo.counter"`) {
		t.Fatalf("apps page: %d\n%s", code, body)
	}
	if code, _, _ := dc.do("/dashboard/logout", url.Values{"csrf": {dc.csrf}}, nil); code != http.StatusSeeOther {
		t.Fatalf("logout: %d", code)
	}
	dc.cookie.MaxAge, dc.cookie.Value = 0, strings.Repeat("x", 43)
	if code, _, _ := dc.do("/dashboard/apps/demo.counter", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d, want 401", code)
	}
}

func TestDashboardDisabledWithoutTokens(t *testing.T) {
	ts := newTestServer(t, func(c *release.Config) { c.Tokens = nil })
	dc := &dashClient{ts: ts}
	for _, tt := range []struct {
		name string
		code func() (int, string)
	}{
		{"page", func() (int, string) { c, _, b := dc.do("/dashboard/", nil, nil); return c, b }},
		{"login", func() (int, string) {
			c, _, b := dc.do("/dashboard/login", url.Values{"token": {""}}, nil)
			return c, b
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := tt.code(); code != http.StatusForbidden || !strings.Contains(body, "dashboard disabled") {
				t.Fatalf("%d, want 403 naming the missing token:\n%.400s", code, body)
			}
		})
	}
}

func TestDashboardSessionAndLoginBounds(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	first := &dashClient{ts: ts}
	first.login(testToken)
	for range 64 {
		(&dashClient{ts: ts}).login(testToken)
	}
	if code, _, _ := first.do("/dashboard/", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("the oldest of 65 sessions still works (%d): sessions are not bounded", code)
	}
	bad := &dashClient{ts: ts}
	for range 10 {
		bad.login("wrong")
	}
	if code := bad.login(testToken); code != http.StatusTooManyRequests {
		t.Errorf("login after 10 wrong tokens in a minute: %d, want 429", code)
	}
	ts.clock.Advance(2 * time.Minute)
	if code := bad.login(testToken); code != http.StatusSeeOther {
		t.Errorf("login a minute later: %d, want 303", code)
	}
}

func TestDashboardActions(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	if _, err := ts.admin.Publish(t.Context(), "demo.counter", strings.NewReader(string(testPackage(t, "demo.counter", "1.1.0"))), 10); err != nil {
		t.Fatal(err)
	}
	dc := &dashClient{ts: ts}
	dc.login(testToken)
	dc.do("/dashboard/apps/demo.counter", nil, nil)
	rollout := func(csrf string) url.Values { return url.Values{"csrf": {csrf}, "percent": {"50"}} }
	tests := []struct {
		name   string
		path   string
		form   url.Values
		header http.Header
		want   int
		body   string // substring of the answer
	}{
		{"no CSRF token", "/dashboard/apps/demo.counter/rollout", url.Values{"percent": {"50"}}, nil, http.StatusForbidden, "CSRF"},
		{"wrong CSRF token", "/dashboard/apps/demo.counter/rollout", rollout("nope"), nil, http.StatusForbidden, "CSRF"},
		{"cross-site fetch", "/dashboard/apps/demo.counter/rollout", rollout(dc.csrf), http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden, "cross-site"},
		{"foreign origin", "/dashboard/apps/demo.counter/rollout", rollout(dc.csrf), http.Header{"Sec-Fetch-Site": nil, "Origin": {"http://evil.example"}}, http.StatusForbidden, "cross-site"},
		{"rollout out of range", "/dashboard/apps/demo.counter/rollout", url.Values{"csrf": {dc.csrf}, "percent": {"101"}}, nil, http.StatusBadRequest, "outside 0-100"},
		{"widen rollout", "/dashboard/apps/demo.counter/rollout", rollout(dc.csrf), nil, http.StatusSeeOther, ""},
		{"min above released", "/dashboard/apps/demo.counter/settings", url.Values{"csrf": {dc.csrf}, "minVersion": {"1.1.0"}}, nil, http.StatusConflict, "above the fully released version"},
		{"settings", "/dashboard/apps/demo.counter/settings", url.Values{"csrf": {dc.csrf}, "minVersion": {"1.0.0"}}, nil, http.StatusSeeOther, ""},
		{"revert to unknown", "/dashboard/apps/demo.counter/revert", url.Values{"csrf": {dc.csrf}, "version": {"0.9.0"}}, nil, http.StatusNotFound, "unknown version"},
		{"revert", "/dashboard/apps/demo.counter/revert", url.Values{"csrf": {dc.csrf}, "version": {"1.0.0"}}, nil, http.StatusSeeOther, ""},
		{"a GET changes nothing", "/dashboard/apps/demo.counter/revert", nil, nil, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := dc.do(tt.path, tt.form, tt.header)
			if code != tt.want || !strings.Contains(body, tt.body) {
				t.Fatalf("%d, want %d with %q:\n%.600s", code, tt.want, tt.body, body)
			}
		})
	}
	st, err := ts.srv.Status(t.Context(), "demo.counter")
	if err != nil {
		t.Fatal(err)
	}
	// Sequences: 2 publishes, the rollout, the settings, the revert.
	if st.Sequence != 5 || st.RolloutPercent != 100 || st.MinVersion != "1.0.0" || st.Versions[0].State != "revoked" {
		t.Fatalf("after the actions: %+v", st)
	}
}
