//go:build wasip1

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/dop251/goja"

	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

// js is the realm of this instance: app.js runs in init, under the host's
// deadline for _initialize.
var js *base

func init() {
	js = newBase(sdk{}, crash)
	wx.OnLaunch(func(o abi.LaunchOptions) {
		js.lifecycle("onLaunch", js.fromJSON(o))
	})
	wx.OnShow(func() { js.lifecycle("onShow") })
	wx.OnHide(func() { js.lifecycle("onHide") })
	wx.OnEvent(func(name string, data []byte) {
		v, ok := js.parseJSON(string(data))
		if !ok {
			v = goja.Null()
		}
		js.lifecycle("onEvent", js.vm.ToValue(name), v)
	})
	if e := entry(); e != "" {
		js.load(e)
	}
}

// entry is the JS entry module the package's app.json names, or "" when
// no package is mounted: the base library instantiated on its own, as the
// release side's validator and a host's checks do, runs no JavaScript.
func entry() string {
	data, err := os.ReadFile("/app.json")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EBADF) {
		return "" // no package mounted (EBADF: no preopened folder at all)
	}
	if err != nil {
		crash("app.json", err)
	}
	var m struct {
		Entry string `json:"entry"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		crash("app.json", err)
	}
	return m.Entry
}

// crash ends the instance as a Go panic does: "panic: " and the message
// on stderr, then exit code 2. The host reports it like any guest's panic,
// with the panic line as the failure's summary.
func crash(where string, err error) {
	fmt.Fprintln(os.Stderr, "panic: "+report(where, err))
	os.Exit(2)
}

// sdk is the platform of the guest: the wx SDK.
type sdk struct{}

func (sdk) log(level abi.LogLevel, msg string) { wx.Logf(level, "%s", msg) }

func (sdk) readFile(name string, limit int) ([]byte, error) {
	f, err := os.Open("/" + name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

func (sdk) getStorage(key string) (string, error) { return wx.GetStorage(key) }
func (sdk) setStorage(key, value string) error    { return wx.SetStorage(key, value) }
func (sdk) removeStorage(key string) error        { return wx.RemoveStorage(key) }
func (sdk) clearStorage() error                   { return wx.ClearStorage() }
func (sdk) systemInfo() (abi.SystemInfo, error)   { return wx.GetSystemInfo() }
func (sdk) applyUpdate() error                    { return wx.GetUpdateManager().ApplyUpdate() }
func (sdk) clearTimer(id uint32)                  { wx.ClearTimeout(id) }
func (sdk) showModal(m abi.Modal, answer func(abi.ModalResult)) error {
	return wx.ShowModal(m, answer)
}

func (sdk) registerUpdates(check func(bool), ready, failed func()) {
	um := wx.GetUpdateManager()
	um.OnCheckForUpdate(check)
	um.OnUpdateReady(ready)
	um.OnUpdateFailed(failed)
}

func (sdk) setTimer(delayMS int64, fire func()) (uint32, error) {
	return wx.SetTimeout(time.Duration(delayMS)*time.Millisecond, fire)
}
