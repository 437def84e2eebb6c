package release_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// browser is a headless Chromium tab for one test, with a deadline on
// every step.
type browser struct {
	t    *testing.T
	ctx  context.Context
	shot string // folder of the screenshots
}

// newBrowser starts Chromium, or fails naming the package to install.
// MINIHOST_NO_BROWSER=1 skips instead, explicitly.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("MINIHOST_NO_BROWSER") == "1" {
			t.Skipf("MINIHOST_NO_BROWSER=1 and no %s", chromiumPath)
		}
		t.Fatalf("the dashboard test needs Chromium at %s: apt-get install chromium (or set MINIHOST_NO_BROWSER=1 to skip it): %v", chromiumPath, err)
	}
	shot := os.Getenv("MINIHOST_ARTIFACTS")
	if shot == "" {
		shot = t.TempDir()
	} else if err := os.MkdirAll(shot, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 1000),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("force-color-profile", "srgb"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, shot: shot}
	// The first action starts the browser; it runs on ctx itself, since
	// the browser lives as long as the context of its first action.
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(ctx) }()
	select {
	case err := <-start:
		if err != nil {
			t.Fatalf("start %s: %v", chromiumPath, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("start %s: no answer within 60 s", chromiumPath)
	}
	// Revert asks for confirmation (dashboard_assets/app.js): accept.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

// do runs steps, waiting at most 20 s for what.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.failed()
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// failed writes the page's screenshot and text as artifacts of a failure.
func (b *browser) failed() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(b.shot, "failure.png"), png, 0o644)
	}
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`)); err == nil {
		b.t.Logf("page at the failure:\n%s", text)
	}
}

// text returns the text of the element sel (waited for, at most 20 s).
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: read the text of %s: %v", sel, err)
	}
	return s
}

// screenshot writes the page as NAME.png into the artifacts folder.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.shot, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// TestDashboardInBrowser drives the dashboard in a real Chromium: refused
// without the token, log in, a publish appears, a widened rollout changes
// the signed document, revert, and a cross-site form is refused.
func TestDashboardInBrowser(t *testing.T) {
	b := newBrowser(t)
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	v100, v110, none := ts.versionClient("1.0.0"), ts.versionClient("1.1.0"), ts.client()
	// Three weeks of clients on 1.0.0, for the chart.
	for day := range 21 {
		for range 3 + day%4 {
			ts.fetch(v100, "demo.counter", 0)
		}
		ts.clock.Advance(24 * time.Hour)
	}
	app := ts.hs.URL + "/dashboard/apps/demo.counter"

	b.do("open an app page without a session", chromedp.Navigate(app), chromedp.WaitVisible(chromedp.ID("login")))
	b.do("log in with a wrong token", chromedp.SendKeys(chromedp.ID("token"), "wrong"),
		chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID("error")))
	if got := b.text("#error"); !strings.Contains(got, "wrong admin token") {
		t.Fatalf("wrong token: page says %q", got)
	}
	b.screenshot("dashboard-login-refused")
	b.do("log in", chromedp.SendKeys(chromedp.ID("token"), testToken),
		chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID("apps")))

	// Publish a staged version and see it appear.
	if _, err := ts.admin.Publish(t.Context(), "demo.counter", strings.NewReader(string(testPackage(t, "demo.counter", "1.1.0"))), 10); err != nil {
		t.Fatal(err)
	}
	for day := range 7 {
		if day > 0 {
			ts.clock.Advance(24 * time.Hour)
		}
		for range 2 + day {
			ts.fetch(v110, "demo.counter", 0)
		}
		for range 5 - day/2 {
			ts.fetch(v100, "demo.counter", 0)
		}
		ts.fetch(none, "demo.counter", 0)
	}
	// A week passed: the session (12 hours) has expired.
	b.do("see the expired session refused", chromedp.Navigate(app), chromedp.WaitVisible(chromedp.ID("login")))
	b.do("log in again", chromedp.SendKeys(chromedp.ID("token"), testToken),
		chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.ID("apps")))
	b.do("see the published version", chromedp.Navigate(app), chromedp.WaitVisible(chromedp.CSS(`tr[id="v-1.1.0"]`)),
		chromedp.WaitVisible(chromedp.ID("chart")))
	if got := b.text(`tr[id="v-1.1.0"] .state`); !strings.Contains(got, "latest") {
		t.Fatalf("1.1.0 state %q, want latest", got)
	}

	// Widen the rollout and see the signed document change.
	b.do("widen the rollout to 50%", chromedp.SetValue(chromedp.ID("rollout-percent"), "50"),
		chromedp.Click(chromedp.ID("rollout-submit")), chromedp.WaitVisible(chromedp.ID("done")))
	if got := b.text("#rollout"); got != "50" {
		t.Fatalf("page shows rollout %q, want 50", got)
	}
	if doc := ts.fetch(none, "demo.counter", 0); doc.RolloutPercent != 50 || doc.Latest.Version != "1.1.0" {
		t.Fatalf("document after widening: rollout %d, latest %s; want 50, 1.1.0", doc.RolloutPercent, doc.Latest.Version)
	}
	b.screenshot("dashboard")

	// Revert (the page asks; the dialog handler accepts).
	// The rollout's notice is still on the page: wait for the revert's.
	b.do("revert to 1.0.0", chromedp.Click(chromedp.CSS(`button[id="revert-1.0.0"]`)),
		chromedp.WaitVisible(`//p[@id="done"][starts-with(., "Reverted")]`))
	if got := b.text(`tr[id="v-1.1.0"] .state`); !strings.Contains(got, "revoked") {
		t.Fatalf("after revert, 1.1.0 state %q, want revoked", got)
	}
	if doc := ts.fetch(none, "demo.counter", 0); doc.Latest.Version != "1.0.0" || !slices.Contains(doc.Revoked, "1.1.0") {
		t.Fatalf("document after revert: latest %s, revoked %v", doc.Latest.Version, doc.Revoked)
	}
	b.screenshot("dashboard-reverted")

	// A page on another site posts a form to the dashboard: refused, and
	// nothing changes. (localhost and 127.0.0.1 are different sites.)
	before, _ := ts.srv.Status(t.Context(), "demo.counter")
	evil := httptest.NewServer(evilSite(ts.hs.URL + "/dashboard/apps/demo.counter/rollout"))
	t.Cleanup(evil.Close)
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	b.do("post a form from another site", chromedp.Navigate(evilURL), chromedp.Click(chromedp.ID("go")))
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	var body string
	for {
		// The poll fails while the page navigates away; poll again.
		s, err := chromedp.Run(ctx, chromedp.Poll[string](`location.href.includes("/rollout") && document.body.innerText`))
		if err == nil {
			body = s
			break
		}
		if ctx.Err() != nil {
			b.failed()
			t.Fatalf("browser: wait 20 s for the answer to the cross-site form: %v", err)
		}
	}
	if !strings.Contains(body, "refused: cross-site request") {
		t.Fatalf("cross-site form answered %q, want a refusal", body)
	}
	b.screenshot("dashboard-cross-site-refused")
	if after, _ := ts.srv.Status(t.Context(), "demo.counter"); after.Sequence != before.Sequence {
		t.Fatalf("a cross-site form changed the app: sequence %d to %d", before.Sequence, after.Sequence)
	}
}

// evilSite serves a page with a form that posts to target.
func evilSite(target string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form method="post" action=%q><input type="hidden" name="percent" value="0">`+
			`<input type="hidden" name="csrf" value="guess"><button id="go">win a prize</button></form>`, target)
	})
}
