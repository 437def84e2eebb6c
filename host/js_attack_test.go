package host_test

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/hosttest"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/samples/wx/abi"
)

// jsAttackTimeout is the callback deadline of the JS attacks: short, so
// that a loop is stopped quickly, long enough for the base library's
// start.
const jsAttackTimeout = 2 * time.Second

// jsAttackMemoryPages caps the JS attacks' memory: room for the base
// library (about 20 MiB), small enough that an attack reaches the cap in
// well under a second even under the race detector, whose checked copies
// make growing a large memory slow.
const jsAttackMemoryPages = 512

// writeJSPackage writes a JS package folder for app id with files (path
// to content; app.js is the entry) and returns it.
func writeJSPackage(t *testing.T, id string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	manifest := `{"appId": "` + id + `", "version": "1.0.0", "abi": 1, "runtime": "js", "entry": "app.js"}`
	files["app.json"] = manifest
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(src), 0o644))
	}
	return dir
}

// waitJSLog waits for the next guest log line of this cold start that
// contains sub.
func waitJSLog(ctx context.Context, k *hosttest.Kit, sub string) host.Event {
	for {
		if ev := k.WaitEvent(ctx, host.EventLog); strings.Contains(ev.Message, sub) {
			return ev
		}
	}
}

// TestJSAttackEndsInstance: JavaScript that exhausts memory, the Go
// stack of the engine's recursive parts (its parser, JSON.parse: goja
// recurses in Go there, past its JS call-stack bound), or the callback
// deadline from a callback other than onLaunch ends the instance with an
// error event naming the kind (memory, timeout, a clean crash), within
// the deadline: the host never hangs and never dies with it.
func TestJSAttackEndsInstance(t *testing.T) {
	for _, tc := range []struct {
		name     string
		files    map[string]string
		callback string
		errs     []error // EventError's Err wraps any of these
		message  string
		timeout  time.Duration // 0: jsAttackTimeout
	}{
		{"string doubling to the memory cap", map[string]string{"app.js": `App({onLaunch() { let s = 'x'; for (;;) s += s }})`},
			"onLaunch", []error{runtime.ErrMemoryLimit}, "memory limit reached", 0},
		{"parser recursion on deeply nested source", map[string]string{"app.js": `App({onLaunch() { eval('['.repeat(1 << 20) + ']'.repeat(1 << 20)) }})`},
			"onLaunch", []error{runtime.ErrMemoryLimit, runtime.ErrExit}, "", 20 * time.Second},
		{"JSON.parse recursion", map[string]string{"app.js": `App({onLaunch() { JSON.parse('['.repeat(1 << 20) + ']'.repeat(1 << 20)) }})`},
			"onLaunch", []error{runtime.ErrMemoryLimit}, "memory limit reached", 20 * time.Second},
		{"loop in a timer callback", map[string]string{"app.js": `App({onLaunch() { setTimeout(function () { for (;;) {} }, 0) }})`},
			"onEvent(timer)", []error{runtime.ErrTimeout}, "call onEvent(timer) of test.attack: deadline exceeded", 0},
		{"loop in a modal callback", map[string]string{"app.js": `App({onLaunch() { wx.showModal({title: 't', success() { for (;;) {} }}) }})`},
			"", []error{runtime.ErrTimeout}, "", 0},
		{"loop in a required module's top level", map[string]string{"app.js": `App({onLaunch() { require('./spin') }})`, "spin.js": `for (;;) {}`},
			"onLaunch", []error{runtime.ErrTimeout}, "", 0},
		{"loop in onShow", map[string]string{"app.js": `App({onShow() { for (;;) {} }})`},
			"onShow", []error{runtime.ErrTimeout}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			timeout := cmp.Or(tc.timeout, jsAttackTimeout)
			k := hosttest.New(t, hosttest.Config{UI: host.AutoAnswer(true), Runtime: runtime.Config{CallTimeout: timeout, MemoryLimitPages: jsAttackMemoryPages}})
			k.Publish(ctx, writeJSPackage(t, "test.attack", tc.files), "1.0.0")
			start := time.Now()
			k.ColdStart(ctx, "test.attack")
			k.Clock.Advance(time.Second) // the timer's
			ev := k.WaitEvent(ctx, host.EventError)
			t.Logf("after %v: %s %s: %.300s", time.Since(start).Round(time.Millisecond), ev.Callback, ev.Reason, ev.Message)
			require.True(t, errIsAny(ev.Err, tc.errs...), "%s: %s", ev.Reason, ev.Message)
			if tc.callback != "" {
				require.Equal(t, tc.callback, ev.Callback)
			}
			require.Contains(t, ev.Message, tc.message)
		})
	}
}

// TestJSAttackRequireAndData: require with a path that leaves the
// package, a NUL, backslashes or an absolute path reads nothing outside
// it and throws an error naming the path; a require cycle sees partial
// exports, as in Node; JSON with a __proto__ key stored and read back is
// data and pollutes no prototype.
func TestJSAttackRequireAndData(t *testing.T) {
	ctx := t.Context()
	k := hosttest.New(t, hosttest.Config{Runtime: runtime.Config{CallTimeout: jsAttackTimeout}})
	app := writeJSPackage(t, "test.require", map[string]string{
		"app.js": `const tries = [['nul', 'lib/a\u0000b'], ['backslash', '..\\..\\..\\etc\\passwd'], ['absolute', '/etc/passwd'],
			['parent', '../../../../etc/passwd'], ['inner parent', 'lib/../../x'], ['home', '../../../../state'], ['cycle', './lib/a']]
		App({onLaunch() {
			for (const [name, spec] of tries) {
				try { console.log('required ' + name + ': ' + JSON.stringify(require(spec))) } catch (e) { console.log('refused ' + name + ': ' + e.message) }
			}
			wx.setStorageSync('p', JSON.parse('{"__proto__": {"polluted": "yes"}, "x": 1}'))
			const back = wx.getStorageSync('p')
			console.log('proto: ' + ({}).polluted + ' ' + back.polluted + ' ' + Object.prototype.hasOwnProperty('polluted') + ' ' + JSON.stringify(back))
		}})`,
		"lib/a.js": `exports.early = 'a'; const b = require('./b'); exports.a = 'a sees ' + b.b`,
		"lib/b.js": `const a = require('./a'); exports.b = 'b sees ' + a.early + ',' + a.a`,
	})
	k.Publish(ctx, app, "1.0.0")
	k.ColdStart(ctx, "test.require")
	for _, want := range []string{
		`refused nul: require "lib/a\x00b": a NUL or backslash in the path`,
		`refused backslash: require "..\\..\\..\\etc\\passwd": a NUL or backslash in the path`,
		`refused absolute: require etc/passwd.js: open /etc/passwd.js: No such file or directory`,
		`refused parent: require "../../../../etc/passwd": outside the package`,
		`refused inner parent: require "lib/../../x": outside the package`,
		`refused home: require "../../../../state": outside the package`,
		`required cycle: {"early":"a","a":"a sees b sees a,undefined"}`,
		`proto: undefined undefined false {"__proto__":{"polluted":"yes"},"x":1}`,
	} {
		name, _, _ := strings.Cut(want, ":")
		require.Equal(t, want, waitJSLog(ctx, k, name+":").Message)
	}
}

// heldModals is a UI that never answers (the modals stay open) and counts
// the ones it was shown.
type heldModals struct{ shown atomic.Int32 }

func (u *heldModals) ShowModal(string, abi.Modal, func(bool)) { u.shown.Add(1) }

// TestJSAttackModalFlood: 200 wx.showModal calls at once from JavaScript
// show no more than the modal burst (runtime.Config.ModalBurst's default
// of 16, as many as host.MaxOpenModals); every
// other call gets its fail callback, and the host stays up to report it.
func TestJSAttackModalFlood(t *testing.T) {
	ctx := t.Context()
	ui := &heldModals{}
	k := hosttest.New(t, hosttest.Config{UI: ui, Runtime: runtime.Config{CallTimeout: 20 * time.Second}})
	k.Publish(ctx, writeJSPackage(t, "test.flood", map[string]string{"app.js": `let refused = 0
		App({
			onLaunch() { for (let i = 0; i < 200; i++) wx.showModal({title: 'm' + i, fail() { refused++ }}) },
			onShow() { throw new Error('refused ' + refused) }
		})`}), "1.0.0")
	app := k.ColdStart(ctx, "test.flood")
	ev := k.WaitEvent(ctx, host.EventError)
	require.Contains(t, ev.Message, "refused 184", "200 modals, a burst of 16")
	// The host hands each modal to the UI on a goroutine of its own, so
	// the count is final only once Close has waited for them.
	require.NoError(t, app.Close(ctx))
	require.EqualValues(t, 16, ui.shown.Load())
}
