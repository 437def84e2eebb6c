package host_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/updater/updatertest"
)

// TestBlockedDownloadProgress: the download a first install blocks on
// reports its progress as EventBlocked (Bytes of Total), at most every 5%
// of the package and up to the whole package. The download passes its own
// callback to updater.Client.Download, so progress reaches the launch
// waiting on it and no other.
func TestBlockedDownloadProgress(t *testing.T) {
	f := newUpdFixture(t)
	rel := f.publishCached(t, guestUpdater, "1.0.0")
	// About two seconds for the package, so the launch is listening well
	// before the download ends.
	f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultSlow, Path: "/apps/*/packages/*",
		BytesPerSecond: max(rel.Size/2, 1)})
	cfg := f.cfg
	h, ev := newHost(t, f.home, host.Config{UI: f.ui, Updates: &cfg})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	a, err := h.Launch(ctx, faultApp)
	require.NoError(t, err, ev.dump())
	stop(t, a, h)
	require.Equal(t, "1.0.0", a.Decision().Opened)

	var progress []host.Event
	ev.mu.Lock()
	for _, e := range ev.all {
		if e.App == faultApp && e.Event == host.EventBlocked && e.Total > 0 {
			progress = append(progress, e)
		}
	}
	ev.mu.Unlock()
	require.NotEmpty(t, progress, "no progress events; events:\n%s", ev.dump())
	prev := int64(0)
	for _, e := range progress {
		require.Equal(t, rel.Size, e.Total, "%+v", e)
		require.Greater(t, e.Bytes, prev, "progress goes forward: %+v", e)
		prev = e.Bytes
	}
	require.Equal(t, rel.Size, prev, "the last progress event is the whole package")
	require.LessOrEqual(t, len(progress), 21, "at most one event every 5%% of the package")
}
