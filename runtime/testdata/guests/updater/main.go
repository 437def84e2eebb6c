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
//
// The launch, update manager and apply lines are guestkit's (LogLaunch,
// LogUpdates, Apply), shared with lateupdater.
package main

import (
	"github.com/minihost/minihost/runtime/testdata/guests/internal/guestkit"
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

var um *wx.UpdateManager

func init() {
	um = guestkit.LogUpdates() // registers the manager with the host now
	guestkit.LogLaunch()
	wx.OnEvent(onEvent)
}

func onEvent(name string, _ []byte) {
	switch name {
	case "apply":
		guestkit.Apply(um)
	default:
		wx.Logf(abi.LevelInfo, "unknown event %s", name)
	}
}

// main never runs: the host starts the module as a reactor.
func main() {}
