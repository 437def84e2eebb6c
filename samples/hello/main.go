//go:build wasip1

// Command hello is the smallest mini program: it logs every lifecycle
// callback the host makes and every custom event it receives.
package main

import "github.com/minihost/minihost/samples/wx"

// version is the running version, as the host reports it at launch.
var version = "?"

func init() {
	wx.OnLaunch(func(o wx.LaunchOptions) {
		version = o.Version
		wx.Logf("hello v%s: onLaunch (reason %s)", version, o.Reason)
	})
	wx.OnShow(func() { wx.Logf("hello v%s: onShow", version) })
	wx.OnHide(func() { wx.Logf("hello v%s: onHide", version) })
	wx.OnEvent(func(name string, data []byte) {
		wx.Logf("hello v%s: event %q data %s", version, name, data)
	})
}

// main never runs: the host starts the module as a reactor.
func main() {}
