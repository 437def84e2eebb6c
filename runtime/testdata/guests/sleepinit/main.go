//go:build wasip1

// Command sleepinit sleeps for an hour in its launch handler: the host's
// per-callback deadline must cut the sleep (poll_oneoff) short.
package main

import (
	"time"

	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

func init() {
	wx.OnLaunch(func(abi.LaunchOptions) {
		wx.Logf(abi.LevelInfo, "sleepinit: sleeping")
		time.Sleep(time.Hour)
		wx.Logf(abi.LevelInfo, "sleepinit: woke up")
	})
}

// main never runs: the host starts the module as a reactor.
func main() {}
