//go:build wasip1

// Command loopinit spins forever in its launch handler, without yielding:
// the host's per-callback deadline must stop it.
package main

import (
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

func init() {
	wx.OnLaunch(func(abi.LaunchOptions) {
		wx.Logf(abi.LevelInfo, "loopinit: spinning")
		//lint:ignore SA5002 spinning without yielding is the point: the host must stop it.
		for {
		}
	})
}

// main never runs: the host starts the module as a reactor.
func main() {}
