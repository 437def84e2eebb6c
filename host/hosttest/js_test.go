package hosttest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/hosttest"
	"github.com/minihost/minihost/runtime"
)

// The seed's JavaScript, unchanged (samples/seed-js/app.js), drives the
// whole restart-to-update: onCheckForUpdate logs hasUpdate, onUpdateReady
// shows the modal, whose confirmation calls applyUpdate, and 1.1.0 starts
// with reason "update", its storage kept.
func TestJSSeedAppliesUpdate(t *testing.T) {
	ctx := t.Context()
	k, _ := firstRun(t, hosttest.Config{UI: host.AutoAnswer(true)}, "seed-js", "seed-js v1.0.0: onLaunch (reason launch) launch #1")
	k.Publish(ctx, "seed-js", "1.1.0")
	k.ColdStart(ctx, "demo.seed-js")
	require.Equal(t, "true", waitLog(ctx, k, "true").Message, "console.log(res.hasUpdate)")
	m := k.WaitEvent(ctx, host.EventModal).Modal
	require.Equal(t, "Update ", m.Title)
	require.True(t, m.ShowCancel, "wx.showModal shows cancel unless told not to")
	ev := k.WaitEvent(ctx, host.EventApplyUpdate)
	require.Equal(t, "1.1.0", ev.Version)
	require.Equal(t, "from 1.0.0", ev.Reason)
	require.Contains(t, waitLog(ctx, k, "v1.1.0").Message, "seed-js v1.1.0: onLaunch (reason update) launch #3")
}

// firstRun starts a kit with cfg, publishes sample ("seed-js", app id
// demo.seed-js) at 1.0.0, cold starts it and waits for a log line with
// want, returning the kit and the app.
func firstRun(t *testing.T, cfg hosttest.Config, sample, want string) (*hosttest.Kit, *host.App) {
	k := hosttest.New(t, cfg)
	k.Publish(t.Context(), sample, "1.0.0")
	app := k.ColdStart(t.Context(), "demo."+sample)
	waitLog(t.Context(), k, want)
	return k, app
}

// waitLog waits for the next guest log line containing sub, stopping the
// test at the kit's deadline as WaitEvent does.
func waitLog(ctx context.Context, k *hosttest.Kit, sub string) host.Event {
	for {
		if ev := k.WaitEvent(ctx, host.EventLog); strings.Contains(ev.Message, sub) {
			return ev
		}
	}
}

// A JS exception in onLaunch fails the callback as a Go guest's panic
// does (exit code 2, reason exit), with the JS stack in the message; two
// cold starts in a row of it roll back to the previous version.
func TestJSThrowInOnLaunchRollsBack(t *testing.T) {
	ctx := t.Context()
	k, _ := firstRun(t, hosttest.Config{}, "crash-js", "crash-js launch version=1.0.0")
	k.Publish(ctx, "crash-js", "2.0.0")
	k.ColdStart(ctx, "demo.crash-js")
	k.WaitEvent(ctx, host.EventUpdateReady) // prefetched for the next cold start

	require.Equal(t, "2.0.0", k.ColdStart(ctx, "demo.crash-js").Version())
	// The whole JS stack is on stderr, as a Go panic's stack is...
	waitLog(ctx, k, "\tat onLaunch (app.js:8:")
	// ...and the panic line is the failure's summary.
	ev := k.WaitEvent(ctx, host.EventError)
	require.Equal(t, "onLaunch", ev.Callback)
	require.ErrorIs(t, ev.Err, runtime.ErrExit, "the reason of a Go guest's panic")
	for _, want := range []string{"panic: uncaught exception in onLaunch: Error: crash-js 2.0.0 throws on launch at explode (app.js:18:"} {
		require.Contains(t, ev.Message, want)
	}

	app := k.ColdStart(ctx, "demo.crash-js")
	require.Equal(t, "2.0.0", k.WaitEvent(ctx, host.EventRollback).Version)
	require.Equal(t, "1.0.0", app.Version())
	waitLog(ctx, k, "crash-js launch version=1.0.0")
}

// The JS engine runs inside the guest, so the sandbox's callback deadline
// stops a JavaScript infinite loop like any guest's.
func TestJSInfiniteLoopStopped(t *testing.T) {
	ctx := t.Context()
	const timeout = time.Second
	k := hosttest.New(t, hosttest.Config{Runtime: runtime.Config{CallTimeout: timeout}})
	k.Publish(ctx, "crash-js", "3.0.0") // 3.x: while (true) {} in onLaunch
	k.ColdStart(ctx, "demo.crash-js")
	ev := k.WaitEvent(ctx, host.EventError)
	require.Equal(t, "onLaunch", ev.Callback)
	require.ErrorIs(t, ev.Err, runtime.ErrTimeout, ev.Message)
}

// setTimeout runs on the host's one clock (the kit's fake clock here) and
// never blocks: the callback runs in a later event, and clearTimeout
// cancels a pending timer.
func TestJSTimers(t *testing.T) {
	ctx := t.Context()
	k, app := firstRun(t, hosttest.Config{}, "seed-js", "seed-js: onShow")
	k.Clock.Advance(250 * time.Millisecond)
	waitLog(ctx, k, "seed-js: a timer fired")
	k.Clock.Advance(time.Second)
	require.NoError(t, app.Hide(ctx)) // a callback after the cleared timer's time
	require.Equal(t, "seed-js: onHide", waitLog(ctx, k, "seed-js").Message, "the cleared timer did not fire")
}

// jsApp writes a JS package folder with app.js src, for Kit.Package;
// extra is more app.json fields, e.g. `"baseLibrary": "1.2.0", `.
func jsApp(t *testing.T, appID, extra, src string) string {
	dir := t.TempDir()
	manifest := `{"appId": "` + appID + `", "version": "1.0.0", "abi": 1, ` + extra + `"runtime": "js", "entry": "app.js"}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.json"), []byte(manifest), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.js"), []byte(src), 0o644))
	return dir
}

// A guest's pending timers are bounded (256, runtime/ABI.md): past them
// setTimeout throws, with the host's EBUSY.
func TestJSTimersBounded(t *testing.T) {
	ctx := t.Context()
	k := hosttest.New(t, hosttest.Config{})
	k.Publish(ctx, jsApp(t, "test.timers", "", `App({onLaunch() {
		for (let i = 0; i < 1000; i++) {
			try { setTimeout(function () {}, 60000) } catch (e) { console.log('refused #' + i + ': ' + e.message); return }
		}
	}})`), "1.0.0")
	k.ColdStart(ctx, "test.timers")
	require.Contains(t, waitLog(ctx, k, "refused").Message, "refused #256: setTimeout: wx set_timer: too many requests outstanding (EBUSY)")
}

// An app that needs a newer base library than the host has does not open,
// and says why, until the release server has one: then the host fetches
// it and the app opens on it.
func TestJSMinimumBaseLibrary(t *testing.T) {
	ctx := t.Context()
	tb := &fatalTB{TB: t}
	k := hosttest.New(tb, hosttest.Config{})
	app := jsApp(t, "test.needs", `"baseLibrary": "1.2.0", `, `App({onLaunch() { console.log('opened on ' + wx.getSystemInfoSync().platform) }})`)
	k.Publish(ctx, app, "1.0.0") // the kit's own base library is 1.0.0 (samples/jsbase/app.json)
	tb.run(func() { k.ColdStart(ctx, "test.needs") })
	require.Contains(t, tb.msg, "test.needs 1.0.0 needs JS base library 1.2.0 or newer, this host has 1.0.0")

	k.Publish(ctx, "jsbase", "1.2.0")
	k.ColdStart(ctx, "test.needs")
	waitLog(ctx, k, "opened on minihost")
}
