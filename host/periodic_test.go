package host_test

import (
	"context"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/updater"
)

// TestPeriodicChecker drives the host's periodic checker with the kit's
// fake clock: nothing before the (jittered) interval, a round after it
// that checks recently used apps and prefetches, none for an app unused
// for longer than the recent window, and a Close that leaks no goroutine.
func TestPeriodicChecker(t *testing.T) {
	covers(t, "S3", "S6")
	f := newUpdFixture(t)
	f.installV1(t, guestUpdater, "test.updater")
	f.publish(t, guestUpdater, "2.0.0")
	f.kit.ResetRequests()

	cfg := f.cfg
	cfg.Periodic = true
	h, err := host.New(host.Config{Home: f.home, Updates: &cfg})
	require.NoError(t, err)
	ctx := t.Context()

	// Before the earliest jittered deadline (0.9 x 6h) nothing is checked.
	require.NoError(t, f.kit.Clock.WaitForTimers(ctx, 1))
	f.kit.Clock.Advance(time.Duration(0.89 * float64(updater.DefaultPeriodicInterval)))
	require.Empty(t, f.kit.Requests())

	// Past the latest one (1.1 x 6h), a round runs: check and prefetch.
	f.kit.Clock.Advance(time.Duration(0.22 * float64(updater.DefaultPeriodicInterval)))
	require.NoError(t, f.kit.WaitForRequests(ctx, 2))
	require.Eventually(t, func() bool {
		st, err := f.store(t).Load("test.updater")
		return err == nil && len(st.Installed) == 2
	}, 30*time.Second, 10*time.Millisecond, "2.0.0 not prefetched")

	// The next round comes one interval later; by then the app is outside
	// the recent window (7 days): no request.
	require.NoError(t, f.kit.Clock.WaitForTimers(ctx, 1))
	f.kit.ResetRequests()
	f.kit.Clock.Advance(8 * 24 * time.Hour)
	require.NoError(t, f.kit.Clock.WaitForTimers(ctx, 1)) // the loop armed its next timer: the round is over
	require.Empty(t, f.kit.Requests())

	require.NoError(t, h.Close(context.Background()))
	if !assertEventually(func() bool { return hostGoroutines() == "" }) {
		t.Fatalf("goroutines of the host still running after Close:\n%s", hostGoroutines())
	}
}

// assertEventually polls cond for up to 10 s.
func assertEventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// hostGoroutines returns the stacks of goroutines running host code
// (other than tests).
func hostGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:goruntime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "minihost/host.") && !strings.Contains(g, "host_test.") && !strings.Contains(g, "testing.tRunner") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
