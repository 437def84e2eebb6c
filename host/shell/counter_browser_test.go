package shell_test

import (
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/hosttest"
	"github.com/minihost/minihost/host/shell"
)

// TestCounterInBrowser opens the counter from a release server in the
// shell, taps "+1" and sees the count change; then publishes a new
// version, restarts the app (a cold start), sees the guest's update
// dialog, confirms it, and sees the new version's page with the count
// kept; then declines the next update's dialog and applies it with the
// shell's "Restart to update". Each step leaves a screenshot.
func TestCounterInBrowser(t *testing.T) {
	k, srv, b := updatesShell(t, "counter", "demo.counter")

	b.run("open the shell", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(openCounter)))
	b.shot("apps")
	b.run("open the counter", chromedp.Click(chromedp.CSS(openCounter)))
	b.waitJS("the counter's page with count 0", frameText("#count")+` === '0'`)
	b.waitJS("the page's image asset", `document.getElementById('page').contentDocument.getElementById('icon').naturalWidth > 0`)
	b.shot("counter-opened")

	b.tapInFrame("#inc")
	b.waitJS("count 1 after +1", frameText("#count")+` === '1'`)
	b.shot("counter-tapped")
	// An input's change reaches the guest too.
	b.typeInFrame("#step", "5\r")
	b.waitJS("step 5 on the page", frameText("#inc")+` === '+5'`)
	b.tapInFrame("#inc")
	b.waitJS("count 6 after step 5 and +5", frameText("#count")+` === '6' && `+frameText("#inc")+` === '+5'`)

	k.Publish(t.Context(), "counter", "1.0.1")
	b.run("restart the counter", chromedp.Click(chromedp.CSS(openCounter)))
	b.waitJS("the update dialog", `document.getElementById('dialog').open && document.getElementById('dialog-content').textContent.includes('restart')`)
	b.shot("update-dialog")
	b.run("confirm the update", chromedp.Click(chromedp.ID("dialog-confirm")))
	b.waitJS("v1.0.1's page", frameText("#version")+` === 'v1.0.1'`)
	b.waitJS("the count kept", frameText("#count")+` === '6'`)
	b.shot("updated")

	// Declining the guest's dialog leaves the shell's own offer, which
	// applies the update from the host side (host.App.ApplyUpdate).
	k.Publish(t.Context(), "counter", "1.0.2")
	b.run("restart the counter again", chromedp.Click(chromedp.CSS(openCounter)))
	b.waitJS("the update dialog", `document.getElementById('dialog').open`)
	b.run("decline the update", chromedp.Click(chromedp.ID("dialog-cancel")))
	b.waitJS("the restart-to-update button", `!document.getElementById('restart-update').hidden && !document.getElementById('dialog').open`)
	b.shot("restart-to-update")
	b.run("restart to update", chromedp.Click(chromedp.ID("restart-update")))
	b.waitJS("v1.0.2's page", frameText("#version")+` === 'v1.0.2'`)
	b.waitJS("the count kept", frameText("#count")+` === '6'`)
	b.waitJS("the offer gone", `document.getElementById('restart-update').hidden`)
	b.shot("updated-by-shell")
}

// updatesShell publishes sample 1.0.0 on a kit's release server, starts a
// shell whose host updates from it on the kit's clock, offering app, and
// a browser.
func updatesShell(t *testing.T, sample, app string) (*hosttest.Kit, *httptest.Server, *browser) {
	t.Helper()
	k := hosttest.New(t, hosttest.Config{})
	k.Publish(t.Context(), sample, "1.0.0")
	_, srv := newShell(t, shell.Config{
		Apps: []string{app},
		Host: host.Config{Updates: &host.UpdateConfig{
			Server: k.Server.URL, PublicKey: k.Server.PublicKey, ClientID: "shell-test",
			Clock: k.Clock, Now: k.Clock.Now,
		}},
	})
	return k, srv, newBrowser(t)
}

// openCounter selects the counter's Open/Restart button (its id holds a
// dot, which an #id selector would read as a class).
const openCounter = `[id="open-demo.counter"]`
