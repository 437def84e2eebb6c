package hosttest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/hosttest"
)

// The seed's JavaScript, unchanged (samples/seed-js/app.js), drives the
// whole restart-to-update: onCheckForUpdate logs hasUpdate, onUpdateReady
// shows the modal, whose confirmation calls applyUpdate, and 1.1.0 starts
// with reason "update", its storage kept.
func TestJSSeedAppliesUpdate(t *testing.T) {
	ctx := t.Context()
	k := hosttest.New(t, hosttest.Config{UI: host.AutoAnswer(true)})
	k.Publish(ctx, "seed-js", "1.0.0")
	k.ColdStart(ctx, "demo.seed-js")
	waitLog(ctx, k, "seed-js v1.0.0: onLaunch (reason launch) launch #1")
	k.Publish(ctx, "seed-js", "1.1.0")
	k.ColdStart(ctx, "demo.seed-js")
	require.Equal(t, "true", waitLog(ctx, k, "true").Message, "console.log(res.hasUpdate)")
	m := k.WaitEvent(ctx, host.EventModal).Modal
	require.Equal(t, "Update ", m.Title)
	require.True(t, m.ShowCancel, "wx.showModal shows cancel unless told not to")
	k.WaitVersion(ctx, "1.1.0")
	require.Equal(t, "from 1.0.0", k.WaitEvent(ctx, host.EventApplyUpdate).Reason)
	require.Contains(t, waitLog(ctx, k, "v1.1.0").Message, "seed-js v1.1.0: onLaunch (reason update) launch #3")
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
