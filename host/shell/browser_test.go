package shell_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// browserWait bounds one wait in the browser: long enough for a cold
// start that downloads and compiles a version on a loaded machine.
const browserWait = 2 * time.Minute

// browser is a headless Chromium driven by chromedp, and the folder its
// screenshots go to.
type browser struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
	shots     int
}

// newBrowser starts Chromium. Without it the test fails, naming the
// package to install, unless MINIHOST_NO_BROWSER=1 says to skip.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("MINIHOST_NO_BROWSER") == "1" {
			t.Skipf("MINIHOST_NO_BROWSER=1 and no %s", chromiumPath)
		}
		t.Fatalf("browser tests need %s: apt-get install chromium (or set MINIHOST_NO_BROWSER=1 to skip them on a developer's machine)", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	}
	for _, f := range []string{"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
		"disable-background-networking", "disable-component-update", "disable-sync"} {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	dir := os.Getenv("MINIHOST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, t.Name())
	// A run's screenshots replace the last run's, so none is stale.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return &browser{t: t, ctx: ctx, artifacts: dir}
}

// run runs actions, bounded by browserWait; what names the step.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	b.shot("failed")
	var html string
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	html, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	b.t.Fatalf("%s: %v (screenshots in %s)\nthe shell shows:\n%s", what, err, b.artifacts, html)
}

// waitJS waits until the JavaScript expression cond is true in the shell.
func (b *browser) waitJS(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(browserWait))); err != nil {
		b.fail("wait for "+what, err)
	}
}

// eval evaluates a JavaScript expression in the shell.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluate "+expr, err)
	}
	return v
}

// frameText is an expression reading the text of sel in the page frame.
func frameText(sel string) string {
	return fmt.Sprintf(`document.getElementById('page').contentDocument?.querySelector(%q)?.textContent`, sel)
}

// tapInFrame clicks sel in the page frame with a real mouse event.
func (b *browser) tapInFrame(sel string) {
	b.t.Helper()
	b.run("tap "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.FromNode(b.frame())))
}

// typeInFrame types keys into sel in the page frame, as a person would.
func (b *browser) typeInFrame(sel, keys string) {
	b.t.Helper()
	frame := b.frame()
	b.run("type into "+sel, chromedp.Clear(chromedp.CSS(sel), chromedp.FromNode(frame)),
		chromedp.SendKeys(chromedp.CSS(sel), keys, chromedp.FromNode(frame)))
}

// frame returns the page frame's node, once the frame shows its latest
// load and the shell has wired it (shell.js sets data-frame).
func (b *browser) frame() *chromedp.Node {
	b.t.Helper()
	b.waitJS("the page frame loaded and wired", `document.body.dataset.frame === document.getElementById('page').dataset.seq`)
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	frames, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("#page")))
	if err != nil {
		b.fail("find the page frame", err)
	}
	return frames[0]
}

// shot writes a screenshot of the shell as <n>-<name>.png.
func (b *browser) shot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	b.shots++
	path := filepath.Join(b.artifacts, fmt.Sprintf("%d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("write screenshot: %v", err)
	}
	return path
}
