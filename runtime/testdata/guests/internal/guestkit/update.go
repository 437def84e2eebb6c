//go:build wasip1

package guestkit

import (
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

// LogLaunch registers the onLaunch callback, which logs
// "launch version=<v> reason=<r>" (info level).
func LogLaunch() {
	wx.OnLaunch(func(o abi.LaunchOptions) {
		wx.Logf(abi.LevelInfo, "launch version=%s reason=%s", o.Version, o.Reason)
	})
}

// LogUpdates returns the update manager, which wx.GetUpdateManager
// registers with the host, with handlers that log (info level)
// "check hasUpdate=<bool>" (OnCheckForUpdate), "ready" (OnUpdateReady)
// and "failed" (OnUpdateFailed).
func LogUpdates() *wx.UpdateManager {
	um := wx.GetUpdateManager()
	um.OnCheckForUpdate(func(hasUpdate bool) { wx.Logf(abi.LevelInfo, "check hasUpdate=%t", hasUpdate) })
	um.OnUpdateReady(func() { wx.Logf(abi.LevelInfo, "ready") })
	um.OnUpdateFailed(func() { wx.Logf(abi.LevelInfo, "failed") })
	return um
}

// Apply calls um.ApplyUpdate and logs "apply: ok|<err>" (info level).
func Apply(um *wx.UpdateManager) {
	wx.Logf(abi.LevelInfo, "apply: %s", Result(um.ApplyUpdate()))
}
