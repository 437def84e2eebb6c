package updater

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The launch executor: one cold start as a state machine. The pure
// policy functions (decide, decideSync, decideAsync, afterDownloadFailure)
// say what one check's result means; the Launch machine strings them
// together, and owns everything between them: the sync deadline, the
// blocked wait and its backoff, background retries, crash-loop rollback
// (rule B1), onCheckForUpdate exactly once, the restart prompt. It does no
// I/O and reads no clock: events go in with the policy clock's time, and
// it asks its caller's Runner for the work. The host's Runner does it with
// goroutines, HTTP, files and wazero; the fleet simulator's on its
// discrete-event clock; both feed the results back as events. So what is
// simulated is what runs.

// LaunchInput is where a cold start begins.
type LaunchInput struct {
	// State is the app's saved state (Store.Load).
	State AppState
	// Last is the last verified release document, nil if none (its
	// expiry does not matter: its minimum version counts offline).
	Last *Document
	// ClientID places this client in staged rollouts.
	ClientID string
	// Rand returns uniform numbers in [0, 1) for jitter. Nil: no jitter.
	Rand func() float64
}

// Launch is one cold start of one app and the update work that follows it
// while the app runs, as a state machine: Start, then Handle for each
// event; each asks a Runner for the work that follows. Not
// goroutine-safe: one runner feeds it. It is finished once Done reports
// true.
type Launch struct {
	cfg      PolicyConfig
	clientID string
	rnd      func() float64

	st       LocalState
	doc      *Document
	failing  string
	failures int

	phase       phase
	plan        launchPlan
	out         outcome
	trace       Trace
	lastErr     error         // the last download's error
	syncTimeout time.Duration // the sync deadline this cold start set

	opened    string // the version this cold start opened, once Opened
	hasUpdate bool
	backoff   time.Duration
	seq       uint32 // alarm sequence: only the latest of each kind counts
	alarms    [4]uint32

	dl       *Release // in flight (one at a time)
	bg       *Release // to prepare once installed, after the open
	bgTries  int
	bgWait   time.Duration
	prompt   bool   // prompt a restart once bg is prepared
	promptV  string // asked the user to restart into this
	run      Runner // during Start and Handle
	rollback string
}

type phase uint8

const (
	phaseNew          phase = iota
	phaseSyncCheck          // sync check in flight, sync alarm set
	phaseSyncDownload       // download within the sync timeout
	phaseBlockedDl          // blocked: downloading
	phaseBlockedWait        // blocked: backing off
	phaseBlockedCheck       // blocked: checking again
	phaseOpening            // Open sent
	phaseAsyncCheck         // opened; the async check is in flight
	phaseRunning            // opened; background work only
	phaseDone               // closed
)

// NewLaunch returns the Launch of one cold start. Call Start next.
func (e *Executor) NewLaunch(in LaunchInput) *Launch {
	l := &Launch{cfg: e.cfg, clientID: in.ClientID, rnd: in.Rand,
		st: in.State.Local(), doc: in.Last,
		failing: in.State.FailingVersion, failures: in.State.LaunchFailures}
	if l.failing == "" {
		l.failures = 0
	}
	return l
}

// Done reports whether the Launch has finished: closed, it asks for
// nothing more.
func (l *Launch) Done() bool { return l.phase == phaseDone }

// Opened returns the version this cold start opened ("" before Opened).
func (l *Launch) Opened() string { return l.opened }

// Trace returns the launch's record so far (for a launch that ends
// before anything opens).
func (l *Launch) Trace() Trace { return l.trace }

// Start plans the cold start at now (policy clock) and asks r for the
// first work, in order, before it returns.
func (l *Launch) Start(now time.Time, r Runner) {
	l.run = r
	defer func() { l.run = nil }()
	l.begin(now)
}

// Handle feeds one event at now (policy clock) and asks r for the work
// that follows, in order, before it returns. After Done it asks nothing.
func (l *Launch) Handle(now time.Time, ev LaunchEvent, r Runner) {
	if l.phase == phaseDone {
		return
	}
	l.run = r
	defer func() { l.run = nil }()
	switch ev := ev.(type) {
	case Checked:
		l.checked(now, ev.Result)
	case Installed:
		l.installed(ev)
	case Opened:
		l.openedEv(now, ev)
	case LaunchFailed:
		l.launchFailed(now, ev)
	case Prepared:
		if ev.Err == nil && l.prompt && ev.Version == l.bgVersion() {
			l.prompt, l.promptV = false, ev.Version
			l.run.PromptRestart(ev.Version)
		}
	case Answered:
		if ev.Restart && ev.Version == l.promptV && l.phase == phaseRunning {
			l.run.Restart(ev.Version)
		}
	case AlarmFired:
		l.alarm(now, ev.Alarm)
	case Closed:
		l.phase = phaseDone
	}
}

// sleep sets the alarm of kind k, replacing an earlier one of that kind.
func (l *Launch) sleep(k alarmKind, d time.Duration) {
	l.seq++
	l.alarms[k] = l.seq
	l.run.Sleep(newAlarm(k, l.seq), d)
}

func (l *Launch) current(a Alarm) bool {
	k := a.kind()
	if int(k) >= len(l.alarms) || l.alarms[k] != a.seq() {
		return false
	}
	l.alarms[k] = 0
	return true
}

// jitter spreads d by up to ±20% so that many clients do not retry in step.
func (l *Launch) jitter(d time.Duration) time.Duration {
	if l.rnd == nil {
		return d
	}
	return time.Duration(float64(d) * (0.8 + 0.4*l.rnd()))
}

// begin plans a cold start (again, after a rollback).
func (l *Launch) begin(now time.Time) {
	l.st.Pending = PendingUpdate(l.st, l.doc, l.clientID)
	l.plan = decide(l.st, l.doc, l.cfg, now)
	l.trace = Trace{Mode: string(l.plan.Mode), Rules: l.plan.Rules, Reason: l.plan.Reason,
		Local: l.plan.Local, Rollback: l.rollback}
	l.out, l.lastErr, l.opened, l.hasUpdate = outcome{}, nil, "", false
	l.bg, l.bgTries, l.prompt, l.promptV = nil, 0, false, ""
	l.backoff = l.cfg.RetryMin
	l.alarms = [4]uint32{}
	if l.plan.Mode == modeAsync && l.plan.LocalOpenable {
		l.open(l.plan.Local)
		return
	}
	timeout := l.plan.Timeout
	if timeout <= 0 {
		timeout = l.cfg.SyncTimeout // async with nothing that may open
	}
	l.syncTimeout = timeout
	l.phase = phaseSyncCheck
	l.sleep(alarmSync, timeout)
	l.run.Check(timeout, "launch-sync")
}

func (l *Launch) open(v string) {
	l.phase = phaseOpening
	l.trace.Opened = v
	l.run.Open(v, l.trace)
}

func (l *Launch) noteOutcome(out outcome) {
	l.out = out
	l.trace.Action, l.trace.OutcomeRules, l.trace.OutcomeReason = string(out.Action), out.Rules, out.Reason
}

// learn takes a checked document as the last known one.
func (l *Launch) learn(res CheckResult) {
	if res.Err == nil && res.Doc != nil && (l.doc == nil || res.Doc.Sequence >= l.doc.Sequence) {
		l.doc = res.Doc
	}
	l.st.Pending = PendingUpdate(l.st, l.doc, l.clientID)
}

func (l *Launch) checked(now time.Time, res CheckResult) {
	switch l.phase {
	case phaseSyncCheck:
		l.learn(res)
		l.syncDecided(res, false) // the sync alarm keeps running for a download
	case phaseBlockedCheck:
		l.learn(res)
		plan := decide(l.st, l.doc, l.cfg, now)
		out := decideSync(plan, l.st, res)
		l.noteOutcome(out)
		switch out.Action {
		case actionOpenLocal:
			l.hasUpdate = out.HasUpdate
			l.open(out.Open)
		case actionOpenLocalDownloadBackground:
			l.hasUpdate, l.bg = out.HasUpdate, out.Download
			l.open(out.Open)
		case actionDownloadThenOpen:
			// Something may open now, but the launch was blocked: it
			// fetches the newer version first.
			out.Action, out.Blocked = actionBlocked, false
			l.blocked(out)
		case actionUnavailable:
			l.unavailable(out, res.Err)
		default:
			l.blocked(out)
		}
	case phaseAsyncCheck:
		l.learn(res)
		out := decideAsync(l.plan, l.st, res)
		l.phase = phaseRunning
		l.notify(out.HasUpdate)
		switch out.Action {
		case actionDownloadBackground:
			l.prompt = out.Prompt
			l.background(out.Download)
		case actionSwitchOnRestart:
			l.bg, l.prompt = &Release{Version: out.Switch}, true
			l.run.Prepare(out.Switch)
		}
	default:
		l.learn(res) // a late sync check: its document still counts
	}
}

// syncDecided acts on the sync check's result; timedOut is true when the
// sync alarm rang before the check returned.
func (l *Launch) syncDecided(res CheckResult, timedOut bool) {
	var out outcome
	if l.plan.Mode == modeAsync {
		out = decideAsync(l.plan, l.st, res)
	} else {
		out = decideSync(l.plan, l.st, res)
	}
	l.noteOutcome(out)
	l.hasUpdate = out.HasUpdate
	switch out.Action {
	case actionOpenLocal:
		if res.Err != nil {
			kind := "failed"
			if timedOut || errors.Is(res.Err, context.DeadlineExceeded) {
				kind = "timeout"
			}
			l.trace.Fallback = "check " + kind + ": " + res.Err.Error()
		}
		l.open(out.Open)
	case actionOpenLocalDownloadBackground:
		l.trace.Fallback = out.Reason
		l.bg = out.Download
		l.open(out.Open)
	case actionDownloadThenOpen:
		l.phase = phaseSyncDownload
		l.download(out.Download, "launch-sync")
	case actionUnavailable:
		l.unavailable(out, res.Err)
	default:
		l.blocked(out)
	}
}

// unavailable ends a launch that has nothing to open and nothing to wait
// for (F2): the server says it has no such app, and no signed document
// says otherwise. err is the check's.
func (l *Launch) unavailable(out outcome, err error) {
	l.phase = phaseDone
	l.run.Unavailable(fmt.Errorf("%s: %w", out.Reason, err))
}

// blocked starts (or continues) a blocked wait: nothing may open until
// out.Download is installed, or, without one, until a check says so. The
// sync timeout does not apply (F1, M1, R1); only Closed ends it.
func (l *Launch) blocked(out outcome) {
	l.noteOutcome(out)
	l.trace.BlockedAttempts++
	attempt := l.trace.BlockedAttempts
	if out.Download != nil {
		l.phase = phaseBlockedDl
		l.run.Blocked(attempt, out.Reason, out.Download.Version)
		l.download(out.Download, "blocked")
		return
	}
	l.run.Blocked(attempt, out.Reason, "")
	l.retryLater()
}

// retryLater backs off (capped, jittered) before the blocked launch
// checks again.
func (l *Launch) retryLater() {
	l.phase = phaseBlockedWait
	l.sleep(alarmRetry, l.jitter(l.backoff))
	l.backoff = min(2*l.backoff, l.cfg.RetryMax)
}

// download asks for rel unless it is in flight already (a download that
// outlived its sync deadline is joined, not restarted).
func (l *Launch) download(rel *Release, source string) {
	if l.dl != nil && l.dl.Version == rel.Version {
		return
	}
	l.dl = rel
	l.run.Download(rel, source)
}

func (l *Launch) installed(ev Installed) {
	if l.dl == nil || l.dl.Version != ev.Version {
		return
	}
	rel := l.dl
	l.dl = nil
	l.lastErr = ev.Err
	if ev.Err == nil {
		l.st.Installed = append(l.st.Installed, InstalledVersion{Version: ev.Version, Verified: true})
		l.st.Pending = PendingUpdate(l.st, l.doc, l.clientID)
	}
	switch l.phase {
	case phaseSyncDownload:
		if ev.Err == nil {
			l.hasUpdate = false // V opens: nothing newer than what runs
			l.open(ev.Version)
			return
		}
		// L opens; the download is retried in the background, so that
		// onUpdateReady or onUpdateFailed follows the hasUpdate.
		l.fallBack(ev.Err, rel)
	case phaseBlockedDl:
		if ev.Err == nil {
			l.hasUpdate = false
			l.open(ev.Version)
			return
		}
		l.run.Blocked(l.trace.BlockedAttempts, "download failed: "+ev.Err.Error(), "")
		l.retryLater()
	case phaseAsyncCheck, phaseRunning:
		if l.bg == nil || l.bg.Version != ev.Version {
			return
		}
		if ev.Err == nil {
			l.run.Prepare(ev.Version)
			return
		}
		l.retryBackground(ev.Err)
	}
	// phaseOpening: afterOpen looks at what became of the download.
}

func (l *Launch) alarm(now time.Time, a Alarm) {
	if !l.current(a) {
		return
	}
	switch a.kind() {
	case alarmSync:
		switch l.phase {
		case phaseSyncCheck:
			l.syncDecided(CheckResult{Err: fmt.Errorf("check: sync timeout %s: %w", l.syncTimeout, context.DeadlineExceeded),
				ClientID: l.clientID}, true)
		case phaseSyncDownload:
			// Out of time: open L; the download carries on and is
			// prepared for applyUpdate once installed (S2, S5).
			l.fallBack(context.DeadlineExceeded, l.dl)
		}
	case alarmRetry:
		if l.phase == phaseBlockedWait {
			l.phase = phaseBlockedCheck
			l.run.Check(l.cfg.BackgroundTimeout, "blocked")
		}
	case alarmBackground:
		if l.bg != nil && l.phase >= phaseOpening {
			l.bgTries++
			l.download(l.bg, "background")
		}
	}
}

// notify sends onCheckForUpdate. Each cold start reaches it once: after
// the sync check's open, or after the async check (U1).
func (l *Launch) notify(hasUpdate bool) { l.run.NotifyCheck(hasUpdate) }

func (l *Launch) openedEv(now time.Time, ev Opened) {
	if ev.Swap {
		// applyUpdate or the restart prompt: not a cold start, no
		// crash-loop accounting.
		l.run.RecordOpen(ev.Version, now)
		return
	}
	if l.phase != phaseOpening || ev.Version != l.trace.Opened {
		return
	}
	l.opened = ev.Version
	if l.failing != "" && sameSemver(l.failing, ev.Version) {
		l.failing, l.failures = "", 0
		l.run.RecordLaunch(LaunchRecord{})
	}
	l.afterOpen(now)
}

// afterOpen runs once the cold start's version is open (even if its
// onLaunch crashed below the crash-loop limit).
func (l *Launch) afterOpen(now time.Time) {
	l.run.RecordOpen(l.opened, now)
	if l.plan.Mode == modeAsync && l.plan.LocalOpenable {
		l.phase = phaseAsyncCheck
		l.run.Check(l.cfg.BackgroundTimeout, "launch-async")
		return
	}
	l.phase = phaseRunning
	l.notify(l.hasUpdate)
	switch {
	case l.bg == nil:
	case l.dl != nil && l.dl.Version == l.bg.Version:
		// The sync download that ran out of time carries on.
	case l.st.hasVersion(l.bg.Version):
		l.run.Prepare(l.bg.Version)
	case l.bgTries > 0:
		l.retryBackground(l.lastErr)
	default:
		l.background(l.bg)
	}
}

// launchFailed counts a failed open toward the crash-loop limit (rule B1):
// CrashLoopLimit failures of one version in a row, or one deterministic
// failure, mark it bad, and the cold start begins again without it (the
// rollback target opens, or the launch blocks until a newer release).
// Below the limit, an app that runs all the same carries on, and one that
// did not open is opened again (a transient failure passes; a repeated
// one reaches the limit in this launch).
func (l *Launch) launchFailed(now time.Time, ev LaunchFailed) {
	if l.phase != phaseOpening || ev.Version != l.trace.Opened {
		return
	}
	if l.failing != "" && sameSemver(l.failing, ev.Version) {
		l.failures++
	} else {
		l.failing, l.failures = ev.Version, 1
	}
	if ev.Deterministic {
		l.failures = max(l.failures, l.cfg.CrashLoopLimit)
	}
	if l.failures < l.cfg.CrashLoopLimit {
		l.run.RecordLaunch(LaunchRecord{Version: ev.Version, Failures: l.failures})
		if ev.Running {
			l.opened = ev.Version
			l.afterOpen(now)
			return
		}
		l.open(ev.Version)
		return
	}
	why := fmt.Sprintf("%s failed to launch %d times in a row (last: %v): marked bad, rolling back", ev.Version, l.failures, ev.Err)
	if ev.Deterministic {
		why = fmt.Sprintf("%s cannot launch (%v): marked bad, rolling back", ev.Version, ev.Err)
	}
	l.run.RecordLaunch(LaunchRecord{Version: ev.Version, Failures: l.failures, MarkBad: true})
	l.run.RolledBack(ev.Version, why)
	l.st.Bad = append(l.st.Bad, ev.Version)
	l.failing, l.failures, l.rollback = "", 0, why
	l.dl = nil
	l.begin(now)
}
