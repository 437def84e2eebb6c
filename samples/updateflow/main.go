//go:build wasip1

// Command updateflow is a mini program that shows the WeChat update flow
// on its page, step by step: the host's check (onCheckForUpdate), the
// download (onUpdateReady or onUpdateFailed), a "restart to update?"
// dialog behind the page's button, and applyUpdate, after which the new
// version's page says which version it replaced (kept in storage, which
// survives the swap).
package main

import (
	"errors"

	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

// fromKey holds the version that asked to be replaced.
const fromKey = "updated-from"

var (
	version string
	reason  string
	steps   []string
	ready   bool
)

func init() {
	wx.OnLaunch(func(o abi.LaunchOptions) {
		version, reason = o.Version, o.Reason
		step("launched v" + o.Version + " (reason " + o.Reason + ")")
		if from, err := wx.GetStorage(fromKey); err == nil && o.Reason == abi.ReasonUpdate {
			step("updated from v" + from)
			wx.RemoveStorage(fromKey)
		} else if err != nil && !errors.Is(err, abi.CodeNotFound) {
			wx.Logf(abi.LevelError, "updateflow: read %s: %v", fromKey, err)
		}
	})
	wx.OnView(onView)
	um := wx.GetUpdateManager()
	um.OnCheckForUpdate(func(hasUpdate bool) {
		if hasUpdate {
			step("check: a newer version exists, downloading")
		} else {
			step("check: up to date")
		}
	})
	um.OnUpdateReady(func() {
		ready = true
		step("update ready: downloaded, verified, compiled")
	})
	um.OnUpdateFailed(func() { step("update failed: this version carries on") })
}

// onView handles the page's "Restart to update" button.
func onView(ev abi.ViewEvent) {
	if ev.Handler != "restart" || !ready {
		return
	}
	m := abi.Modal{Title: "Update", Content: "A new version is ready. Restart to update?", ShowCancel: true, ConfirmText: "Restart", CancelText: "Later"}
	err := wx.ShowModal(m, func(r abi.ModalResult) {
		if !r.Confirm {
			step("restart declined: later")
			return
		}
		if err := wx.SetStorage(fromKey, version); err != nil {
			wx.Logf(abi.LevelError, "updateflow: save %s: %v", fromKey, err)
		}
		step("applyUpdate")
		if err := wx.GetUpdateManager().ApplyUpdate(); err != nil {
			step("applyUpdate failed: " + err.Error())
		}
	})
	if err != nil {
		step("dialog refused: " + err.Error())
		return
	}
	step("asked: restart to update?")
}

// step records one step of the flow, logs it and shows it on the page.
func step(s string) {
	steps = append(steps, s)
	wx.Logf(abi.LevelInfo, "updateflow: %s", s)
	data := map[string]any{"version": version, "reason": reason, "steps": steps, "ready": ready}
	if err := wx.SetData("index", data); err != nil {
		wx.Logf(abi.LevelError, "updateflow: set data: %v", err)
	}
}

// main never runs: the host starts the module as a reactor.
func main() {}
