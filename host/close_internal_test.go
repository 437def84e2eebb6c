package host

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

// TestCloseDuringBackgroundCheck closes an app while its cold start's
// background check is still reading a document that would find the running
// version revoked (it used to crash the process: the late check compiled
// the rollback target in a Sandbox that shutdown had cleared). The check is
// the app's own work: Close cancels it and waits for it, so Close returns
// promptly although the document hangs, no host goroutine is left running
// it, and the closed app's Sandbox refuses any late work.
func TestCloseDuringBackgroundCheck(t *testing.T) {
	const appID = "test.updater"
	kit := updatertest.NewServer(t, updatertest.Config{})
	home := t.TempDir()
	cfg := UpdateConfig{
		Server: kit.URL, PublicKey: kit.PublicKey, Clock: kit.Clock, Now: kit.Clock.Now,
		ClientID: "test-client", Policy: updater.PolicyConfig{RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond},
	}
	ready := make(chan struct{}, 8)
	coldStart := func() (*Host, *App) {
		t.Helper()
		c := cfg
		h, err := New(Config{Home: home, Runtime: runtime.Config{CacheDir: runtimetest.CacheDir(t)}, Updates: &c,
			OnEvent: func(ev Event) {
				if ev.Event == EventUpdateReady {
					ready <- struct{}{}
				}
			}})
		require.NoError(t, err)
		a, err := h.Launch(t.Context(), appID)
		require.NoError(t, err)
		return h, a
	}
	stop := func(h *Host, a *App) {
		t.Helper()
		require.NoError(t, a.Close(t.Context()))
		require.NoError(t, h.Close(t.Context()))
	}
	guest := "runtime/testdata/guests/updater"
	kit.Publish(t, runtimetest.BuildPackage(t, guest, "1.0.0"), 100)
	h, a := coldStart() // first install: sync, opens 1.0.0
	stop(h, a)
	kit.Publish(t, runtimetest.BuildPackage(t, guest, "2.0.0"), 100)
	h, a = coldStart() // async: 1.0.0 opens, 2.0.0 downloads in the background
	select {
	case <-ready:
	case <-time.After(time.Minute):
		t.Fatal("2.0.0 was not ready within a minute of the cold start")
	}
	stop(h, a)
	h, a = coldStart() // async: 2.0.0 opens
	require.Equal(t, "2.0.0", a.Decision().Opened)
	stop(h, a)

	kit.Revert(t, appID, "1.0.0") // 2.0.0 is revoked; 1.0.0 is installed
	kit.ResetRequests()
	kit.SetFault(updatertest.Fault{Kind: updatertest.FaultHang, Path: "/apps/*/release.json"})
	h, a = coldStart()
	require.Equal(t, "async", a.Decision().Mode)
	require.NoError(t, kit.WaitForRequests(t.Context(), 1), "the background check made no request")

	closed := make(chan error, 1)
	go func() { closed <- a.Close(t.Context()) }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("App.Close did not return within 30s of a hanging background check: it must cancel the app's work")
	}
	idle := make(chan struct{})
	go func() { h.bg.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-time.After(30 * time.Second):
		t.Fatal("a host goroutine still runs the closed app's check 30s after Close")
	}
	_, err := a.sb.Compile(t.Context(), nil)
	require.ErrorIs(t, err, runtime.ErrClosed, "the closed app's Sandbox must refuse work")
	require.NoError(t, h.Close(context.WithoutCancel(t.Context())))
}
