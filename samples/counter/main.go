//go:build wasip1

// Command counter is a mini program that keeps state across launches: each
// launch increments a "launches" counter in its storage, which survives
// restarts, relaunches and updates. It also uses the update manager as the
// WeChat sample does: it logs the result of the host's update check and,
// when a newer version is ready, asks whether to restart into it. Its page
// (pages/index.html) shows a tap count, kept in storage too, a "+1"
// button bound to the handler "inc" and a step input bound to "step".
package main

import (
	"errors"
	"strconv"

	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

const key = "launches"

// tapsKey holds the page's count, which survives updates like launches.
const tapsKey = "taps"

// launched is the running version, from the launch options; empty until
// the first launch callback.
var launched string

func init() {
	wx.OnLaunch(onLaunch)
	wx.OnShow(func() { wx.Logf(abi.LevelInfo, "counter: onShow") })
	wx.OnHide(func() { wx.Logf(abi.LevelInfo, "counter: onHide") })
	wx.OnView(onView)

	um := wx.GetUpdateManager()
	um.OnCheckForUpdate(func(hasUpdate bool) {
		wx.Logf(abi.LevelInfo, "counter v%s: hasUpdate=%t", version(), hasUpdate)
	})
	um.OnUpdateReady(func() {
		m := abi.Modal{Title: "Update", Content: "The new version is ready, restart the app?", ShowCancel: true}
		err := wx.ShowModal(m, func(r abi.ModalResult) {
			if !r.Confirm {
				return
			}
			if err := um.ApplyUpdate(); err != nil {
				wx.Logf(abi.LevelError, "counter v%s: apply update: %v", version(), err)
			}
		})
		if err != nil {
			wx.Logf(abi.LevelError, "counter v%s: show update modal: %v", version(), err)
		}
		wx.Logf(abi.LevelInfo, "counter v%s: update ready", version())
	})
	um.OnUpdateFailed(func() { wx.Logf(abi.LevelInfo, "counter v%s: update failed", version()) })
}

func onLaunch(o abi.LaunchOptions) {
	launched = o.Version
	n, err := launches()
	if err != nil {
		wx.Logf(abi.LevelError, "counter v%s: read %s: %v", o.Version, key, err)
		return
	}
	n++
	if err := wx.SetStorage(key, strconv.Itoa(n)); err != nil {
		wx.Logf(abi.LevelError, "counter v%s: save %s: %v", o.Version, key, err)
		return
	}
	wx.Logf(abi.LevelInfo, "counter v%s: launch #%d (reason %s)", o.Version, n, o.Reason)
	render(n)
}

// launchCount is this instance's launch number, shown on the page.
var launchCount int

// step is what a tap adds, 1 to 100, set by the page's input; it is the
// instance's, so a new one starts at 1 again.
var step = 1

// onView handles the page: "inc" adds step to the count, "step" sets it.
func onView(ev abi.ViewEvent) {
	switch ev.Handler {
	case "step":
		n, err := strconv.Atoi(ev.Value)
		if err != nil || n < 1 || n > 100 {
			wx.Logf(abi.LevelWarn, "counter v%s: step %q: want 1 to 100", version(), ev.Value)
		} else {
			step = n
		}
		render(launchCount)
		return
	case "inc":
	default:
		return
	}
	taps, err := stored(tapsKey)
	if err != nil {
		wx.Logf(abi.LevelError, "counter v%s: read %s: %v", version(), tapsKey, err)
		return
	}
	if err := wx.SetStorage(tapsKey, strconv.Itoa(taps+step)); err != nil {
		wx.Logf(abi.LevelError, "counter v%s: save %s: %v", version(), tapsKey, err)
		return
	}
	render(launchCount)
}

// render sets the index page's data from storage.
func render(launches int) {
	launchCount = launches
	taps, err := stored(tapsKey)
	if err != nil {
		wx.Logf(abi.LevelError, "counter v%s: read %s: %v", version(), tapsKey, err)
	}
	data := map[string]any{"count": taps, "version": version(), "launches": launches, "step": step}
	if err := wx.SetData("index", data); err != nil {
		wx.Logf(abi.LevelError, "counter v%s: set data: %v", version(), err)
	}
}

// version returns the running version for the update lines. It is the
// launch options' version; an update event the host delivers before the
// first launch callback (the registration in init may bring one) falls
// back to the same version as GetSystemInfo reports it.
func version() string {
	if launched != "" {
		return launched
	}
	if info, err := wx.GetSystemInfo(); err == nil {
		return info.AppVersion
	}
	return "?"
}

// launches returns the stored count, 0 before the first launch.
func launches() (int, error) { return stored(key) }

// stored returns the number stored under k, 0 before it is first set.
func stored(k string) (int, error) {
	s, err := wx.GetStorage(k)
	if errors.Is(err, abi.CodeNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		// A corrupt counter is reported, not silently reset.
		return 0, err
	}
	return n, nil
}

// main never runs: the host starts the module as a reactor.
func main() {}
