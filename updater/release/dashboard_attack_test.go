package release_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Attacks on the dashboard from outside, through the test server's real
// loopback listener (RELIABILITY.md, the attack table).

// TestDashboardAttackHeadersOnEveryAnswer: every answer under /dashboard,
// the ones no dashboard route makes included (a redirect, an unknown
// path, a refused asset, a wrong method), carries the CSP and the
// anti-framing headers: a page the browser may render or frame must not
// escape them.
func TestDashboardAttackHeadersOnEveryAnswer(t *testing.T) {
	ts := newTestServer(t, nil)
	tests := []struct {
		name, method, path string
	}{
		{"login page", http.MethodGet, "/dashboard/"},
		{"redirect to the slash", http.MethodGet, "/dashboard"},
		{"unknown page", http.MethodGet, "/dashboard/nope"},
		{"template as asset", http.MethodGet, "/dashboard/assets/pages.html"},
		{"missing asset", http.MethodGet, "/dashboard/assets/nope.js"},
		{"GET of the login action", http.MethodGet, "/dashboard/login"},
		{"PUT of the login action", http.MethodPut, "/dashboard/login"},
		{"GET of an app action", http.MethodGet, "/dashboard/apps/demo.counter/rollout"},
		{"unknown app", http.MethodGet, "/dashboard/apps/%3Cscript%3E"},
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, ts.hs.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
				h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("%s %s: %d without the dashboard headers: %v", tt.method, tt.path, resp.StatusCode, h)
			}
		})
	}
}

// TestDashboardAttackLoginLimitUnderConcurrency: the limit of 10 wrong
// tokens a minute holds against requests sent at once. Each attacker
// connection sends its headers with Expect: 100-continue and waits for
// the server's 100 Continue, which net/http sends when the handler starts
// reading the body, past any check made before it; only then do all
// bodies go. A limit checked before the body and counted after it lets
// every one of them try a token.
func TestDashboardAttackLoginLimitUnderConcurrency(t *testing.T) {
	ts := newTestServer(t, nil)
	const n = 30
	addr := strings.TrimPrefix(ts.hs.URL, "http://")
	body := url.Values{"token": {"wrong"}}.Encode()
	type conn struct {
		c net.Conn
		r *bufio.Reader
	}
	conns := make([]conn, 0, n)
	deadline := time.Now().Add(10 * time.Second)
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(deadline)
		fmt.Fprintf(c, "POST /dashboard/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
			"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body))
		r := bufio.NewReader(c)
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("connection %d: waiting for the 100 Continue or an answer: %v", i, err)
		}
		if !strings.Contains(line, " 100 ") {
			c.Close() // refused before the body: the limit held for it
			continue
		}
		if _, err := r.ReadString('\n'); err != nil { // the blank line after 100 Continue
			t.Fatal(err)
		}
		conns = append(conns, conn{c, r})
	}
	tried := 0
	for i, c := range conns {
		if _, err := c.c.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(c.r, nil)
		if err != nil {
			t.Fatalf("connection %d: reading the answer: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			tried++
		}
	}
	if tried > 10 {
		t.Fatalf("%d of %d concurrent logins tried a token, limit 10 a minute", tried, n)
	}
	dc := &dashClient{ts: ts}
	if code := dc.login(testToken); code != http.StatusTooManyRequests {
		t.Fatalf("login after the flood: %d, want 429", code)
	}
}

// TestDashboardAttackLoginHeld: attacks on login that the dashboard
// already stops. A planted session id is never adopted (the login makes
// a new one), the answer goes to /dashboard/ whatever the request names,
// and pages show hostile path text escaped.
func TestDashboardAttackLoginHeld(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	planted := strings.Repeat("A", 43)
	dc := &dashClient{ts: ts, cookie: &http.Cookie{Name: "minihost_session", Value: planted}}
	code, h, _ := dc.do("/dashboard/login?next=https://evil.example/&redirect=//evil.example",
		url.Values{"token": {testToken}, "next": {"https://evil.example/"}}, http.Header{"Referer": {"https://evil.example/"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/dashboard/" {
		t.Fatalf("login: %d to %q, want 303 to /dashboard/", code, h.Get("Location"))
	}
	if dc.cookie.Value == planted {
		t.Fatal("the planted session id was adopted")
	}
	if code, _, body := dc.do("/dashboard/apps/%3Cscript%3Ealert(1)%3C%2Fscript%3E", nil, nil); code != http.StatusNotFound || strings.Contains(body, "<script>alert") {
		t.Fatalf("hostile app id: %d, raw in the page: %v", code, strings.Contains(body, "<script>alert"))
	}
	// The planted id never became a session.
	other := &dashClient{ts: ts, cookie: &http.Cookie{Name: "minihost_session", Value: planted}}
	if code, _, _ := other.do("/dashboard/", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("planted id: %d, want 401", code)
	}
}
