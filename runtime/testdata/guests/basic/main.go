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
package main

import (
	"encoding/json"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"time"

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

// args is the union of the events' data fields.
type args struct {
	Key        string `json:"key"`
	Value      string `json:"value"`
	Size       int    `json:"size"`
	Path       string `json:"path"`
	Title      string `json:"title"`
	Content    string `json:"content"`
	ShowCancel bool   `json:"showCancel"`
}

var (
	modals int      // modals shown by this instance
	hog    [][]byte // what "alloc" keeps
	block  = make(chan struct{})
)

func onEvent(name string, data []byte) {
	var a args
	if len(data) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &a); err != nil {
			wx.Logf(abi.LevelError, "%s: bad data: %v", name, err)
			return
		}
	}
	switch name {
	case "echo":
		wx.Logf(abi.LevelInfo, "echo %s", data)
	case "storage-set":
		wx.Logf(abi.LevelInfo, "set %s: %s", a.Key, result(wx.SetStorage(a.Key, a.Value)))
	case "storage-fill":
		wx.Logf(abi.LevelInfo, "fill %s %d: %s", a.Key, a.Size, result(wx.SetStorage(a.Key, strings.Repeat("x", a.Size))))
	case "storage-get":
		v, err := wx.GetStorage(a.Key)
		if err != nil {
			wx.Logf(abi.LevelInfo, "get %s: %v", a.Key, err)
			return
		}
		wx.Logf(abi.LevelInfo, "get %s: %s", a.Key, v)
	case "storage-remove":
		wx.Logf(abi.LevelInfo, "remove %s: %s", a.Key, result(wx.RemoveStorage(a.Key)))
	case "storage-clear":
		wx.Logf(abi.LevelInfo, "clear: %s", result(wx.ClearStorage()))
	case "storage-info":
		logJSON("info", wx.GetStorageInfo)
	case "sysinfo":
		logJSON("sysinfo", wx.GetSystemInfo)
	case "modal":
		modals++
		n := modals
		m := abi.Modal{Title: a.Title, Content: a.Content, ShowCancel: a.ShowCancel}
		err := wx.ShowModal(m, func(r abi.ModalResult) {
			wx.Logf(abi.LevelInfo, "modal %d answered confirm=%t cancel=%t", n, r.Confirm, r.Cancel)
		})
		if err != nil {
			wx.Logf(abi.LevelInfo, "modal %d: %v", n, err)
			return
		}
		wx.Logf(abi.LevelInfo, "modal %d: shown", n)
	case "readfile":
		b, err := os.ReadFile(a.Path)
		if err != nil {
			wx.Logf(abi.LevelInfo, "read %s: %v", a.Path, err)
			return
		}
		wx.Logf(abi.LevelInfo, "read %s: %d bytes", a.Path, len(b))
	case "writefile":
		wx.Logf(abi.LevelInfo, "write %s: %s", a.Path, result(os.WriteFile(a.Path, []byte("minihost"), 0o644)))
	case "panic":
		panic("boom")
	case "loop":
		//lint:ignore SA5002 spinning without yielding is the point: the host must stop it.
		for {
		}
	case "sleep":
		time.Sleep(time.Hour)
		wx.Logf(abi.LevelInfo, "slept")
	case "alloc":
		for {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			hog = append(hog, b)
		}
	case "recurse":
		wx.Logf(abi.LevelInfo, "recurse %d", recurse(1))
	case "spawn":
		for i := 0; ; i++ {
			go func() { <-block }()
			if i%1024 == 0 {
				goruntime.Gosched() // let the new goroutines run now and then
			}
		}
	case "flood":
		for i := 0; ; i++ {
			fmt.Printf("flood line %d: the host must bound what a guest writes\n", i)
		}
	case "exit":
		os.Exit(3)
	default:
		wx.Logf(abi.LevelInfo, "unknown event %s", name)
	}
}

func result(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
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

// recurse never returns: each frame holds a buffer so the stack grows fast.
func recurse(n int) int {
	var pad [256]byte
	pad[n%len(pad)] = byte(n)
	if n < 0 { // never true; keeps the recursion from looking unconditional
		return 0
	}
	return recurse(n+1) + int(pad[(n+7)%len(pad)])
}

// main never runs: the host starts the module as a reactor.
func main() {}
