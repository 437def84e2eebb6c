//go:build wasip1

// Command counter is a mini program that keeps state across launches: each
// launch increments a "launches" counter in its storage, which survives
// restarts, relaunches and updates. It also uses the update manager as the
// WeChat sample does: it logs the result of the host's update check and,
// when a newer version is ready, asks whether to restart into it.
package main

import (
	"errors"
	"strconv"

	"github.com/minihost/minihost/samples/wx"
)

const key = "launches"

// launched is the running version, from the launch options; empty until
// the first launch callback.
var launched string

func init() {
	wx.OnLaunch(onLaunch)
	wx.OnShow(func() { wx.Log("counter: onShow") })
	wx.OnHide(func() { wx.Log("counter: onHide") })

	um := wx.GetUpdateManager()
	um.OnCheckForUpdate(func(hasUpdate bool) {
		wx.Logf("counter v%s: hasUpdate=%t", version(), hasUpdate)
	})
	um.OnUpdateReady(func() {
		m := wx.Modal{Title: "Update", Content: "The new version is ready, restart the app?", ShowCancel: true}
		err := wx.ShowModal(m, func(r wx.ModalResult) {
			if !r.Confirm {
				return
			}
			if err := um.ApplyUpdate(); err != nil {
				wx.Errorf("counter v%s: apply update: %v", version(), err)
			}
		})
		if err != nil {
			wx.Errorf("counter v%s: show update modal: %v", version(), err)
		}
		wx.Logf("counter v%s: update ready", version())
	})
	um.OnUpdateFailed(func() { wx.Logf("counter v%s: update failed", version()) })
}

func onLaunch(o wx.LaunchOptions) {
	launched = o.Version
	n, err := launches()
	if err != nil {
		wx.Errorf("counter v%s: read %s: %v", o.Version, key, err)
		return
	}
	n++
	if err := wx.SetStorage(key, strconv.Itoa(n)); err != nil {
		wx.Errorf("counter v%s: save %s: %v", o.Version, key, err)
		return
	}
	wx.Logf("counter v%s: launch #%d (reason %s)", o.Version, n, o.Reason)
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
func launches() (int, error) {
	s, err := wx.GetStorage(key)
	if errors.Is(err, wx.ErrNotFound) {
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
