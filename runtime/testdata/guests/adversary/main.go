//go:build wasip1

// Command adversary is the sandbox-escape test guest of the host: it tries
// to leave its sandbox and to misbehave in every callback, on request.
//
// Custom events (data is a JSON object) and their log lines (info level):
//
//	read <path>: <n> bytes|<err>             "readfile" {"path"}
//	list <path>: <name>,<name>...|<err>      "listdir" {"path"}
//	stat <path>: <mode> <size>|<err>         "stat" {"path"}
//	write <path>: ok|<err>                   "writefile" {"path"}
//	mkdir <path>: ok|<err>                   "mkdir" {"path"}
//	remove <path>: ok|<err>                  "remove" {"path"}
//	symlink <path>: ok|<err>                 "symlink" {"path", "target"}
//	rename <path>: ok|<err>                  "rename" {"path", "target"}
//	env: args=<n> env=<n>                    "env": what the guest can see of the host's process
//	set <key>: ok|<err>                      "storage-set" {"key", "value"}
//	get <key>: <value>|<err>                 "storage-get" {"key"}
//	setkey <n>: ok|<err>                     "storage-key" {"size"}: a key of n bytes
//	setvalue <n>: ok|<err>                   "storage-value" {"size"}: a value of n bytes
//	fill: <n> keys: <err>                    "storage-fill": 64 KiB values until an error
//	reenter n=<n> modals=<m> busy=<b>        "reenter" {"size"}: n rounds of every wx call from one
//	                                         callback; a modal every 64 rounds (shown or EBUSY)
//	reenter modal answered                   the answer to one of those modals
//	modal <n>: shown|<err>                   "modal": its answer runs the "onModal" arming
//	modal <n> answered confirm=<bool>
//	armed <callback>: ok|<err>               "arm" {"callback", "action"}: persisted in storage
//	disarmed                                 "disarm"
//	misbehave <action> in <callback>         before misbehaving
//	unknown event <name>
//
// and misbehaves, in the custom event itself, with "misbehave" {"action"},
// where action is one of: loop, sleep (1 h), panic, alloc (1 MiB chunks,
// kept), recurse, spawn (goroutines, forever), flood (stdout, forever),
// logflood (wx.log, forever), hostloop (wx calls without logging, forever),
// exit (os.Exit(3)).
//
// Arming makes a callback misbehave: the callbacks onLaunch, onShow,
// onHide, onEvent (every custom event but arm and disarm), onModal (a modal
// answer), onCheckForUpdate, onUpdateReady and onUpdateFailed read the
// storage key "arm:<callback>" on entry and, if set, run that action. The
// guest registers its update manager in init.
//
// Every callback also checks that it was not entered while another one was
// running (the host must never call into the guest from a host function):
// a violation logs "REENTERED <callback> inside <callback>".
//
// guestkit (runtime/testdata/guests/internal/guestkit), shared with the
// basic guest, decodes the data (Decode) and answers "storage-set",
// "storage-get", "readfile", "writefile" (Handle), numbers the modals
// (ShowModal) and runs the actions loop, sleep, alloc, recurse, spawn,
// flood and exit (Misbehave).
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"unsafe"

	"github.com/minihost/minihost/runtime/testdata/guests/internal/guestkit"
	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

// Raw imports, to call what the SDK calls once (update_manager_register)
// or hides (apply_update without a manager) as often as the test wants.

//go:wasmimport wx update_manager_register
func rawRegister() int32

//go:wasmimport wx apply_update
func rawApplyUpdate() int32

//go:wasmimport wx get_system_info
func rawGetSystemInfo(buf unsafe.Pointer, bufCap uint32) int32

func init() {
	wx.OnLaunch(func(o abi.LaunchOptions) {
		callback("onLaunch", fmt.Sprintf("launch version=%s reason=%s", o.Version, o.Reason))
	})
	wx.OnShow(func() { callback("onShow", "show") })
	wx.OnHide(func() { callback("onHide", "hide") })
	wx.OnEvent(func(name string, data []byte) {
		defer enter("onEvent")()
		if name != "arm" && name != "disarm" {
			armed("onEvent")
		}
		onEvent(name, data)
	})
	um := wx.GetUpdateManager()
	um.OnCheckForUpdate(func(has bool) { callback("onCheckForUpdate", fmt.Sprintf("check hasUpdate=%t", has)) })
	um.OnUpdateReady(func() { callback("onUpdateReady", "ready") })
	um.OnUpdateFailed(func() { callback("onUpdateFailed", "failed") })
}

// callback is the body of every callback but onEvent: marked as cb
// running, it logs line, then runs the action armed for cb.
func callback(cb, line string) {
	defer enter(cb)()
	wx.Logf(abi.LevelInfo, "%s", line)
	armed(cb)
}

// current is the callback running now ("" between callbacks).
var current string

// enter marks callback cb as running and returns the function that marks
// it done. The SDK runs modal answers inside onEvent's export, so a modal
// answer is entered from "onModal" with no callback of ours running.
func enter(cb string) func() {
	if current != "" {
		wx.Logf(abi.LevelError, "REENTERED %s inside %s", cb, current)
	}
	current = cb
	return func() { current = "" }
}

func onEvent(name string, data []byte) {
	a, ok := guestkit.Decode(name, data)
	if !ok {
		return
	}
	switch name {
	case "listdir":
		entries, err := os.ReadDir(a.Path)
		if err != nil {
			wx.Logf(abi.LevelInfo, "list %s: %v", a.Path, err)
			return
		}
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		sort.Strings(names)
		wx.Logf(abi.LevelInfo, "list %s: %s", a.Path, strings.Join(names, ","))
	case "stat":
		st, err := os.Stat(a.Path)
		if err != nil {
			wx.Logf(abi.LevelInfo, "stat %s: %v", a.Path, err)
			return
		}
		wx.Logf(abi.LevelInfo, "stat %s: %v %d", a.Path, st.Mode(), st.Size())
	case "mkdir":
		wx.Logf(abi.LevelInfo, "mkdir %s: %s", a.Path, guestkit.Result(os.Mkdir(a.Path, 0o755)))
	case "remove":
		wx.Logf(abi.LevelInfo, "remove %s: %s", a.Path, guestkit.Result(os.Remove(a.Path)))
	case "symlink":
		wx.Logf(abi.LevelInfo, "symlink %s: %s", a.Path, guestkit.Result(os.Symlink(a.Target, a.Path)))
	case "rename":
		wx.Logf(abi.LevelInfo, "rename %s: %s", a.Path, guestkit.Result(os.Rename(a.Path, a.Target)))
	case "env":
		wx.Logf(abi.LevelInfo, "env: args=%d env=%d", len(os.Args), len(os.Environ()))
	case "storage-key":
		wx.Logf(abi.LevelInfo, "setkey %d: %s", a.Size, guestkit.Result(wx.SetStorage(strings.Repeat("k", a.Size), "v")))
	case "storage-value":
		wx.Logf(abi.LevelInfo, "setvalue %d: %s", a.Size, guestkit.Result(wx.SetStorage("value", strings.Repeat("v", a.Size))))
	case "storage-fill":
		v := strings.Repeat("f", 64<<10)
		for i := 0; ; i++ {
			if err := wx.SetStorage(fmt.Sprintf("fill-%d", i), v); err != nil {
				wx.Logf(abi.LevelInfo, "fill: %d keys: %v", i, err)
				return
			}
		}
	case "reenter":
		reenter(a.Size)
	case "modal":
		showModal()
	case "arm":
		wx.Logf(abi.LevelInfo, "armed %s: %s", a.Callback, guestkit.Result(wx.SetStorage("arm:"+a.Callback, a.Action)))
	case "disarm":
		info, err := wx.GetStorageInfo()
		if err != nil {
			wx.Logf(abi.LevelInfo, "disarm: %v", err)
			return
		}
		for _, k := range info.Keys {
			if strings.HasPrefix(k, "arm:") {
				wx.RemoveStorage(k)
			}
		}
		wx.Logf(abi.LevelInfo, "disarmed")
	case "misbehave":
		misbehave(a.Action)
	default:
		if !guestkit.Handle(name, a) {
			wx.Logf(abi.LevelInfo, "unknown event %s", name)
		}
	}
}

func showModal() {
	guestkit.ShowModal(func(n int) abi.Modal { return abi.Modal{Title: "adversary", Content: fmt.Sprint(n)} },
		func(n int, r abi.ModalResult) {
			callback("onModal", fmt.Sprintf("modal %d answered confirm=%t", n, r.Confirm))
		})
}

// reenter makes n rounds of every wx call from inside one callback: the
// host answers each at once and never calls back into the guest meanwhile
// (modal answers queue until the callback returns).
func reenter(n int) {
	shown, busy := 0, 0
	buf := make([]byte, 512)
	for i := 0; i < n; i++ {
		if i%1000 == 0 {
			wx.Logf(abi.LevelInfo, "reenter round %d", i)
		}
		key := fmt.Sprintf("re-%d", i%8)
		if err := wx.SetStorage(key, "x"); err != nil {
			wx.Logf(abi.LevelInfo, "reenter set: %v", err)
			return
		}
		if _, err := wx.GetStorage(key); err != nil {
			wx.Logf(abi.LevelInfo, "reenter get: %v", err)
			return
		}
		if _, err := wx.GetStorageInfo(); err != nil {
			wx.Logf(abi.LevelInfo, "reenter info: %v", err)
			return
		}
		if c := rawGetSystemInfo(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf))); c < 0 {
			wx.Logf(abi.LevelInfo, "reenter sysinfo: %d", c)
			return
		}
		if c := rawRegister(); c != 0 {
			wx.Logf(abi.LevelInfo, "reenter register: %d", c)
			return
		}
		if c := rawApplyUpdate(); c != -8 {
			wx.Logf(abi.LevelInfo, "reenter apply_update: %d, want -8", c)
			return
		}
		if i%64 == 0 {
			err := wx.ShowModal(abi.Modal{Title: "reenter"}, func(abi.ModalResult) {
				defer enter("onModal")()
				wx.Logf(abi.LevelInfo, "reenter modal answered")
			})
			switch {
			case err == nil:
				shown++
			case strings.Contains(err.Error(), "EBUSY"):
				busy++
			default:
				wx.Logf(abi.LevelInfo, "reenter modal: %v", err)
				return
			}
		}
	}
	wx.Logf(abi.LevelInfo, "reenter n=%d modals=%d busy=%d", n, shown, busy)
}

// armed runs the action armed for callback cb, if any.
func armed(cb string) {
	action, err := wx.GetStorage("arm:" + cb)
	if err != nil || action == "" {
		return
	}
	misbehave(action)
}

func misbehave(action string) {
	wx.Logf(abi.LevelInfo, "misbehave %s in %s", action, current)
	switch action {
	case "panic":
		panic("adversary panics")
	case "logflood":
		for i := 0; ; i++ {
			wx.Logf(abi.LevelInfo, "logflood %d", i)
		}
	case "hostloop":
		buf := make([]byte, 512)
		for {
			rawGetSystemInfo(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
		}
	default:
		if !guestkit.Misbehave(action) {
			wx.Logf(abi.LevelInfo, "unknown action %s", action)
		}
	}
}

// main never runs: the host starts the module as a reactor.
func main() {}
