//go:build wasip1

// Command hello is the smallest mini program: it logs every lifecycle
// callback the host makes and every custom event it receives.
package main

import (
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

// version is the running version, as the host reports it at launch.
var version = "?"

func init() {
	wx.OnLaunch(func(o abi.LaunchOptions) {
		version = o.Version
		wx.Logf(abi.LevelInfo, "hello v%s: onLaunch (reason %s)", version, o.Reason)
	})
	wx.OnShow(func() { wx.Logf(abi.LevelInfo, "hello v%s: onShow", version) })
	wx.OnHide(func() { wx.Logf(abi.LevelInfo, "hello v%s: onHide", version) })
	wx.OnEvent(func(name string, data []byte) {
		wx.Logf(abi.LevelInfo, "hello v%s: event %q data %s", version, name, data)
	})
}

// main never runs: the host starts the module as a reactor.
func main() {}
