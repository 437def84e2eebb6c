//go:build wasip1

// Command basic is the runtime's and host's general test guest. It logs
// its lifecycle and answers custom events by name, each exercising one wx
// API or one way for a guest to misbehave. Log lines (info level):
//
//	launch version=<v> reason=<r> appId=<id>   show   hide
//	echo <data>                                 event "echo"
//	set <key>: ok|<err>                         "storage-set" {"key","value"}
//	fill <key> <size>: ok|<err>                 "storage-fill" {"key","size"}: a value of size 'x' bytes
//	get <key>: <value>|<err>                    "storage-get" {"key"}
//	remove <key>: ok|<err>                      "storage-remove" {"key"}
//	clear: ok|<err>                             "storage-clear"
//	info: <StorageInfo as JSON>|<err>           "storage-info"
//	modal <n>: shown|<err>                      "modal" {"title","content","showCancel"} (n counts from 1)
//	modal <n> answered confirm=<bool> cancel=<bool>
//	sysinfo: <SystemInfo as JSON>|<err>         "sysinfo"
//	read <path>: <n> bytes|<err>                "readfile" {"path"}
//	write <path>: ok|<err>                      "writefile" {"path"}
//	unknown event <name>
//
// and misbehaves on "panic", "loop", "sleep" (1 h), "alloc" (1 MiB chunks,
// kept), "recurse", "spawn" (goroutines, forever), "flood" (stdout,
// forever) and "exit" (os.Exit(3)).
//
// guestkit (runtime/testdata/guests/internal/guestkit), shared with the
// adversary guest, decodes the data (Decode) and answers "storage-set",
// "storage-get", "readfile", "writefile" (Handle), numbers the modals
// (ShowModal) and misbehaves (Misbehave: all but "panic").
package main

import (
	"encoding/json"
	"strings"

	"github.com/minihost/minihost/runtime/testdata/guests/internal/guestkit"
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

func init() {
	wx.OnLaunch(func(o abi.LaunchOptions) {
		wx.Logf(abi.LevelInfo, "launch version=%s reason=%s appId=%s", o.Version, o.Reason, o.AppID)
	})
	wx.OnShow(func() { wx.Logf(abi.LevelInfo, "show") })
	wx.OnHide(func() { wx.Logf(abi.LevelInfo, "hide") })
	wx.OnEvent(onEvent)
}

func onEvent(name string, data []byte) {
	a, ok := guestkit.Decode(name, data)
	if !ok {
		return
	}
	switch name {
	case "echo":
		wx.Logf(abi.LevelInfo, "echo %s", data)
	case "storage-fill":
		wx.Logf(abi.LevelInfo, "fill %s %d: %s", a.Key, a.Size, guestkit.Result(wx.SetStorage(a.Key, strings.Repeat("x", a.Size))))
	case "storage-remove":
		wx.Logf(abi.LevelInfo, "remove %s: %s", a.Key, guestkit.Result(wx.RemoveStorage(a.Key)))
	case "storage-clear":
		wx.Logf(abi.LevelInfo, "clear: %s", guestkit.Result(wx.ClearStorage()))
	case "storage-info":
		logJSON("info", wx.GetStorageInfo)
	case "sysinfo":
		logJSON("sysinfo", wx.GetSystemInfo)
	case "modal":
		m := abi.Modal{Title: a.Title, Content: a.Content, ShowCancel: a.ShowCancel}
		guestkit.ShowModal(func(int) abi.Modal { return m }, func(n int, r abi.ModalResult) {
			wx.Logf(abi.LevelInfo, "modal %d answered confirm=%t cancel=%t", n, r.Confirm, r.Cancel)
		})
	case "panic":
		panic("boom")
	default:
		if !guestkit.Handle(name, a) && !guestkit.Misbehave(name) {
			wx.Logf(abi.LevelInfo, "unknown event %s", name)
		}
	}
}

func logJSON[T any](label string, get func() (T, error)) {
	v, err := get()
	if err != nil {
		wx.Logf(abi.LevelInfo, "%s: %v", label, err)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		wx.Logf(abi.LevelInfo, "%s: %v", label, err)
		return
	}
	wx.Logf(abi.LevelInfo, "%s: %s", label, b)
}

// main never runs: the host starts the module as a reactor.
func main() {}
