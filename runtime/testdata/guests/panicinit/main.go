//go:build wasip1

// Command panicinit panics in its launch handler: the host must report the
// trap, and every relaunch traps again.
package main

import (
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

func init() {
	wx.OnLaunch(func(abi.LaunchOptions) {
		wx.Logf(abi.LevelInfo, "panicinit: panicking")
		panic("panicinit: boom")
	})
}

// main never runs: the host starts the module as a reactor.
func main() {}
