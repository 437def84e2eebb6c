//go:build wasip1

// Command panicinit panics in its launch handler: the host must report the
// trap, and every relaunch traps again.
package main

import "github.com/minihost/minihost/samples/wx"

func init() {
	wx.OnLaunch(func(wx.LaunchOptions) {
		wx.Log("panicinit: panicking")
		panic("panicinit: boom")
	})
}

// main never runs: the host starts the module as a reactor.
func main() {}
