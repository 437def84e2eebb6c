package hosttest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/hosttest"
	"github.com/minihost/minihost/samples/wx/abi"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
	"github.com/minihost/minihost/updater/updatertest"
)

// installed returns a kit where 1.0.0 of the counter was installed and
// launched once, and 1.1.0 is published.
func installed(t *testing.T, cfg hosttest.Config) *hosttest.Kit {
	k := hosttest.New(t, cfg)
	k.Publish(t.Context(), "counter", "1.0.0")
	k.ColdStart(t.Context(), "demo.counter")
	k.Publish(t.Context(), "counter", "1.1.0")
	return k
}

func TestFailedDownload(t *testing.T) {
	ctx := t.Context()
	k := installed(t, hosttest.Config{Policy: updater.PolicyConfig{BackgroundAttempts: 1}})
	k.Server.SetFault(updatertest.Fault{Kind: updatertest.FaultStatus, Path: "/apps/*/packages/*", Status: 500})
	app := k.ColdStart(ctx, "demo.counter")
	require.Contains(t, k.WaitEvent(ctx, host.EventUpdateFailed).Message, "1.1.0")
	res := app.WaitUpdate(ctx)
	require.True(t, res.HasUpdate)
	require.ErrorContains(t, res.Err, "download 1.1.0")
	require.ErrorIs(t, app.ApplyUpdate(ctx), abi.CodeNotReady)
	require.Equal(t, "1.0.0", app.Version())
}

func TestMinimumVersionBlock(t *testing.T) {
	ctx := t.Context()
	k := installed(t, hosttest.Config{Policy: updater.PolicyConfig{BackgroundAttempts: 1}})
	k.Server.SetSettings(t, "demo.counter", release.Settings{MinVersion: ptr("1.1.0")})
	// This cold start learns the minimum (an async launch opens 1.0.0 on
	// the document it had); its download of 1.1.0 fails.
	k.Server.SetFault(updatertest.Fault{Kind: updatertest.FaultStatus, Path: "/apps/*/packages/*", Status: 500})
	k.ColdStart(ctx, "demo.counter")
	k.WaitEvent(ctx, host.EventUpdateFailed)
	k.Server.SetFault(updatertest.Fault{})
	app := k.ColdStart(ctx, "demo.counter") // 1.0.0 may not open: blocked until 1.1.0 is in
	require.NotZero(t, k.WaitEvent(ctx, host.EventBlocked).Attempt)
	require.Equal(t, "1.1.0", app.Version())
	require.Contains(t, k.WaitEvent(ctx, host.EventLog).Message, "launch #3")
}

func TestPreferLocal(t *testing.T) {
	ctx := t.Context()
	k := installed(t, hosttest.Config{})
	k.Server.SetSettings(t, "demo.counter", release.Settings{PreferLocal: ptr("1.0.0")})
	k.Clock.Advance(updater.PolicyConfig{}.WithDefaults().LongUnused) // a sync launch, but 1.0.0 is preferred
	app := k.ColdStart(ctx, "demo.counter")
	require.Equal(t, "1.0.0", app.Version())
	res := app.WaitUpdate(ctx)
	require.NoError(t, res.Err)
	require.Equal(t, "1.1.0", res.Version)
	require.NoError(t, app.ApplyUpdate(ctx))
	require.Equal(t, "1.1.0", app.Version())
}

// The guest applies the update itself when its modal is confirmed.
func TestGuestAppliesUpdate(t *testing.T) {
	ctx := t.Context()
	k := installed(t, hosttest.Config{UI: host.AutoAnswer(true)})
	app := k.ColdStart(ctx, "demo.counter")
	ev := k.WaitEvent(ctx, host.EventApplyUpdate)
	require.Equal(t, "1.1.0", ev.Version)
	require.Equal(t, "from 1.0.0", ev.Reason)
	require.NoError(t, app.Hide(ctx))
	require.NoError(t, app.Show(ctx))
}

// A failed wait names what it waited for and lists what arrived instead.
func TestWaitFailureSaysWhatArrived(t *testing.T) {
	tb := &fatalTB{TB: t}
	k := hosttest.New(tb, hosttest.Config{})
	k.Publish(t.Context(), "hello", "1.0.0")
	k.ColdStart(t.Context(), "demo.hello")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tb.run(func() { k.WaitEvent(ctx, host.EventUpdateReady) })
	for _, want := range []string{"wait for event updateReady", "context canceled", "running 1.0.0", "launch demo.hello 1.0.0"} {
		require.Contains(t, tb.msg, want)
	}
}

func ptr[T any](v T) *T { return &v }

// fatalTB records the message of Fatal and ends the goroutine, as
// testing.T does; run runs fn on its own goroutine for it.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fatalTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
	if f.msg == "" {
		f.TB.Fatal(errors.New("wanted a failure"))
	}
	f.TB.Log(strings.TrimSpace(f.msg))
}

// A wait that ends before the update has an outcome says why in Err, and
// promises nothing: no HasUpdate, no Version.
func TestWaitUpdateEndsWithoutOutcome(t *testing.T) {
	ctx := t.Context()
	k := installed(t, hosttest.Config{})
	k.Server.SetFault(updatertest.Fault{Kind: updatertest.FaultHang, Path: "/apps/*/release.json"})
	app := k.ColdStart(ctx, "demo.counter") // an async launch: 1.0.0 opens, its check hangs

	ended, cancel := context.WithCancel(ctx)
	cancel()
	res := app.WaitUpdate(ended)
	require.ErrorIs(t, res.Err, context.Canceled)
	require.Equal(t, host.UpdateResult{Err: res.Err}, res)

	require.NoError(t, app.Close(ctx))
	res = app.WaitUpdate(ctx)
	require.ErrorIs(t, res.Err, host.ErrClosed)
	require.Equal(t, host.UpdateResult{Err: res.Err}, res)

	h, err := host.New(host.Config{Home: t.TempDir()})
	require.NoError(t, err)
	defer h.Close(ctx)
	local, err := h.LaunchPackage(ctx, k.Package(ctx, "counter", "1.0.0"))
	require.NoError(t, err)
	require.ErrorIs(t, local.WaitUpdate(ctx).Err, errors.ErrUnsupported, "launched without updates")
}
