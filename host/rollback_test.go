package host_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
)

// TestCrashLoopRollback: a new version whose onLaunch crashes twice in a
// row is marked bad, the previous version opens again (with a rollback
// event saying why), the bad version is not fetched again, and a newer
// release is taken up as usual.
func TestCrashLoopRollback(t *testing.T) {
	const app, guest = "test.crashy", "runtime/testdata/guests/crashy"
	f := newUpdFixture(t)
	f.installV1(t, guest, app)
	f.publish(t, guest, "2.0.0")

	// Cold start: async, 2.0.0 is prefetched.
	a, ev, h := f.coldStart(t, app)
	ev.waitEvent(t, app, host.EventUpdateReady)
	stop(t, a, h)

	// Cold start: 2.0.0 opens and crashes in onLaunch (first crash).
	a, ev, h = f.coldStart(t, app)
	require.Equal(t, "2.0.0", a.Decision().Opened)
	ev.waitFor(t, func(e host.Event) bool { return e.Event == host.EventError && e.Callback == "onLaunch" })
	stop(t, a, h)

	// Cold start: second crash in a row: rolled back to 1.0.0.
	a, ev, h = f.coldStart(t, app)
	rb := ev.waitEvent(t, app, host.EventRollback)
	require.Equal(t, "2.0.0", rb.Version)
	require.Contains(t, rb.Message, "2 times in a row")
	require.Equal(t, "1.0.0", a.Version())
	require.Contains(t, a.Decision().Rollback, "2.0.0")
	ev.waitEvent(t, app, host.EventCheckForUpdate)
	stop(t, a, h)
	st, err := f.store(t).Load(app)
	require.NoError(t, err)
	require.Equal(t, []string{"2.0.0"}, st.Bad)

	// The bad version is not retried...
	f.kit.ResetRequests()
	a, ev, h = f.coldStart(t, app)
	require.Equal(t, "1.0.0", a.Decision().Opened)
	has := ev.waitEvent(t, app, host.EventCheckForUpdate)
	require.False(t, *has.HasUpdate)
	stop(t, a, h)

	// ...until the server publishes a newer one.
	f.publish(t, guest, "3.0.0")
	a, ev, h = f.coldStart(t, app)
	ev.waitEvent(t, app, host.EventUpdateReady)
	stop(t, a, h)
	a, _, _ = f.coldStart(t, app)
	require.Equal(t, "3.0.0", a.Decision().Opened)
}
