package host_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
	"github.com/minihost/minihost/updater/updatertest"
)

// The end-to-end tests of the update mechanism: a real release server on
// loopback (the updatertest kit), real packages, a new Host per cold start
// on one home folder. Each test names the seed rules it covers.

const (
	guestUpdater = "runtime/testdata/guests/updater"
	guestLate    = "runtime/testdata/guests/lateupdater"
	sampleCount  = "samples/counter"
)

type updFixture struct {
	kit  *updatertest.Server
	home string
	ui   host.UI
	cfg  host.UpdateConfig
}

func newUpdFixture(t *testing.T) *updFixture {
	kit := updatertest.NewServer(t, updatertest.Config{})
	return &updFixture{
		kit:  kit,
		home: t.TempDir(),
		ui:   host.AutoAnswer(false),
		cfg: host.UpdateConfig{
			Server: kit.URL, PublicKey: kit.PublicKey, Clock: kit.Clock, Now: kit.Clock.Now,
			ClientID: "test-client", Policy: updater.PolicyConfig{RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond},
		},
	}
}

func (f *updFixture) publish(t *testing.T, dir, v string) *updater.Release {
	return f.kit.Publish(t, runtimetest.BuildPackage(t, dir, v), 100)
}

// coldStart starts a new host (a new process, as far as the app can tell)
// and launches appID in it.
func (f *updFixture) coldStart(t *testing.T, appID string) (*host.App, *events, *host.Host) {
	t.Helper()
	cfg := f.cfg
	h, ev := newHost(t, f.home, host.Config{UI: f.ui, Updates: &cfg})
	a, err := h.Launch(t.Context(), appID)
	require.NoError(t, err, ev.dump())
	return a, ev, h
}

// advanceTimers moves the fake clock on, 10 ms at a time, whenever one
// of its timers is pending, from when after returns (nil: at once) until
// the returned stop or the test's end: the launches' backoffs (a blocked
// launch's retries, a background download's) and the sync deadline run on
// the policy clock (UpdateConfig.Clock), and pass in fake time as soon as
// they are armed, without the test sleeping. Start it only where the
// sync deadline may pass: after the sync launch's check and download, or
// in a launch that is blocked anyway.
func advanceTimers(t *testing.T, c *updatertest.FakeClock, after func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if after != nil && after(ctx) != nil {
			return
		}
		for c.WaitForTimers(ctx, 1) == nil {
			c.Advance(10 * time.Millisecond)
		}
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// stop closes the app and its host.
func stop(t *testing.T, a *host.App, h *host.Host) {
	t.Helper()
	require.NoError(t, a.Close(t.Context()))
	require.NoError(t, h.Close(t.Context()))
}

func (e *events) waitEvent(t *testing.T, app, name string) host.Event {
	t.Helper()
	return e.waitFor(t, func(ev host.Event) bool { return ev.App == app && ev.Event == name })
}

func (e *events) waitLog(t *testing.T, app, sub string) {
	t.Helper()
	e.waitFor(t, func(ev host.Event) bool {
		return ev.App == app && ev.Event == host.EventLog && strings.Contains(ev.Message, sub)
	})
}

func hasRule(d *host.Decision, id string) bool {
	return slices.Contains(d.Rules, id) || slices.Contains(d.OutcomeRules, id)
}

// installV1 publishes 1.0.0 and cold-starts it once (a first install).
func (f *updFixture) installV1(t *testing.T, dir, appID string) {
	f.publish(t, dir, "1.0.0")
	a, _, h := f.coldStart(t, appID)
	stop(t, a, h)
}

// offerV2 installs 1.0.0 and then publishes 2.0.0: the client runs the
// older version and the server has a newer one, where most update
// scenarios start.
func (f *updFixture) offerV2(t *testing.T, dir, appID string) *updater.Release {
	f.installV1(t, dir, appID)
	return f.publish(t, dir, "2.0.0")
}

// nextColdStartOpens closes a and its host h, cold-starts appID again
// (the app's next launch, in a new process) and checks that it opens
// version, for the reason why. It returns that launch's decision.
func (f *updFixture) nextColdStartOpens(t *testing.T, a *host.App, h *host.Host, appID, version, why string) *host.Decision {
	t.Helper()
	stop(t, a, h)
	a, _, _ = f.coldStart(t, appID)
	d := a.Decision()
	require.Equal(t, version, d.Opened, why)
	return d
}

// checkNow runs the periodic check once, in a host of its own with no
// app open, and returns its result for the one installed app.
func (f *updFixture) checkNow(t *testing.T) host.CheckResult {
	t.Helper()
	cfg := f.cfg
	h, _ := newHost(t, f.home, host.Config{Updates: &cfg})
	res, err := h.CheckNow(t.Context())
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.NoError(t, h.Close(t.Context()))
	return res[0]
}

// requireSync checks that a's launch was sync for rule and opened
// version, and returns its decision.
func requireSync(t *testing.T, a *host.App, rule, version string) *host.Decision {
	t.Helper()
	d := a.Decision()
	require.Equal(t, "sync", d.Mode, "%+v", d)
	require.True(t, hasRule(d, rule), "%+v", d)
	require.Equal(t, version, d.Opened, "%+v", d)
	return d
}

func TestUpdateFirstInstall(t *testing.T) {
	covers(t, "F1", "S1", "U1")
	f := newUpdFixture(t)
	f.publish(t, guestUpdater, "1.0.0")
	a, ev, _ := f.coldStart(t, "test.updater")
	d := requireSync(t, a, "F1", "1.0.0")
	require.Equal(t, "ok", d.Download.Result)
	require.Positive(t, d.Download.Bytes)
	ev.waitLog(t, "test.updater", "check hasUpdate=false")
	// Exactly one onCheckForUpdate, and no ready/failed: nothing downloaded after opening.
	require.NoError(t, a.Close(t.Context()))
	require.Equal(t, 1, count(ev.names("test.updater"), host.EventCheckForUpdate))
	require.Zero(t, count(ev.names("test.updater"), host.EventUpdateReady))
}

func count(names []string, name string) int {
	n := 0
	for _, x := range names {
		if x == name {
			n++
		}
	}
	return n
}

func TestUpdateAsyncThenNextColdStart(t *testing.T) {
	covers(t, "A1", "A2", "U1", "U2", "S6", "L1")
	f := newUpdFixture(t)
	f.installV1(t, guestUpdater, "test.updater")
	f.kit.Clock.Advance(time.Hour)
	f.publish(t, guestUpdater, "2.0.0")

	a, ev, h := f.coldStart(t, "test.updater")
	require.Equal(t, "async", a.Decision().Mode)
	require.Equal(t, "1.0.0", a.Decision().Opened, "an async launch keeps the local version")
	ev.waitLog(t, "test.updater", "check hasUpdate=true")
	ev.waitLog(t, "test.updater", "ready")
	// A round trip through the dispatcher: a swap queued by the ready
	// update would have run by the time it returns.
	require.NoError(t, a.Emit(t.Context(), "noop", nil))
	ev.waitLog(t, "test.updater", "unknown event noop")
	require.Equal(t, "1.0.0", a.Version(), "no swap without applyUpdate")
	require.Zero(t, ev.countEvents("test.updater", host.EventApplyUpdate, ""))
	require.Equal(t, 1, ev.countEvents("test.updater", host.EventLog, "check hasUpdate="), "onCheckForUpdate reaches the guest once per cold start")
	// The check sent the running version: the server counted it (adoption).
	st, err := f.kit.Release.Status(t.Context(), "test.updater")
	require.NoError(t, err)
	require.Equal(t, "1.0.0", st.Versions[len(st.Versions)-1].Version)
	require.Positive(t, st.Versions[len(st.Versions)-1].Fetches, "fetches counted under the running 1.0.0")

	d := f.nextColdStartOpens(t, a, h, "test.updater", "2.0.0", "the next cold start uses the downloaded version")
	require.Equal(t, "async", d.Mode, "the download completed: nothing is pending, no blocking check")
	require.Nil(t, d.Check, "no blocking check")
	require.Nil(t, d.Download, "prefetched: no download at launch")
}

func TestUpdateApplyHotSwap(t *testing.T) {
	covers(t, "U2", "U4")
	f := newUpdFixture(t)
	f.ui = host.AutoAnswer(true) // the counter sample asks to restart; say yes
	// 2.0.0 has the same wasm bytes as 1.0.0: only app.json differs.
	f.offerV2(t, sampleCount, "demo.counter")

	a, ev, _ := f.coldStart(t, "demo.counter")
	ev.waitEvent(t, "demo.counter", host.EventApplyUpdate)
	ev.waitLog(t, "demo.counter", "counter v2.0.0: launch #3 (reason update)") // storage carried over
	require.Equal(t, "2.0.0", a.Version())
	require.NoError(t, a.Hide(t.Context()), "the new instance answers")
	// The swap is recorded by the app's update work, off the dispatcher.
	require.Eventually(t, func() bool {
		st, err := f.store(t).Load("demo.counter")
		return err == nil && st.Active == "2.0.0"
	}, 30*time.Second, 5*time.Millisecond, "the store never recorded 2.0.0 as active after the swap")
}

func (f *updFixture) store(t *testing.T) *updater.Store {
	s, err := updater.OpenStore(updater.StoreConfig{Dir: f.home})
	require.NoError(t, err)
	return s
}

func TestUpdateApplyNotReady(t *testing.T) {
	covers(t, "U4")
	f := newUpdFixture(t)
	f.installV1(t, guestUpdater, "test.updater")
	a, ev, _ := f.coldStart(t, "test.updater")
	ev.waitLog(t, "test.updater", "check hasUpdate=false")
	require.NoError(t, a.Emit(t.Context(), "apply", nil))
	ev.waitLog(t, "test.updater", "apply: wx apply_update: no update is ready")
}

func TestUpdatePeriodicThenSync(t *testing.T) {
	covers(t, "S3", "S6")
	f := newUpdFixture(t)
	f.offerV2(t, guestUpdater, "test.updater")

	res := f.checkNow(t)
	require.True(t, res.Checked)
	require.Equal(t, "2.0.0", res.Latest)
	require.False(t, res.Pending, "prefetched: L reached V, nothing is pending")
	require.NoError(t, res.Err)

	// The prefetched version opens at the next cold start, without a
	// blocking check.
	a, _, _ := f.coldStart(t, "test.updater")
	d := a.Decision()
	require.Equal(t, "async", d.Mode, "%+v", d)
	require.Equal(t, "2.0.0", d.Opened)
	require.Nil(t, d.Download, "prefetched by the periodic check")
	require.Nil(t, d.Check, "no blocking check")
}

func TestUpdatePeriodicSkipsUnusedApps(t *testing.T) {
	covers(t, "S3")
	f := newUpdFixture(t)
	f.installV1(t, guestUpdater, "test.updater")
	f.longUnused()
	f.kit.ResetRequests()
	require.False(t, f.checkNow(t).Checked)
	require.Empty(t, f.kit.Requests())
}

func TestUpdateLongUnused(t *testing.T) {
	covers(t, "S4", "S1")
	f := newUpdFixture(t)
	f.offerV2(t, guestUpdater, "test.updater")
	f.longUnused()
	a, _, _ := f.coldStart(t, "test.updater")
	requireSync(t, a, "S4", "2.0.0")
}

func TestUpdateHangingServer(t *testing.T) {
	covers(t, "S2", "S5")
	f := newUpdFixture(t)
	f.installV1(t, guestUpdater, "test.updater")
	f.longUnused()
	f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultHang})
	f.cfg.Policy.SyncTimeout = 300 * time.Millisecond
	began := time.Now()
	a, ev, _ := f.coldStart(t, "test.updater")
	require.Less(t, time.Since(began), 20*time.Second, "the sync timeout was not honoured")
	d := a.Decision()
	require.Equal(t, "1.0.0", d.Opened)
	require.Equal(t, "timeout", d.Check.Result)
	require.Contains(t, d.Fallback, "check timeout")
	ev.waitLog(t, "test.updater", "check hasUpdate=false")
}

func TestUpdateSlowDownloadContinuesInBackground(t *testing.T) {
	covers(t, "S2", "S5")
	f := newUpdFixture(t)
	rel := f.offerV2(t, guestUpdater, "test.updater")
	f.longUnused()
	f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultSlow, Path: "/apps/*/packages/*", BytesPerSecond: rel.Size})
	f.cfg.Policy.SyncTimeout = 300 * time.Millisecond
	f.kit.ResetRequests()
	// The sync deadline passes (in fake time) once the download began.
	advanceTimers(t, f.kit.Clock, func(ctx context.Context) error { return f.kit.WaitForRequests(ctx, 2) })
	a, ev, h := f.coldStart(t, "test.updater")
	d := a.Decision()
	require.Equal(t, "1.0.0", d.Opened)
	require.Equal(t, "timeout", d.Download.Result)
	ev.waitLog(t, "test.updater", "check hasUpdate=true")
	ev.waitLog(t, "test.updater", "ready") // the download carried on
	f.nextColdStartOpens(t, a, h, "test.updater", "2.0.0", "used from the next cold start")
}

func TestUpdateMinVersionSync(t *testing.T) {
	covers(t, "M1", "S1")
	f := newUpdFixture(t)
	f.offerV2(t, guestUpdater, "test.updater")
	f.kit.SetSettings(t, "test.updater", release.Settings{MinVersion: new("2.0.0")})
	f.longUnused()
	// The first two package downloads fail: the launch stays blocked and retries.
	f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultStatus, Status: 503, Path: "/apps/*/packages/*", Times: 2})
	f.cfg.Policy.SyncTimeout = 200 * time.Millisecond
	f.kit.ResetRequests()
	// The backoffs pass once the launch is blocked downloading (the
	// check found 1.0.0 below the minimum).
	advanceTimers(t, f.kit.Clock, func(ctx context.Context) error { return f.kit.WaitForRequests(ctx, 2) })
	a, ev, _ := f.coldStart(t, "test.updater")
	d := a.Decision()
	require.Equal(t, "2.0.0", d.Opened, "L below the minimum never opens")
	require.True(t, hasRule(d, "M1"), "%+v", d)
	require.GreaterOrEqual(t, d.BlockedAttempts, 2)
	ev.waitEvent(t, "test.updater", host.EventBlocked)
}

// recordingUI answers modals with a fixed answer and records them.
type recordingUI struct {
	answer bool
	shown  chan abi.Modal
}

func (u *recordingUI) ShowModal(_ string, m abi.Modal, answer func(bool)) {
	u.shown <- m
	answer(u.answer)
}

func TestUpdateMinVersionAsyncPrompt(t *testing.T) {
	covers(t, "M2", "S6")
	f := newUpdFixture(t)
	ui := &recordingUI{answer: false, shown: make(chan abi.Modal, 4)}
	f.ui = ui
	f.offerV2(t, guestUpdater, "test.updater")
	f.kit.SetSettings(t, "test.updater", release.Settings{MinVersion: new("2.0.0")})

	a, ev, h := f.coldStart(t, "test.updater")
	require.Equal(t, "async", a.Decision().Mode, "the minimum version does not change the mode (N1)")
	ev.waitLog(t, "test.updater", "ready")
	var m abi.Modal
	select {
	case m = <-ui.shown: // the host asks to restart; the user declines
	case <-time.After(30 * time.Second):
		t.Fatalf("no restart prompt within 30 s although 1.0.0 is below the minimum 2.0.0\n%s", ev.dump())
	}
	require.Contains(t, m.Content, "2.0.0")
	require.Equal(t, "1.0.0", a.Version())

	// 2.0.0 is installed: the next cold start opens it at once.
	d := f.nextColdStartOpens(t, a, h, "test.updater", "2.0.0", "declined, but V is installed")
	require.Equal(t, "async", d.Mode, "declined, but V is installed: nothing is pending")
}

func TestUpdatePreferLocal(t *testing.T) {
	covers(t, "P1", "N1")
	f := newUpdFixture(t)
	f.offerV2(t, guestUpdater, "test.updater")
	f.kit.SetSettings(t, "test.updater", release.Settings{PreferLocal: new("1.0.0")})
	f.longUnused()
	a, ev, _ := f.coldStart(t, "test.updater")
	requireSync(t, a, "P1", "1.0.0")
	ev.waitLog(t, "test.updater", "check hasUpdate=true")
	ev.waitLog(t, "test.updater", "ready")
}

func TestUpdateRevert(t *testing.T) {
	covers(t, "R1")
	f := newUpdFixture(t)
	f.ui = host.AutoAnswer(true)
	f.offerV2(t, guestUpdater, "test.updater")
	// Two cold starts: download 2.0.0, then open it.
	for range 2 {
		a, ev, h := f.coldStart(t, "test.updater")
		ev.waitEvent(t, "test.updater", host.EventCheckForUpdate)
		stop(t, a, h)
	}
	st, err := f.store(t).Load("test.updater")
	require.NoError(t, err)
	require.Equal(t, "2.0.0", st.Active)

	f.kit.Revert(t, "test.updater", "1.0.0") // 2.0.0 becomes revoked
	a, ev, h := f.coldStart(t, "test.updater")
	require.Equal(t, "2.0.0", a.Decision().Opened, "the client does not know yet")
	ev.waitEvent(t, "test.updater", host.EventApplyUpdate) // prompted restart into 1.0.0, accepted
	require.Equal(t, "1.0.0", a.Version())
	f.nextColdStartOpens(t, a, h, "test.updater", "1.0.0", "a revoked version never opens again")
}

func TestUpdateFailedDownload(t *testing.T) {
	covers(t, "U3", "S2")
	f := newUpdFixture(t)
	f.offerV2(t, guestUpdater, "test.updater")
	f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultCorrupt, Path: "/apps/*/packages/*", After: 100})
	a, ev, h := f.coldStart(t, "test.updater")
	stopTimers := advanceTimers(t, f.kit.Clock, nil) // the background retries' backoff
	ev.waitLog(t, "test.updater", "check hasUpdate=true")
	ev.waitLog(t, "test.updater", "failed")
	failed := ev.waitEvent(t, "test.updater", host.EventUpdateFailed)
	require.Contains(t, failed.Message, "sha256")
	stop(t, a, h)
	stopTimers()

	f.cfg.Policy.SyncTimeout = time.Second
	a, _, _ = f.coldStart(t, "test.updater") // pending: sync, the download fails again
	require.Equal(t, "1.0.0", a.Decision().Opened, "the next start still works")
	st, err := f.store(t).Load("test.updater")
	require.NoError(t, err)
	require.Equal(t, []updater.InstalledVersion{{Version: "1.0.0", Verified: true}}, st.Installed)
}

func TestUpdateLateRegistration(t *testing.T) {
	covers(t, "U5", "U1", "U2")
	f := newUpdFixture(t)
	f.offerV2(t, guestLate, "test.lateupdater")
	a, ev, _ := f.coldStart(t, "test.lateupdater")
	ev.waitEvent(t, "test.lateupdater", host.EventUpdateReady) // before the guest listens
	require.NoError(t, a.Emit(t.Context(), "register", nil))
	ev.waitLog(t, "test.lateupdater", "check hasUpdate=true")
	ev.waitLog(t, "test.lateupdater", "ready")
}

func TestLaunchWithoutUpdates(t *testing.T) {
	h, _ := newHost(t, t.TempDir(), host.Config{})
	_, err := h.Launch(context.Background(), "test.updater")
	require.ErrorIs(t, err, errors.ErrUnsupported, "updates are not configured")
}
