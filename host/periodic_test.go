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

// policyDefaults holds the launch policy's defaults.
var policyDefaults = updater.PolicyConfig{}.WithDefaults()

// TestPeriodicChecker drives the host's periodic checker with the kit's
// fake clock, polling (push off, as against a static export): the first
// round soon after the host starts (½ to 1½ PeriodicFirst), which checks
// recently used apps and prefetches; the next one an interval later, none
// for an app unused for longer than the recent window; and a Close that
// leaks no goroutine.
func TestPeriodicChecker(t *testing.T) {
	covers(t, "S3", "S6")
	f := newUpdFixture(t)
	f.installV1(t, guestUpdater, "test.updater")
	f.publish(t, guestUpdater, "2.0.0")
	f.kit.ResetRequests()

	cfg := f.cfg
	cfg.Periodic = true
	cfg.Policy.PushWait = -1
	h, err := host.New(host.Config{Home: f.home, Updates: &cfg})
	require.NoError(t, err)
	ctx := t.Context()

	// Before the earliest jittered first round nothing is checked.
	require.NoError(t, f.kit.Clock.WaitForTimers(ctx, 1))
	f.kit.Clock.Advance(policyDefaults.PeriodicFirst/2 - time.Second)
	require.Empty(t, f.kit.Requests())

	// Past the latest one, a round runs: check and prefetch.
	f.kit.Clock.Advance(policyDefaults.PeriodicFirst + 2*time.Second)
	require.NoError(t, f.kit.WaitForRequests(ctx, 2))
	require.Eventually(t, func() bool {
		st, err := f.store(t).Load("test.updater")
		return err == nil && len(st.Installed) == 2
	}, 30*time.Second, 10*time.Millisecond, "2.0.0 not prefetched")

	// The next round comes one interval later: not before 0.9 of it.
	require.NoError(t, f.kit.Clock.WaitForTimers(ctx, 1))
	f.kit.ResetRequests()
	f.kit.Clock.Advance(time.Duration(0.89 * float64(policyDefaults.PeriodicInterval)))
	require.Empty(t, f.kit.Requests())

	// By the round after, the app is outside the recent window (7 days):
	// no request.
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

// TestPushPath: after the first round the host holds a push request for
// the app; a release answers it, and the host prefetches it after the
// executor's jitter (not before), then holds again; periodic rounds skip
// the app while it is held; Close ends the hold at once.
func TestPushPath(t *testing.T) {
	covers(t, "S3")
	f := newUpdFixture(t)
	f.installV1(t, guestUpdater, "test.updater")
	f.kit.ResetRequests()

	cfg := f.cfg
	cfg.Periodic = true
	h, err := host.New(host.Config{Home: f.home, Updates: &cfg})
	require.NoError(t, err)
	ctx := t.Context()
	docRequests := func() int {
		n := 0
		for _, r := range f.kit.Requests() {
			if strings.HasSuffix(r.Path, "/release.json") {
				n++
			}
		}
		return n
	}

	// The first round checks (nothing new) and then holds a request.
	require.NoError(t, f.kit.Clock.WaitForTimers(ctx, 1))
	f.kit.Clock.Advance(2 * policyDefaults.PeriodicFirst)
	require.NoError(t, f.kit.WaitForRequests(ctx, 2), "the first round's check and the push request")
	require.Equal(t, 2, docRequests())

	// A release answers the hold: the prefetch waits on the jitter timer.
	f.publish(t, guestUpdater, "2.0.0")
	require.NoError(t, f.kit.Clock.WaitForTimers(ctx, 2), "the periodic timer and the push's jitter")
	installed := func() bool {
		st, err := f.store(t).Load("test.updater")
		return err == nil && len(st.Installed) == 2
	}
	require.False(t, installed(), "prefetched before the push's jitter")
	f.kit.Clock.Advance(policyDefaults.PushJitter)
	require.Eventually(t, installed, 30*time.Second, 10*time.Millisecond, "2.0.0 not prefetched after the push")

	// Then the host holds again, and a periodic round skips the app.
	require.Eventually(t, func() bool { return docRequests() == 4 }, 30*time.Second, 10*time.Millisecond,
		"the check after the push and a new push request")
	f.kit.ResetRequests()
	f.kit.Clock.Advance(policyDefaults.PeriodicInterval * 12 / 10)
	require.NoError(t, f.kit.Clock.WaitForTimers(ctx, 1)) // the loop armed its next timer: the round is over
	require.Empty(t, f.kit.Requests(), "a periodic round checked an app whose push request is held")

	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, h.Close(cctx), "Close with a push request held")
	if !assertEventually(func() bool { return hostGoroutines() == "" }) {
		t.Fatalf("goroutines of the host still running after Close:\n%s", hostGoroutines())
	}
}
