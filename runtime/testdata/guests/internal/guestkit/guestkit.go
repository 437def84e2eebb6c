//go:build wasip1

// Package guestkit holds what the test guests in runtime/testdata/guests
// do alike, so that each piece is written once: decoding a custom event's
// data (Decode), the events several guests answer the same way (Handle),
// numbered modals (ShowModal), misbehaving on request (Misbehave), and
// logging launches and the update manager's results (LogLaunch,
// LogUpdates, Apply).
//
// The guests' tests match the log lines written here. Each guest's package
// doc lists every line it writes, those of guestkit included: a change to
// a line here is a change to every guest that calls the function, and to
// those docs.
//
// guestkit is a library for the guests alone (internal to
// runtime/testdata/guests): the go command compiles it into each guest
// that imports it, as it does the SDK, and runtimetest keys its cache of
// built guests on its files, as on the SDK's.
package guestkit

import (
	"encoding/json"
	"os"

	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

// Args is the union of the data fields of the guests' custom events.
type Args struct {
	Key        string `json:"key"`
	Value      string `json:"value"`
	Size       int    `json:"size"`
	Path       string `json:"path"`
	Target     string `json:"target"`
	Title      string `json:"title"`
	Content    string `json:"content"`
	ShowCancel bool   `json:"showCancel"`
	Callback   string `json:"callback"`
	Action     string `json:"action"`
}

// Decode returns the fields of the data of custom event name: zero when
// data is not a JSON object. When the object does not decode, it logs
// "<name>: bad data: <err>" (error level) and returns false: the guest
// then ignores the event.
func Decode(name string, data []byte) (Args, bool) {
	var a Args
	if len(data) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &a); err != nil {
			wx.Logf(abi.LevelError, "%s: bad data: %v", name, err)
			return Args{}, false
		}
	}
	return a, true
}

// Handle answers the custom events that guests share, and reports whether
// name was one of them. Log lines (info level):
//
//	set <key>: ok|<err>                      "storage-set" {"key","value"}
//	get <key>: <value>|<err>                 "storage-get" {"key"}
//	read <path>: <n> bytes|<err>             "readfile" {"path"}
//	write <path>: ok|<err>                   "writefile" {"path"}: writes "minihost"
func Handle(name string, a Args) bool {
	switch name {
	case "storage-set":
		wx.Logf(abi.LevelInfo, "set %s: %s", a.Key, Result(wx.SetStorage(a.Key, a.Value)))
	case "storage-get":
		v, err := wx.GetStorage(a.Key)
		if err != nil {
			wx.Logf(abi.LevelInfo, "get %s: %v", a.Key, err)
			break
		}
		wx.Logf(abi.LevelInfo, "get %s: %s", a.Key, v)
	case "readfile":
		b, err := os.ReadFile(a.Path)
		if err != nil {
			wx.Logf(abi.LevelInfo, "read %s: %v", a.Path, err)
			break
		}
		wx.Logf(abi.LevelInfo, "read %s: %d bytes", a.Path, len(b))
	case "writefile":
		wx.Logf(abi.LevelInfo, "write %s: %s", a.Path, Result(os.WriteFile(a.Path, []byte("minihost"), 0o644)))
	default:
		return false
	}
	return true
}

// modals counts the modals ShowModal asked for in this instance.
var modals int

// ShowModal asks for the instance's next modal, numbered n from 1: the
// one modal(n) returns, whose answer goes to answered with n. It logs
// "modal <n>: shown|<err>" (info level).
func ShowModal(modal func(n int) abi.Modal, answered func(n int, r abi.ModalResult)) {
	modals++
	n := modals
	err := wx.ShowModal(modal(n), func(r abi.ModalResult) { answered(n, r) })
	if err != nil {
		wx.Logf(abi.LevelInfo, "modal %d: %v", n, err)
		return
	}
	wx.Logf(abi.LevelInfo, "modal %d: shown", n)
}

// Result is "ok" for a nil err, else err's message.
func Result(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}
