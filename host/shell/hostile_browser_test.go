package shell_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/spf13/afero"

	"github.com/minihost/minihost/host/hosttest"
	"github.com/minihost/minihost/host/shell"
	"github.com/minihost/minihost/runtime/mpk"
)

// hostilePage tries every way page content has to act on the shell: an
// inline script and an event handler attribute (script), an image, a CSS
// background and a nested frame aimed at actions (GETs), a form posting
// to one (with a JSON-looking text/plain body), a link out of the frame,
// and a base and a meta policy that would widen what loads. Its URLs are
// relative, so they reach the shell wherever it is mounted.
const hostilePage = `<!doctype html>
<html><head>
<meta http-equiv="Content-Security-Policy" content="default-src *; script-src * 'unsafe-inline'">
<base href="../../api/">
</head><body>
<h1 id="hostile">hostile</h1>
<script>
parent.document.body.dataset.pwned = 'script';
fetch('../../api/close', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{"app":"demo.counter"}'});
</script>
<img src="../../api/close?app=demo.counter">
<img src="x" onerror="parent.document.body.dataset.pwned='onerror'">
<div style="background: url(../../api/apply?app=demo.counter)">css</div>
<iframe src="../../api/state"></iframe>
<form method="post" action="../../api/close" enctype="text/plain"><input name='{"app":"demo.counter","x":"' value='"}'><button id="submit">submit</button></form>
<form method="post" action="close"><input name="app" value="demo.counter"><button id="submit-base">submit</button></form>
<a id="top" href="../../api/close?app=demo.counter" target="_top">top</a>
</body></html>
`

// TestHostilePageAchievesNothing opens a package whose page is hostile,
// taps its form buttons and link, and checks that nothing reached an
// action: no request to /api/ without the token left the browser, the
// shell's page was not touched, and the app still runs and answers the
// shell's own taps. The shell is mounted under a prefix, as an embedding
// shell would mount it.
func TestHostilePageAchievesNothing(t *testing.T) {
	k := hosttest.New(t, hosttest.Config{})
	dir := filepath.Join(t.TempDir(), "counter")
	p, err := mpk.OpenFile(k.Package(t.Context(), "counter", "1.0.0"), mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Extract(t.Context(), afero.NewOsFs(), dir)
	p.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pages", "hostile.html"), []byte(hostilePage), 0o644); err != nil {
		t.Fatal(err)
	}
	sh, srv := newShell(t, shell.Config{Packages: []string{dir}})
	// Mounted under /shell/ as an embedding shell would, recording every
	// request to /api/ that lacks the token.
	var mu sync.Mutex
	var untokened []string
	mounted := http.StripPrefix("/shell", sh)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/api/") && r.Header.Get("X-Minihost-Token") == "" {
			mu.Lock()
			untokened = append(untokened, r.Method+" "+r.URL.String())
			mu.Unlock()
		}
		mounted.ServeHTTP(w, r)
	})
	b := newBrowser(t)

	b.run("open the shell", chromedp.Navigate(srv.URL+"/shell/"), chromedp.WaitVisible(chromedp.CSS(openCounter)))
	b.run("open the counter", chromedp.Click(chromedp.CSS(openCounter)))
	b.waitJS("the counter's page", frameText("#count")+` === '0'`)
	b.waitJS("the page's image asset", `document.getElementById('page').contentDocument.getElementById('icon').naturalWidth > 0`)
	eval[string](b, `location.hash = 'app=demo.counter&page=hostile'`)
	b.waitJS("the hostile page", frameText("#hostile")+` === 'hostile'`)
	b.shot("hostile")
	// nothing fails the test at once when page content achieved anything.
	nothing := func(after string) {
		t.Helper()
		if got := eval[string](b, `document.body.dataset.pwned || ''`); got != "" {
			t.Fatalf("after %s: page content ran script in the shell (%s)", after, got)
		}
		if got := eval[string](b, `location.pathname`); got != "/shell/" {
			t.Fatalf("after %s: page content navigated the shell to %s", after, got)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(untokened) > 0 {
			t.Fatalf("after %s: page content sent requests to /api/ (the shell refused them, but the sandbox should have stopped them): %q", after, untokened)
		}
	}
	nothing("loading the page")
	for _, sel := range []string{"#submit", "#submit-base", "#top"} {
		b.tapInFrame(sel)
		nothing("tapping " + sel)
	}
	// The shell's own taps still work, and come after the hostile ones.
	eval[string](b, `location.hash = 'app=demo.counter&page=index'`)
	b.waitJS("the index page", frameText("#count")+` === '0'`)
	b.tapInFrame("#inc")
	b.waitJS("count 1 after +1", frameText("#count")+` === '1'`)
	b.shot("after-hostile")
	nothing("the shell's own tap")
}
