//go:build wasip1

// Command updater is the test guest of the update manager: it calls
// wx.GetUpdateManager in init, so the host registers it before the first
// callback. Log lines (info level):
//
//	launch version=<v> reason=<r>    every launch callback
//	check hasUpdate=<bool>           OnCheckForUpdate
//	ready                            OnUpdateReady
//	failed                           OnUpdateFailed
//	apply: ok|<err>                  custom event "apply": ApplyUpdate
//	unknown event <name>
package main

import (
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

var um *wx.UpdateManager

func init() {
	wx.OnLaunch(func(o abi.LaunchOptions) {
		wx.Logf(abi.LevelInfo, "launch version=%s reason=%s", o.Version, o.Reason)
	})
	wx.OnEvent(onEvent)

	um = wx.GetUpdateManager()
	um.OnCheckForUpdate(func(hasUpdate bool) { wx.Logf(abi.LevelInfo, "check hasUpdate=%t", hasUpdate) })
	um.OnUpdateReady(func() { wx.Logf(abi.LevelInfo, "ready") })
	um.OnUpdateFailed(func() { wx.Logf(abi.LevelInfo, "failed") })
}

func onEvent(name string, _ []byte) {
	switch name {
	case "apply":
		if err := um.ApplyUpdate(); err != nil {
			wx.Logf(abi.LevelInfo, "apply: %v", err)
			return
		}
		wx.Logf(abi.LevelInfo, "apply: ok")
	default:
		wx.Logf(abi.LevelInfo, "unknown event %s", name)
	}
}

// main never runs: the host starts the module as a reactor.
func main() {}
