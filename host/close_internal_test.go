package host

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater/updatertest"
)

// TestCloseDuringBackgroundCheck closes an app while its cold start's
// background check is still reading a slow document that finds the running
// version revoked. The check then prepares the rollback target for an app
// that is gone: it must find the app closed and stop, not crash the process
// (it used to dereference the app's Sandbox after shutdown had cleared it).
// The test waits for the host's background work on its own, without
// cancelling it, so the late compile really runs after the app closed.
func TestCloseDuringBackgroundCheck(t *testing.T) {
	const appID = "test.updater"
	kit := updatertest.NewServer(t, updatertest.Config{})
	home := t.TempDir()
	cfg := UpdateConfig{
		Server: kit.URL, PublicKey: kit.PublicKey, Clock: kit.Clock, Now: kit.ClientNow,
		ClientID: "test-client", RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
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
		a, err := h.Launch(t.Context(), appID, LaunchOptions{})
		require.NoError(t, err)
		return h, a
	}
	stop := func(h *Host, a *App) {
		t.Helper()
		require.NoError(t, a.Close(t.Context()))
		require.NoError(t, h.Close(t.Context()))
	}
	guest := "runtime/testdata/guests/updater"
	kit.Publish(t, runtimetest.BuildPackage(t, guest, "1.0.0"))
	h, a := coldStart() // first install: sync, opens 1.0.0
	stop(h, a)
	kit.Publish(t, runtimetest.BuildPackage(t, guest, "2.0.0"))
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
	// About two seconds for the document: long enough for Close to finish first.
	kit.SetFault(updatertest.Fault{Kind: updatertest.FaultSlow, Target: updatertest.TargetDocument, BytesPerSecond: 512})
	h, a = coldStart()
	require.Equal(t, "async", a.Decision().Mode)
	require.NoError(t, a.Close(t.Context()))

	idle := make(chan struct{})
	go func() { h.bg.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-time.After(time.Minute):
		t.Fatal("the host's background check did not end within a minute of the slow document")
	}
	reqs := kit.Requests()
	require.NotEmpty(t, reqs, "the background check made no request")
	require.Equal(t, 200, reqs[0].Status, "the slow document was not served whole: %+v", reqs[0])
	_, err := a.sb.Compile(t.Context(), nil)
	require.ErrorIs(t, err, runtime.ErrClosed, "the closed app's Sandbox must refuse work")
	require.NoError(t, h.Close(context.WithoutCancel(t.Context())))
}
