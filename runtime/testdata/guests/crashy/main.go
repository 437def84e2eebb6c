//go:build wasip1

// Command crashy is the test guest of crash-loop rollback: every 2.x
// version panics in onLaunch; others log `launch version=<v>`.
package main

import (
	"strings"

	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

func init() {
	wx.OnLaunch(func(o abi.LaunchOptions) {
		if strings.HasPrefix(o.Version, "2.") {
			panic("crashy " + o.Version + " crashes on launch")
		}
		wx.Logf(abi.LevelInfo, "launch version=%s", o.Version)
	})
}

func main() {}
