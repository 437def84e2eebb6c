//go:build wasip1

// Command sleepinit sleeps for an hour in its launch handler: the host's
// per-callback deadline must cut the sleep (poll_oneoff) short.
package main

import (
	"time"

	"github.com/minihost/minihost/samples/wx"
)

func init() {
	wx.OnLaunch(func(wx.LaunchOptions) {
		wx.Log("sleepinit: sleeping")
		time.Sleep(time.Hour)
		wx.Log("sleepinit: woke up")
	})
}

// main never runs: the host starts the module as a reactor.
func main() {}
