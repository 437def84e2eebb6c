//go:build wasip1

// Command counter is a mini program that keeps state across launches: each
// launch increments a "launches" counter in its storage, which survives
// restarts, relaunches and updates.
package main

import (
	"errors"
	"strconv"

	"github.com/minihost/minihost/samples/wx"
)

const key = "launches"

func init() {
	wx.OnLaunch(onLaunch)
	wx.OnShow(func() { wx.Log("counter: onShow") })
	wx.OnHide(func() { wx.Log("counter: onHide") })
}

func onLaunch(o wx.LaunchOptions) {
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
