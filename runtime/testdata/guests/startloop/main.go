//go:build wasip1

// Command startloop spins forever in a package init function, which a
// reactor runs inside _initialize: the module's start code never returns,
// so instantiating it must be stopped by the host's deadline.
package main

import "github.com/minihost/minihost/samples/wx"

var spins int

func init() {
	wx.OnLaunch(func(wx.LaunchOptions) { wx.Log("startloop: never reached") })
	//lint:ignore SA5002 spinning without yielding is the point: the host must stop it.
	for {
		spins++
	}
}

// main never runs: the host starts the module as a reactor.
func main() {}
