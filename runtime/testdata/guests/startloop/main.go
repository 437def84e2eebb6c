//go:build wasip1

// Command startloop spins forever in a package init function, which a
// reactor runs inside _initialize: the module's start code never returns,
// so instantiating it must be stopped by the host's deadline.
package main

import (
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

var spins int

func init() {
	wx.OnLaunch(func(abi.LaunchOptions) { wx.Logf(abi.LevelInfo, "startloop: never reached") })
	//lint:ignore SA5002 spinning without yielding is the point: the host must stop it.
	for {
		spins++
	}
}

// main never runs: the host starts the module as a reactor.
func main() {}
