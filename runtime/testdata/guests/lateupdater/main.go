//go:build wasip1

// Command lateupdater is the test guest of late registration with the
// update manager: it calls wx.GetUpdateManager, and adds its handlers, only
// when it receives the custom event "register", so every update result the
// host found before then must still reach it, once. Log lines (info level):
//
//	launch version=<v> reason=<r>    every launch callback
//	registered                       custom event "register" (again: "registered again")
//	check hasUpdate=<bool>           OnCheckForUpdate
//	ready                            OnUpdateReady
//	failed                           OnUpdateFailed
//	apply: ok|<err>                  custom event "apply": ApplyUpdate
//	apply: not registered            "apply" before "register" (the host is not called)
//	unknown event <name>
//
// The launch, update manager and "apply: ok|<err>" lines are guestkit's
// (LogLaunch, LogUpdates, Apply), shared with updater.
package main

import (
	"github.com/minihost/minihost/runtime/testdata/guests/internal/guestkit"
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

// um is the update manager, nil until the event "register".
var um *wx.UpdateManager

func init() {
	guestkit.LogLaunch()
	wx.OnEvent(onEvent)
}

func onEvent(name string, _ []byte) {
	switch name {
	case "register":
		if um != nil {
			wx.Logf(abi.LevelInfo, "registered again")
			return
		}
		um = guestkit.LogUpdates()
		wx.Logf(abi.LevelInfo, "registered")
	case "apply":
		if um == nil {
			wx.Logf(abi.LevelInfo, "apply: not registered")
			return
		}
		guestkit.Apply(um)
	default:
		wx.Logf(abi.LevelInfo, "unknown event %s", name)
	}
}

// main never runs: the host starts the module as a reactor.
func main() {}
