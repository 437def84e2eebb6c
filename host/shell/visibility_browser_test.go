package shell_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/hosttest"
	"github.com/minihost/minihost/host/shell"
)

// hideTab and showTab make the shell's tab hidden and visible again as
// far as its script can tell (Chromium headless never hides a tab): they
// override document.visibilityState and document.hidden, or drop the
// override, and dispatch visibilitychange. Each returns the state now.
const (
	hideTab = `(() => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
  document.dispatchEvent(new Event('visibilitychange'));
  return document.visibilityState;
})()`
	showTab = `(() => {
  delete document.visibilityState;
  delete document.hidden;
  document.dispatchEvent(new Event('visibilitychange'));
  return document.visibilityState;
})()`
)

// TestShowHideInBrowser checks WeChat's onShow and onHide as a person
// causes them in the shell: opening a second app selects it, and the
// first goes to the background (onHide); selecting the first again shows
// it (onShow) and hides the second; hiding the shell's tab hides the
// selected app and showing the tab shows it, leaving the others alone.
// Each count is exact: the host's events and the guests' own log lines.
func TestShowHideInBrowser(t *testing.T) {
	ctx := t.Context()
	k := hosttest.New(t, hosttest.Config{})
	evs := newEventLog()
	_, srv := newShell(t, shell.Config{
		Packages: []string{k.Package(ctx, "counter", "1.0.0"), k.Package(ctx, "hello", "1.0.0")},
		Host:     host.Config{OnEvent: evs.record},
	})
	b := newBrowser(t)
	const counter, hello = "demo.counter", "demo.hello"
	listed := func(app, text string) string {
		return fmt.Sprintf(`document.querySelector('li[data-app=%q] span')?.textContent === %q`, app, text)
	}

	b.run("open the shell", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(openCounter)))
	b.run("open the counter", chromedp.Click(chromedp.CSS(openCounter)))
	evs.waitVisibility(t, "the counter's cold start", counter, 1, 0, browserWait)
	b.waitJS("the counter listed as running", listed(counter, "v1.0.0"))

	b.run("open hello", chromedp.Click(chromedp.CSS(`[id="open-demo.hello"]`)))
	evs.waitVisibility(t, "hello's cold start", hello, 1, 0, browserWait)
	evs.waitVisibility(t, "the counter hidden once hello is selected", counter, 1, 1, browserWait)
	b.waitJS("hello listed as running, the counter in the background",
		listed(hello, "v1.0.0")+" && "+listed(counter, "v1.0.0 (in background)"))
	b.shot("hello-selected")

	b.run("select the counter", chromedp.Click(chromedp.CSS(`li[data-app="demo.counter"] a.name`)))
	evs.waitVisibility(t, "the counter shown once selected again", counter, 2, 1, browserWait)
	evs.waitVisibility(t, "hello hidden once the counter is selected", hello, 1, 1, browserWait)
	b.waitJS("the counter listed as shown, hello in the background",
		listed(counter, "v1.0.0")+" && "+listed(hello, "v1.0.0 (in background)"))
	b.shot("counter-selected")

	if got := eval[string](b, hideTab); got != "hidden" {
		t.Fatalf("document.visibilityState %q after hiding the tab, want hidden", got)
	}
	evs.waitVisibility(t, "the counter hidden with the tab", counter, 2, 2, browserWait)
	if got := eval[string](b, showTab); got != "visible" {
		t.Fatalf("document.visibilityState %q after showing the tab, want visible", got)
	}
	evs.waitVisibility(t, "the counter shown with the tab", counter, 3, 2, browserWait)
	// hello, in the background all along, got nothing from the tab.
	if got, want := evs.visibility(hello), wantVisibility(1, 1); got != want {
		t.Fatalf("hello has %s, want %s; events:\n%s", got, want, evs)
	}
}
