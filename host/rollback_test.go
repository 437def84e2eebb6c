package host_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/mpk"
)

// The app of the rollback tests: its guest panics in onLaunch in every 2.x
// version, so a 2.x release is the bad one.
const (
	crashyApp   = "test.crashy"
	crashyGuest = "runtime/testdata/guests/crashy"
)

// TestCrashLoopRollback: a new version whose onLaunch crashes twice in a
// row is marked bad, the previous version opens again (with a rollback
// event saying why), the bad version is not fetched again, and a newer
// release is taken up as usual.
func TestCrashLoopRollback(t *testing.T) {
	covers(t, "B1")
	f := newUpdFixture(t)
	f.offerV2(t, crashyGuest, crashyApp)

	// Cold start: async, 2.0.0 is prefetched.
	a, ev, h := f.coldStart(t, crashyApp)
	ev.waitEvent(t, crashyApp, host.EventUpdateReady)
	stop(t, a, h)

	// Cold start: 2.0.0 opens and crashes in onLaunch (first crash).
	a, ev, h = f.coldStart(t, crashyApp)
	require.Equal(t, "2.0.0", a.Decision().Opened)
	ev.waitFor(t, func(e host.Event) bool { return e.Event == host.EventError && e.Callback == "onLaunch" })
	stop(t, a, h)

	// Cold start: second crash in a row: rolled back to 1.0.0.
	a, ev, h = f.coldStart(t, crashyApp)
	rb := ev.waitEvent(t, crashyApp, host.EventRollback)
	require.Equal(t, "2.0.0", rb.Version)
	require.Contains(t, rb.Message, "2 times in a row")
	require.Equal(t, "1.0.0", a.Version())
	require.Contains(t, a.Decision().Rollback, "2.0.0")
	ev.waitEvent(t, crashyApp, host.EventCheckForUpdate)
	stop(t, a, h)
	st, err := f.store(t).Load(crashyApp)
	require.NoError(t, err)
	require.Equal(t, []string{"2.0.0"}, st.Bad)

	// The bad version is not retried...
	f.kit.ResetRequests()
	a, ev, h = f.coldStart(t, crashyApp)
	require.Equal(t, "1.0.0", a.Decision().Opened)
	has := ev.waitEvent(t, crashyApp, host.EventCheckForUpdate)
	require.False(t, *has.HasUpdate)
	stop(t, a, h)

	// ...until the server publishes a newer one.
	f.publish(t, crashyGuest, "3.0.0")
	requireFixArrives(t, f, crashyApp, "3.0.0")
}

// TestLaunchFailureRollsBackInOneColdStart: a version that cannot launch
// at all (here: its module does not compile) fails deterministically: it
// is marked bad at its first failure, the previous version opens in the
// same cold start (rule B1), and a fixed release is taken up next.
func TestLaunchFailureRollsBackInOneColdStart(t *testing.T) {
	covers(t, "B1")
	f := newUpdFixture(t)
	f.installV1(t, crashyGuest, crashyApp)

	stage := t.TempDir()
	manifest := `{"appId": "test.crashy", "version": "2.0.0", "abi": 1, "entry": "app.wasm"}`
	require.NoError(t, os.WriteFile(filepath.Join(stage, "app.json"), []byte(manifest), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(stage, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00 not a module"), 0o644))
	pkg := filepath.Join(t.TempDir(), "bad.mpk")
	require.NoError(t, mpk.Pack(t.Context(), stage, pkg))
	f.kit.Publish(t, pkg, 100)

	// Async cold start: 2.0.0 downloads, and does not compile for applyUpdate.
	a, ev, h := f.coldStart(t, crashyApp)
	ev.waitEvent(t, crashyApp, host.EventUpdateFailed)
	stop(t, a, h)

	// The next cold start tries 2.0.0 twice, marks it bad, opens 1.0.0.
	a, ev, h = f.coldStart(t, crashyApp)
	require.Equal(t, "1.0.0", a.Version(), ev.dump())
	require.Contains(t, a.Decision().Rollback, "2.0.0")
	require.Contains(t, a.Decision().Rollback, "cannot launch", "a compile failure is deterministic: marked bad at once, not retried")
	require.Equal(t, 1, ev.countEvents(crashyApp, host.EventRollback, ""))
	stop(t, a, h)
	st, err := f.store(t).Load(crashyApp)
	require.NoError(t, err)
	require.Equal(t, []string{"2.0.0"}, st.Bad)

	// A fixed release reaches the client at the next cold start: its
	// check still runs after the rollback, and downloads 3.0.0.
	f.publish(t, crashyGuest, "3.0.0")
	requireFixArrives(t, f, crashyApp, "3.0.0")
}

// coldStarter is what the fixtures of the rollback tests share.
type coldStarter interface {
	coldStart(t *testing.T, appID string) (*host.App, *events, *host.Host)
}

// requireFixArrives checks that a fixed release, just published, is ready
// at the next cold start (the check still runs after a rollback) and
// opens as want at the one after.
func requireFixArrives(t *testing.T, f coldStarter, app, want string) {
	t.Helper()
	a, ev, h := f.coldStart(t, app)
	ev.waitEvent(t, app, host.EventUpdateReady)
	stop(t, a, h)
	a, ev, h = f.coldStart(t, app)
	require.Equal(t, want, a.Decision().Opened, ev.dump())
	stop(t, a, h)
}
