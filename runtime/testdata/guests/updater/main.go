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

import "github.com/minihost/minihost/samples/wx"

var um *wx.UpdateManager

func init() {
	wx.OnLaunch(func(o wx.LaunchOptions) {
		wx.Logf("launch version=%s reason=%s", o.Version, o.Reason)
	})
	wx.OnEvent(onEvent)

	um = wx.GetUpdateManager()
	um.OnCheckForUpdate(func(hasUpdate bool) { wx.Logf("check hasUpdate=%t", hasUpdate) })
	um.OnUpdateReady(func() { wx.Log("ready") })
	um.OnUpdateFailed(func() { wx.Log("failed") })
}

func onEvent(name string, _ []byte) {
	switch name {
	case "apply":
		if err := um.ApplyUpdate(); err != nil {
			wx.Logf("apply: %v", err)
			return
		}
		wx.Log("apply: ok")
	default:
		wx.Logf("unknown event %s", name)
	}
}

// main never runs: the host starts the module as a reactor.
func main() {}
