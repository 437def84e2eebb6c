package updater

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// launchRun drives one Launch by hand: it is the Launch's Runner, and
// records each call as a command value; each feed keeps the batch it
// brought, and the helpers pick out the ones a test expects. Time is the
// policy clock, moved by the test; nothing sleeps.
type launchRun struct {
	t     *testing.T
	l     *Launch
	now   time.Time
	batch []command // what the last Start or Handle asked for
	cmds  []command // the last batch, for the helpers
	all   []command // every command so far, for counting
}

// command is one recorded Runner call: one of the cmd types below.
type command any

type (
	cmdCheck struct {
		Timeout time.Duration
		Source  string
	}
	cmdDownload struct {
		Release *Release
		Source  string
	}
	cmdOpen struct {
		Version string
		Trace   Trace
	}
	cmdPrepare       struct{ Version string }
	cmdPromptRestart struct{ Version string }
	cmdRestart       struct{ Version string }
	cmdNotifyCheck   struct{ HasUpdate bool }
	cmdNotifyFailed  struct{ Reason string }
	cmdRecordOpen    struct {
		Version string
		At      time.Time
	}
	cmdRecordLaunch struct{ Record LaunchRecord }
	cmdBlocked      struct {
		Attempt             int
		Reason, Downloading string
	}
	cmdRolledBack  struct{ Version, Reason string }
	cmdUnavailable struct{ Err error }
	cmdSleep       struct {
		Alarm Alarm
		After time.Duration
	}
)

var _ Runner = (*launchRun)(nil)

// add records c, failing the test when it follows an Open in one batch
// (Runner.Open promises to be the last call).
func (r *launchRun) add(c command) {
	r.t.Helper()
	if n := len(r.batch); n > 0 {
		if _, ok := r.batch[n-1].(cmdOpen); ok {
			r.t.Fatalf("%T after Open in one batch", c)
		}
	}
	r.batch = append(r.batch, c)
}

func (r *launchRun) Check(timeout time.Duration, source string) { r.add(cmdCheck{timeout, source}) }
func (r *launchRun) Download(rel *Release, source string)       { r.add(cmdDownload{rel, source}) }
func (r *launchRun) Open(version string, tr Trace)              { r.add(cmdOpen{version, tr}) }
func (r *launchRun) Prepare(version string)                     { r.add(cmdPrepare{version}) }
func (r *launchRun) PromptRestart(version string)               { r.add(cmdPromptRestart{version}) }
func (r *launchRun) Restart(version string)                     { r.add(cmdRestart{version}) }
func (r *launchRun) NotifyCheck(hasUpdate bool)                 { r.add(cmdNotifyCheck{hasUpdate}) }
func (r *launchRun) NotifyFailed(reason string)                 { r.add(cmdNotifyFailed{reason}) }
func (r *launchRun) RecordOpen(version string, at time.Time)    { r.add(cmdRecordOpen{version, at}) }
func (r *launchRun) RecordLaunch(rec LaunchRecord)              { r.add(cmdRecordLaunch{rec}) }
func (r *launchRun) Blocked(attempt int, reason, downloading string) {
	r.add(cmdBlocked{attempt, reason, downloading})
}
func (r *launchRun) RolledBack(version, reason string)      { r.add(cmdRolledBack{version, reason}) }
func (r *launchRun) Unavailable(err error)                  { r.add(cmdUnavailable{err}) }
func (r *launchRun) Sleep(alarm Alarm, after time.Duration) { r.add(cmdSleep{alarm, after}) }

func newLaunchRun(t *testing.T, cfg PolicyConfig, st AppState, last *Document) *launchRun {
	t.Helper()
	e, err := NewExecutor(cfg)
	require.NoError(t, err)
	r := &launchRun{t: t, now: polNow, l: e.NewLaunch(LaunchInput{State: st, Last: last, ClientID: polClient})}
	r.l.Start(r.now, r)
	r.record()
	return r
}

// record ends a batch.
func (r *launchRun) record() {
	r.cmds, r.batch = r.batch, nil
	r.all = append(r.all, r.cmds...)
}

func (r *launchRun) feed(ev LaunchEvent) *launchRun {
	r.t.Helper()
	r.l.Handle(r.now, ev, r)
	r.record()
	return r
}

// names lists the command types, for failure messages.
func names(cmds []command) string {
	var s []string
	for _, c := range cmds {
		s = append(s, reflect.TypeOf(c).Name())
	}
	return "[" + strings.Join(s, " ") + "]"
}

// pick returns the first command of type T in the last batch, failing the
// test when there is none.
func pick[T command](r *launchRun) T {
	r.t.Helper()
	for _, c := range r.cmds {
		if v, ok := c.(T); ok {
			return v
		}
	}
	var zero T
	r.t.Fatalf("no %T in %s", zero, names(r.cmds))
	return zero
}

// none fails the test when the last batch holds a command of type T.
func none[T command](r *launchRun) {
	r.t.Helper()
	for _, c := range r.cmds {
		if _, ok := c.(T); ok {
			r.t.Fatalf("unexpected %T in %s", c, names(r.cmds))
		}
	}
}

func count[T command](cmds []command) int {
	n := 0
	for _, c := range cmds {
		if _, ok := c.(T); ok {
			n++
		}
	}
	return n
}

func appState(active string, lastUsed time.Time, installed ...string) AppState {
	return AppState{AppID: "demo.app", Installed: polInst(installed...), Active: active, LastUsed: lastUsed}
}

// TestLaunchSyncTimeoutIsConfigured: the sync deadline and the check's bound
// are the configured sync timeout, not the default (S1, C1).
func TestLaunchSyncTimeoutIsConfigured(t *testing.T) {
	covers(t, "S1", "C1")
	for _, timeout := range []time.Duration{300 * time.Millisecond, 2 * time.Second, 9 * time.Second} {
		t.Run(timeout.String(), func(t *testing.T) {
			r := newLaunchRun(t, PolicyConfig{SyncTimeout: timeout}, appState("1.0.0", polNow.Add(-8*24*time.Hour), "1.0.0"), polDoc("1.0.0"))
			require.Equal(t, timeout, pick[cmdCheck](r).Timeout)
			s := pick[cmdSleep](r)
			require.Equal(t, alarmSync, s.Alarm.kind())
			require.Equal(t, timeout, s.After)
		})
	}
}

// TestLaunchSyncDeadline: a sync launch whose check or download outlives
// the sync timeout opens L (S2, S5); a download that ran out of time
// carries on and is prepared for applyUpdate, not restarted.
func TestLaunchSyncDeadline(t *testing.T) {
	covers(t, "S2", "S5")
	long := appState("1.0.0", polNow.Add(-8*24*time.Hour), "1.0.0")
	t.Run("check outlives the deadline", func(t *testing.T) {
		r := newLaunchRun(t, PolicyConfig{}, long, polDoc("1.0.0"))
		r.feed(AlarmFired{Alarm: pick[cmdSleep](r).Alarm})
		require.Equal(t, "1.0.0", pick[cmdOpen](r).Version)
		require.Contains(t, pick[cmdOpen](r).Trace.Fallback, "check timeout")
		r.feed(Checked{Result: okResult(polDoc("1.1.0"))}) // late: no second open
		none[cmdOpen](r)
	})
	t.Run("download outlives the deadline", func(t *testing.T) {
		r := newLaunchRun(t, PolicyConfig{}, long, polDoc("1.0.0"))
		alarm := pick[cmdSleep](r).Alarm
		r.feed(Checked{Result: okResult(polDoc("1.1.0"))})
		require.Equal(t, "1.1.0", pick[cmdDownload](r).Release.Version)
		none[cmdOpen](r)
		r.feed(AlarmFired{Alarm: alarm})
		open := pick[cmdOpen](r)
		require.Equal(t, "1.0.0", open.Version)
		require.Contains(t, open.Trace.OutcomeRules, "S5")
		r.feed(Opened{Version: "1.0.0"})
		none[cmdDownload](r) // joined, not restarted
		require.True(t, pick[cmdNotifyCheck](r).HasUpdate)
		r.feed(Installed{Version: "1.1.0"})
		require.Equal(t, "1.1.0", pick[cmdPrepare](r).Version)
		none[cmdRestart](r)
	})
	t.Run("download within the deadline opens V", func(t *testing.T) {
		r := newLaunchRun(t, PolicyConfig{}, long, polDoc("1.0.0"))
		r.feed(Checked{Result: okResult(polDoc("1.1.0"))})
		r.feed(Installed{Version: "1.1.0"})
		require.Equal(t, "1.1.0", pick[cmdOpen](r).Version)
		r.feed(Opened{Version: "1.1.0"})
		require.False(t, pick[cmdNotifyCheck](r).HasUpdate, "V opened: nothing newer")
	})
}

// TestLaunchBlockedIgnoresSyncTimeout: a first install or a local version
// below the minimum waits for the download however long it takes: the
// sync deadline does not cut it off (F1, M1, R1).
func TestLaunchBlockedIgnoresSyncTimeout(t *testing.T) {
	covers(t, "F1", "M1", "R1")
	for _, tc := range []struct {
		name string
		st   AppState
		doc  *Document
	}{
		{"first install", AppState{AppID: "demo.app"}, polDoc("1.1.0")},
		{"below minimum", appState("1.0.0", polNow.Add(-time.Hour), "1.0.0"), polDoc("1.1.0", withMin("1.1.0"))},
		{"revoked", appState("1.0.0", polNow.Add(-time.Hour), "1.0.0"), polDoc("1.1.0", withRevoked("1.0.0"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newLaunchRun(t, PolicyConfig{SyncTimeout: time.Second}, tc.st, tc.doc)
			alarm := pick[cmdSleep](r).Alarm
			require.Equal(t, alarmSync, alarm.kind())
			r.feed(Checked{Result: okResult(tc.doc)})
			require.Equal(t, 1, pick[cmdBlocked](r).Attempt)
			require.Equal(t, "1.1.0", pick[cmdDownload](r).Release.Version)
			r.now = r.now.Add(time.Hour)
			r.feed(AlarmFired{Alarm: alarm})
			require.Empty(t, r.cmds, "the sync deadline must not end a blocked wait")
			r.feed(Installed{Version: "1.1.0"})
			require.Equal(t, "1.1.0", pick[cmdOpen](r).Version)
		})
	}
}

// TestLaunchBlockedBackoff: a blocked launch retries with capped
// exponential backoff, checking again after each wait (F1).
func TestLaunchBlockedBackoff(t *testing.T) {
	covers(t, "F1")
	r := newLaunchRun(t, PolicyConfig{RetryMin: time.Second, RetryMax: 4 * time.Second}, AppState{AppID: "demo.app"}, nil)
	r.feed(Checked{Result: CheckResult{Err: errors.New("offline"), ClientID: polClient}})
	var waits []time.Duration
	for range 5 {
		s := pick[cmdSleep](r)
		require.Equal(t, alarmRetry, s.Alarm.kind())
		waits = append(waits, s.After)
		r.feed(AlarmFired{Alarm: s.Alarm})
		require.Equal(t, "blocked", pick[cmdCheck](r).Source)
		r.feed(Checked{Result: CheckResult{Err: errors.New("offline"), ClientID: polClient}})
	}
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}, waits)
	r.feed(Closed{})
	require.True(t, r.l.Done())
	r.feed(Checked{Result: okResult(polDoc("1.0.0"))})
	require.Empty(t, r.cmds, "a closed launch asks for nothing")
}

// TestLaunchUnknownAppEnds: a launch with nothing to open whose check
// finds that the server has no such app ends at once with that error,
// whether it is the first check or a blocked retry; it does not back off
// and try again (F2). With a signed document of the app it waits.
func TestLaunchUnknownAppEnds(t *testing.T) {
	covers(t, "F2")
	offline := CheckResult{Err: errors.New("offline"), ClientID: polClient}
	for _, tc := range []struct {
		name    string
		offline int // checks that fail for another reason first
	}{
		{"first check", 0},
		{"after two blocked retries", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newLaunchRun(t, PolicyConfig{}, AppState{AppID: "demo.app"}, nil)
			for range tc.offline {
				r.feed(Checked{Result: offline})
				r.feed(AlarmFired{Alarm: pick[cmdSleep](r).Alarm})
				require.Equal(t, "blocked", pick[cmdCheck](r).Source)
			}
			r.feed(Checked{Result: unknownApp})
			require.ErrorIs(t, pick[cmdUnavailable](r).Err, ErrUnknownApp)
			none[cmdSleep](r)
			require.True(t, r.l.Done())
			require.Equal(t, "unavailable", r.l.Trace().Action)
			r.feed(Checked{Result: okResult(polDoc("1.0.0"))})
			require.Empty(t, r.cmds, "an ended launch asks for nothing")
		})
	}
	t.Run("a signed document outranks the 404", func(t *testing.T) {
		r := newLaunchRun(t, PolicyConfig{}, AppState{AppID: "demo.app"}, polDoc("1.0.0"))
		r.feed(Checked{Result: unknownApp})
		none[cmdUnavailable](r)
		require.Equal(t, alarmRetry, pick[cmdSleep](r).Alarm.kind(), "the launch waits for the server to be fixed")
		require.False(t, r.l.Done())
	})
}

// TestLaunchNotifiesOnce: onCheckForUpdate is asked for exactly once per
// cold start, whatever the path (U1).
func TestLaunchNotifiesOnce(t *testing.T) {
	covers(t, "A1", "S6")
	recentSt := appState("1.0.0", polNow.Add(-time.Hour), "1.0.0")
	t.Run("async", func(t *testing.T) {
		r := newLaunchRun(t, PolicyConfig{}, recentSt, polDoc("1.0.0"))
		require.Equal(t, "1.0.0", pick[cmdOpen](r).Version)
		r.feed(Opened{Version: "1.0.0"})
		none[cmdNotifyCheck](r) // not before the check
		r.feed(Checked{Result: okResult(polDoc("1.1.0", withMin("1.1.0")))})
		require.True(t, pick[cmdNotifyCheck](r).HasUpdate)
		r.feed(Installed{Version: "1.1.0"})
		r.feed(Prepared{Version: "1.1.0"})
		r.feed(Checked{Result: okResult(polDoc("1.2.0"))})
		require.Equal(t, 1, count[cmdNotifyCheck](r.all))
	})
	t.Run("sync with a background download", func(t *testing.T) {
		r := newLaunchRun(t, PolicyConfig{}, appState("1.0.0", time.Time{}, "1.0.0"), polDoc("1.0.0"))
		r.feed(Checked{Result: okResult(polDoc("1.1.0", withPrefer("1.0.0")))})
		r.feed(Opened{Version: "1.0.0"})
		r.feed(Installed{Version: "1.1.0", Err: errors.New("reset")})
		r.feed(AlarmFired{Alarm: pick[cmdSleep](r).Alarm})
		r.feed(Installed{Version: "1.1.0"})
		require.Equal(t, 1, count[cmdNotifyCheck](r.all))
		require.Equal(t, 1, count[cmdPrepare](r.all))
	})
}

// TestLaunchAfterAsyncDownloadIsAsync: once an async cold start's download
// completed, the next cold start opens the new version at once, without a
// blocking check: pending cleared when L reached V (A2, S6).
func TestLaunchAfterAsyncDownloadIsAsync(t *testing.T) {
	covers(t, "A2", "S6", "L1")
	doc := polDoc("1.1.0")
	r := newLaunchRun(t, PolicyConfig{}, appState("1.0.0", polNow.Add(-time.Hour), "1.0.0"), polDoc("1.0.0"))
	r.feed(Opened{Version: "1.0.0"})
	r.feed(Checked{Result: okResult(doc)})
	require.Equal(t, "1.1.0", pick[cmdDownload](r).Release.Version)
	r.feed(Installed{Version: "1.1.0"})
	require.Equal(t, "1.1.0", pick[cmdPrepare](r).Version)
	none[cmdRestart](r)
	none[cmdPromptRestart](r)

	st := appState("1.0.0", polNow, "1.0.0", "1.1.0")
	require.False(t, PendingUpdate(st.Local(), doc, polClient))
	next := newLaunchRun(t, PolicyConfig{}, st, doc)
	require.Equal(t, "1.1.0", pick[cmdOpen](next).Version)
	require.Equal(t, string(modeAsync), pick[cmdOpen](next).Trace.Mode)
	none[cmdCheck](next)
}

// TestLaunchPendingAfterFailedPrefetch: V > L with V not installed keeps
// the next cold start sync (S3, S6).
func TestLaunchPendingAfterFailedPrefetch(t *testing.T) {
	covers(t, "S3", "S6")
	st := appState("1.0.0", polNow.Add(-time.Hour), "1.0.0")
	require.True(t, PendingUpdate(st.Local(), polDoc("1.1.0"), polClient))
	r := newLaunchRun(t, PolicyConfig{}, st, polDoc("1.1.0"))
	require.Equal(t, "launch-sync", pick[cmdCheck](r).Source)
	none[cmdOpen](r)
}

// TestLaunchRestartPrompt: below the new minimum (or revoked) the running
// version is replaced only through a prompt the user accepts (M2, R1); an
// ordinary update never swaps without applyUpdate (A2).
func TestLaunchRestartPrompt(t *testing.T) {
	covers(t, "M2", "R1", "A2")
	for _, tc := range []struct {
		name   string
		doc    *Document
		prompt bool
	}{
		{"below minimum", polDoc("1.1.0", withMin("1.1.0")), true},
		{"revoked", polDoc("1.1.0", withRevoked("1.0.0")), true},
		{"ordinary update", polDoc("1.1.0"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newLaunchRun(t, PolicyConfig{}, appState("1.0.0", polNow.Add(-time.Hour), "1.0.0"), polDoc("1.0.0"))
			r.feed(Opened{Version: "1.0.0"})
			r.feed(Checked{Result: okResult(tc.doc)})
			r.feed(Installed{Version: "1.1.0"})
			none[cmdRestart](r)
			r.feed(Prepared{Version: "1.1.0"})
			none[cmdRestart](r)
			if !tc.prompt {
				none[cmdPromptRestart](r)
				r.feed(Answered{Version: "1.1.0", Restart: true})
				none[cmdRestart](r)
				return
			}
			require.Equal(t, "1.1.0", pick[cmdPromptRestart](r).Version)
			r.feed(Answered{Version: "1.1.0", Restart: true})
			require.Equal(t, "1.1.0", pick[cmdRestart](r).Version)
			r.feed(Opened{Version: "1.1.0", Swap: true})
			require.Equal(t, "1.1.0", pick[cmdRecordOpen](r).Version)
		})
	}
}

// TestLaunchCrashLoop: CrashLoopLimit failed launches of one version in a
// row mark it bad and the cold start rolls back; one fewer does not (B1).
func TestLaunchCrashLoop(t *testing.T) {
	covers(t, "B1")
	for _, limit := range []int{1, 2, 3} {
		for _, running := range []bool{false, true} {
			t.Run(fmt.Sprintf("limit %d running %v", limit, running), func(t *testing.T) {
				st := appState("1.0.0", polNow.Add(-time.Hour), "1.0.0", "1.1.0")
				cfg := PolicyConfig{CrashLoopLimit: limit}
				crash := LaunchFailed{Version: "1.1.0", Err: errors.New("trap"), Running: running}
				// An app that runs all the same counts one failure per
				// cold start; one that did not open is opened again in
				// place, so it fails again within the same cold start.
				r := newLaunchRun(t, cfg, st, polDoc("1.1.0"))
				for failures := 1; ; failures++ {
					require.Equal(t, "1.1.0", pick[cmdOpen](r).Version)
					r.feed(crash)
					rec := pick[cmdRecordLaunch](r).Record
					require.Equal(t, failures, rec.Failures)
					if failures == limit {
						require.True(t, rec.MarkBad)
						require.Equal(t, "1.1.0", pick[cmdRolledBack](r).Version)
						open := pick[cmdOpen](r)
						require.Equal(t, "1.0.0", open.Version)
						require.Contains(t, open.Trace.Rollback, "1.1.0")
						return
					}
					require.False(t, rec.MarkBad, "marked bad after %d of %d failures", failures, limit)
					if running {
						none[cmdOpen](r)
						st.FailingVersion, st.LaunchFailures = rec.Version, rec.Failures
						r = newLaunchRun(t, cfg, st, polDoc("1.1.0")) // the next cold start
					}
				}
			})
		}
	}
}

// TestLaunchDeterministicFailure: a version that cannot launch at all
// (does not compile, traps in its start function) is marked bad at its
// first failure, and the rollback target opens in the same cold start (B1).
func TestLaunchDeterministicFailure(t *testing.T) {
	covers(t, "B1")
	for _, limit := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			st := appState("1.0.0", polNow.Add(-time.Hour), "1.0.0", "1.1.0")
			r := newLaunchRun(t, PolicyConfig{CrashLoopLimit: limit}, st, polDoc("1.1.0"))
			r.feed(LaunchFailed{Version: "1.1.0", Err: errors.New("compile: invalid section order"), Deterministic: true})
			rec := pick[cmdRecordLaunch](r).Record
			require.True(t, rec.MarkBad)
			require.Equal(t, limit, rec.Failures)
			require.Contains(t, pick[cmdRolledBack](r).Reason, "cannot launch")
			require.Equal(t, "1.0.0", pick[cmdOpen](r).Version)
			r.feed(Opened{Version: "1.0.0"})
			require.Equal(t, "launch-async", pick[cmdCheck](r).Source, "the check for a fixed release still runs")
		})
	}
	t.Run("nothing to roll back to", func(t *testing.T) {
		st := appState("", time.Time{}, "1.1.0")
		r := newLaunchRun(t, PolicyConfig{}, st, polDoc("1.1.0"))
		r.feed(Checked{Result: okResult(polDoc("1.1.0"))})
		require.Equal(t, "1.1.0", pick[cmdOpen](r).Version)
		r.feed(LaunchFailed{Version: "1.1.0", Err: errors.New("trap in start"), Deterministic: true})
		none[cmdOpen](r)
		require.Equal(t, "launch-sync", pick[cmdCheck](r).Source, "blocked: checking for a newer release")
		r.feed(Checked{Result: okResult(polDoc("1.1.0"))})
		require.NotEmpty(t, pick[cmdBlocked](r).Reason)
		none[cmdDownload](r) // the bad version is not fetched again
	})
}

// TestLaunchCrashLoopResets: a good launch clears the failure count.
func TestLaunchCrashLoopResets(t *testing.T) {
	covers(t, "B1")
	st := appState("1.1.0", polNow.Add(-time.Hour), "1.0.0", "1.1.0")
	st.FailingVersion, st.LaunchFailures = "1.1.0", 1
	r := newLaunchRun(t, PolicyConfig{}, st, polDoc("1.1.0"))
	r.feed(Opened{Version: "1.1.0"})
	require.Equal(t, LaunchRecord{}, pick[cmdRecordLaunch](r).Record)
}

// TestLaunchBackgroundRetries: a background download is tried
// BackgroundAttempts times with backoff, then onUpdateFailed (U3).
func TestLaunchBackgroundRetries(t *testing.T) {
	covers(t, "A2")
	r := newLaunchRun(t, PolicyConfig{BackgroundAttempts: 3}, appState("1.0.0", polNow.Add(-time.Hour), "1.0.0"), polDoc("1.0.0"))
	r.feed(Opened{Version: "1.0.0"})
	r.feed(Checked{Result: okResult(polDoc("1.1.0"))})
	for attempt := 1; attempt < 3; attempt++ {
		r.feed(Installed{Version: "1.1.0", Err: context.DeadlineExceeded})
		none[cmdNotifyFailed](r)
		r.feed(AlarmFired{Alarm: pick[cmdSleep](r).Alarm})
		require.Equal(t, "1.1.0", pick[cmdDownload](r).Release.Version)
	}
	r.feed(Installed{Version: "1.1.0", Err: context.DeadlineExceeded})
	require.Contains(t, pick[cmdNotifyFailed](r).Reason, "1.1.0")
	require.Equal(t, 3, count[cmdDownload](r.all))
}

// TestExecutorPeriodicDelay: the periodic wait is the configured interval,
// spread by the jitter (S3, C1).
func TestExecutorPeriodicDelay(t *testing.T) {
	covers(t, "S3", "C1")
	e, err := NewExecutor(PolicyConfig{PeriodicInterval: 6 * time.Hour})
	require.NoError(t, err)
	require.Equal(t, 6*time.Hour, e.PeriodicDelay(false, 0.5))
	require.Equal(t, 6*time.Hour*9/10, e.PeriodicDelay(false, 0))
	require.Equal(t, time.Minute, e.PeriodicDelay(true, 0.5), "first round: soon after the host starts")
	require.Equal(t, 30*time.Second, e.PeriodicDelay(true, 0), "first round, jittered down")
	require.Equal(t, time.Duration(0), e.PushDelay(0))
	require.Equal(t, 7*time.Minute+30*time.Second, e.PushDelay(0.75), "a push's prefetch spread over PushJitter")
	e, err = NewExecutor(PolicyConfig{PeriodicInterval: time.Hour, PeriodicFirst: time.Minute, PeriodicJitter: -1})
	require.NoError(t, err)
	require.Equal(t, time.Minute*14/10, e.PeriodicDelay(true, 0.9))
	require.Equal(t, time.Hour, e.PeriodicDelay(false, 0.9))
}

func TestHint(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"none", nil, ""},
		{"other", errors.New("boom"), ""},
		{"bad signature", fmt.Errorf("verify: %w", ErrBadSignature), "--pubkey"},
		{"unknown app", fmt.Errorf("fetch: %w", ErrUnknownApp), "no such app"},
		{"expired", fmt.Errorf("verify: %w", ErrExpired), "expired"},
		{"replay", fmt.Errorf("verify: %w", ErrReplay), "older document"},
		{"timeout", fmt.Errorf("fetch: %w", context.DeadlineExceeded), "in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Hint(tc.err)
			if tc.want == "" {
				require.Empty(t, got)
				return
			}
			require.Contains(t, got, tc.want)
		})
	}
}
