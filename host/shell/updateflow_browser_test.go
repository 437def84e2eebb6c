package shell_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestUpdateFlowInBrowser walks the updateflow sample's page through the
// WeChat update flow: a cold start finds a newer version, the page shows
// check and ready, its "Restart to update" button asks in a dialog, and
// confirming applies the update; the new version's page says what it
// replaced.
func TestUpdateFlowInBrowser(t *testing.T) {
	k, srv, b := updatesShell(t, "updateflow", "demo.updateflow")
	open := chromedp.CSS(`[id="open-demo.updateflow"]`)

	b.run("open the shell", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(open))
	b.run("open updateflow", chromedp.Click(open))
	b.waitJS("v1.0.0's page", frameText("#version")+` === 'v1.0.0' && `+frameText("#waiting")+` === 'no update ready'`)
	k.Publish(t.Context(), "updateflow", "1.1.0")
	b.run("restart updateflow", chromedp.Click(open))
	b.waitJS("check and ready on the page", frameText("#steps")+`?.includes('update ready') && `+frameText("#steps")+`.includes('a newer version exists')`)
	b.shot("ready")
	b.tapInFrame("#restart")
	b.waitJS("the restart dialog", `document.getElementById('dialog').open && document.getElementById('dialog-content').textContent === 'A new version is ready. Restart to update?'`)
	b.shot("dialog")
	b.run("confirm", chromedp.Click(chromedp.ID("dialog-confirm")))
	b.waitJS("v1.1.0's page", frameText("#version")+` === 'v1.1.0' && `+frameText("#steps")+`?.includes('updated from v1.0.0')`)
	b.shot("updated")
}
