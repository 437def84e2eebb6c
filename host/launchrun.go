package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/minihost/minihost/samples/wx/abi"
	"github.com/minihost/minihost/updater"
)

// launchRun carries out one updater.Launch: it is the Launch's
// updater.Runner, doing what the executor asks for (checks, downloads, the
// open, the update manager's events, store records, timers), and feeds
// the results back as events. It decides nothing. Until the app opens it
// runs on the caller of Host.Launch; then it goes on as the app's
// background work (App.goWork), so App.Close cancels it and waits for it.
// Work that waits (checks, downloads, compiles, timers, prompts) runs on
// goroutines the run owns; they post their results to the run's queue,
// which only the run's own loop reads. The open itself runs on the loop,
// once the Start or Handle that asked for it has returned (Runner.Open is
// the last call of one).
type launchRun struct {
	h       *Host
	appID   string
	machine *updater.Launch
	began   time.Time

	ctx    context.Context // cancelled by stop; the goroutines' context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // guards the fields below
	queue    []updater.LaunchEvent
	stopped  bool
	timers   []updater.Timer
	last     *updater.Document // newest verified document, for pruning
	check    *CheckRecord      // the launch's check (sync or blocked)
	checkAt  time.Time         // when that check began
	checkErr error             // the last check's error, for hints
	dl       *download         // the download the launch waited for
	wake     chan struct{}

	app       *App         // owned by the loop
	attempt   int          // blocked attempt, for progress events
	ended     error        // why the Launch ended without opening (Unavailable)
	preparing string       // a version Prepare made ready: retention keeps it
	opening   *openRequest // the Open the last Start or Handle asked for
}

// openRequest is a Runner.Open the loop carries out after the call that
// asked for it.
type openRequest struct {
	version string
	trace   updater.Trace
}

var _ updater.Runner = (*launchRun)(nil)

func (h *Host) newLaunchRun(appID string, last *updater.Document) *launchRun {
	r := &launchRun{h: h, appID: appID, began: time.Now(), last: last, wake: make(chan struct{}, 1)}
	r.ctx, r.cancel = context.WithCancel(h.bgCtx)
	return r
}

// untilOpen runs the launch until its app is open, then hands the run to
// the app and returns it. When ctx ends first, or the open fails for a
// reason that is not the version's, the run stops and nothing stays open.
func (r *launchRun) untilOpen(ctx context.Context) (*App, error) {
	r.machine.Start(r.h.upd.clock.Now(), r)
	for {
		if err := r.openAsked(ctx); err != nil {
			r.abort(ctx, err)
			return nil, err
		}
		if r.app != nil && r.machine.Opened() != "" {
			a := r.app
			a.goWork(r.background)
			return a, nil
		}
		ev, err := r.next(ctx)
		if err != nil {
			if tr := r.machine.Trace(); tr.BlockedAttempts > 0 {
				err = fmt.Errorf("blocked: %s: %w", tr.OutcomeReason, err)
			}
			r.abort(ctx, err)
			return nil, err
		}
		r.machine.Handle(r.h.upd.clock.Now(), ev, r)
		if r.ended != nil {
			r.abort(ctx, r.ended)
			return nil, r.ended
		}
	}
}

// abort ends a launch that opened nothing for good.
func (r *launchRun) abort(ctx context.Context, err error) {
	r.h.emitFor(r.appID, "", Event{Event: EventDecision, Decision: r.decision(r.machine.Trace()), Message: err.Error()})
	r.machine.Handle(r.h.upd.clock.Now(), updater.Closed{}, r) // asks for nothing
	if r.app != nil {
		r.app.Close(context.WithoutCancel(ctx))
		r.app = nil
	}
	r.stop()
}

// background is the rest of the run, as the app's work.
func (r *launchRun) background(ctx context.Context) {
	defer r.stop()
	for !r.machine.Done() {
		ev, err := r.next(ctx)
		if err != nil {
			r.machine.Handle(r.h.upd.clock.Now(), updater.Closed{}, r)
			return
		}
		r.machine.Handle(r.h.upd.clock.Now(), ev, r)
		if err := r.openAsked(ctx); err != nil {
			r.h.log.Warn("update work", "app", r.appID, "err", err)
		}
	}
}

// stop cancels the run's goroutines and timers and waits for them.
func (r *launchRun) stop() {
	r.mu.Lock()
	r.stopped = true
	for _, t := range r.timers {
		t.Stop()
	}
	r.timers = nil
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// post queues ev for the loop; after stop it is dropped. It never blocks,
// so the dispatcher and UI callbacks may call it.
func (r *launchRun) post(ev updater.LaunchEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.queue = append(r.queue, ev)
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// next returns the next event, waiting for one until ctx ends.
func (r *launchRun) next(ctx context.Context) (updater.LaunchEvent, error) {
	for {
		r.mu.Lock()
		if len(r.queue) > 0 {
			ev := r.queue[0]
			r.queue = r.queue[1:]
			r.mu.Unlock()
			return ev, nil
		}
		r.mu.Unlock()
		select {
		case <-r.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// goPost runs fn on a goroutine of the run and posts what it returns
// (nil: nothing).
func (r *launchRun) goPost(fn func(ctx context.Context) updater.LaunchEvent) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if ev := fn(r.ctx); ev != nil && r.ctx.Err() == nil {
			r.post(ev)
		}
	}()
}

// openAsked carries out the Open the last Start or Handle asked for, if
// any. It returns an error only when the launch cannot go on (the app
// could not be created, or ctx ended during the open).
func (r *launchRun) openAsked(ctx context.Context) error {
	o := r.opening
	if o == nil {
		return nil
	}
	r.opening = nil
	return r.open(ctx, o.version, o.trace)
}

// hasApp reports whether the app is open, for the calls the executor
// makes only once it is.
func (r *launchRun) hasApp(call string) bool {
	if r.app == nil {
		r.h.log.Warn("update call without an open app", "app", r.appID, "call", call)
		return false
	}
	return true
}

// Check runs an update check on a goroutine of the run.
func (r *launchRun) Check(timeout time.Duration, source string) {
	h := r.h
	if source != "launch-async" {
		r.mu.Lock()
		r.check, r.checkAt = nil, time.Now()
		r.mu.Unlock()
	}
	r.goPost(func(ctx context.Context) updater.LaunchEvent {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var rec *CheckRecord
		res := h.check(cctx, r.appID, &rec)
		if res.Err != nil && ctx.Err() == nil {
			// Never silent: the guest still gets hasUpdate=false.
			msg := source + " check: " + res.Err.Error()
			if hint := updater.Hint(res.Err); hint != "" {
				msg += " (" + hint + ")"
			}
			h.emitFor(r.appID, "", Event{Event: EventCheckFailed, Message: msg})
		}
		r.mu.Lock()
		r.checkErr = res.Err
		if source != "launch-async" {
			r.check = rec
		}
		if res.Doc != nil && (r.last == nil || res.Doc.Sequence >= r.last.Sequence) {
			r.last = res.Doc
		}
		r.mu.Unlock()
		return updater.Checked{Result: res}
	})
}

// Download starts or joins a download and posts Installed when it ends.
// A blocked launch's download reports progress as EventBlocked.
func (r *launchRun) Download(rel *updater.Release, source string) {
	dl := r.h.upd.downloads.start(r.appID, rel)
	if source == "launch-sync" || source == "blocked" {
		r.mu.Lock()
		r.dl = dl
		r.mu.Unlock()
	}
	if source == "blocked" {
		attempt := r.attempt
		dl.listen(func(done, total int64) {
			r.h.emitFor(r.appID, "", Event{Event: EventBlocked, Attempt: attempt, Bytes: done, Total: total,
				Message: "downloading " + rel.Version})
		})
	}
	r.goPost(func(ctx context.Context) updater.LaunchEvent {
		select {
		case <-dl.done:
		case <-ctx.Done():
			return nil
		}
		dl.listen(nil)
		return updater.Installed{Version: rel.Version, Err: dl.err}
	})
}

// Open asks the loop to open version once the executor's call returns
// (see openAsked).
func (r *launchRun) Open(version string, tr updater.Trace) {
	r.opening = &openRequest{version: version, trace: tr}
}

// Prepare compiles version for applyUpdate on a goroutine of the run.
func (r *launchRun) Prepare(version string) {
	if !r.hasApp("Prepare") {
		return
	}
	a := r.app
	r.preparing = version
	r.goPost(func(ctx context.Context) updater.LaunchEvent {
		return updater.Prepared{Version: version, Err: a.prepare(ctx, version)}
	})
}

// PromptRestart asks the user through the app's UI.
func (r *launchRun) PromptRestart(version string) {
	if r.hasApp("PromptRestart") {
		r.app.promptRestart(version, func(restart bool) { r.post(updater.Answered{Version: version, Restart: restart}) })
	}
}

// Restart swaps the app to the prepared version.
func (r *launchRun) Restart(string) {
	if r.hasApp("Restart") {
		r.app.requestRestart()
	}
}

// NotifyCheck delivers onCheckForUpdate.
func (r *launchRun) NotifyCheck(hasUpdate bool) {
	if r.hasApp("NotifyCheck") {
		r.app.reportCheck(hasUpdate)
	}
}

// NotifyFailed delivers onUpdateFailed.
func (r *launchRun) NotifyFailed(reason string) {
	if r.hasApp("NotifyFailed") {
		r.app.reportFailed(reason)
	}
}

// RecordOpen records the open in the store.
func (r *launchRun) RecordOpen(version string, at time.Time) {
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	if err := r.h.upd.store.RecordOpen(r.ctx, r.appID, version, at, last, r.preparing); err != nil {
		r.h.log.Warn("record open", "app", r.appID, "err", err)
	}
}

// RecordLaunch stores the crash-loop counters.
func (r *launchRun) RecordLaunch(rec updater.LaunchRecord) {
	if err := r.h.upd.store.RecordLaunch(r.ctx, r.appID, rec); err != nil {
		r.h.log.Warn("record launch result", "app", r.appID, "err", err)
	}
}

// Blocked emits EventBlocked.
func (r *launchRun) Blocked(attempt int, reason, _ string) {
	r.attempt = attempt
	msg := reason
	r.mu.Lock()
	if hint := updater.Hint(r.checkErr); hint != "" {
		msg += " (" + hint + ")"
	}
	r.mu.Unlock()
	r.h.emitFor(r.appID, "", Event{Event: EventBlocked, Attempt: attempt, Message: msg})
}

// RolledBack emits EventRollback.
func (r *launchRun) RolledBack(version, reason string) {
	r.h.emitFor(r.appID, version, Event{Event: EventRollback, Message: reason})
}

// Unavailable ends the launch: untilOpen returns err, which wraps
// updater.ErrUnknownApp.
func (r *launchRun) Unavailable(err error) { r.ended = err }

// Sleep posts AlarmFired once after has passed on the policy clock
// (UpdateConfig.Clock, as the periodic checker's timers), so a test's fake
// clock moves the sync deadline and the backoffs too; stop stops the
// timer and the goroutine waiting for it.
func (r *launchRun) Sleep(alarm updater.Alarm, after time.Duration) {
	t := r.h.upd.clock.NewTimer(after)
	r.mu.Lock()
	r.timers = append(r.timers, t)
	r.mu.Unlock()
	r.goPost(func(ctx context.Context) updater.LaunchEvent {
		select {
		case <-t.C():
			return updater.AlarmFired{Alarm: alarm}
		case <-ctx.Done():
			return nil
		}
	})
}

// open opens version as the cold start, replacing what this run opened
// before (a rollback), and posts Opened or LaunchFailed.
func (r *launchRun) open(ctx context.Context, version string, tr updater.Trace) error {
	h := r.h
	if r.app != nil {
		r.app.Close(context.WithoutCancel(ctx))
		r.app = nil
	}
	d := r.decision(tr)
	h.emitFor(r.appID, version, Event{Event: EventDecision, Decision: d})
	if err := h.ensureBaseLibrary(ctx, r.appID, version); err != nil {
		// Not the version's fault: it is neither counted nor marked bad.
		return fmt.Errorf("open %s %s: %w", r.appID, version, err)
	}
	ver, err := h.readVersion(r.appID, version)
	if err != nil {
		r.post(updater.LaunchFailed{Version: version, Err: err})
		return nil
	}
	a, err := h.newApp(ctx, r.appID)
	if err != nil {
		return err
	}
	a.upd.enabled, a.updates = true, true
	a.decision = d
	a.onSwap = func(v string) { r.post(updater.Opened{Version: v, Swap: true}) }
	if err := a.start(ctx, ver, abi.ReasonLaunch); err != nil {
		// When ctx has ended, Close aborts the callback still running.
		a.Close(ctx)
		if ctx.Err() != nil {
			return err
		}
		var se *startError
		r.post(updater.LaunchFailed{Version: version, Err: err, Deterministic: errors.As(err, &se) && se.deterministic()})
		return nil
	}
	r.app = a
	if crashed(a.launchErr) {
		r.post(updater.LaunchFailed{Version: version, Err: a.launchErr, Running: true})
		return nil
	}
	r.post(updater.Opened{Version: version})
	return nil
}

// decision is the executor's trace with what this run measured.
func (r *launchRun) decision(tr updater.Trace) *Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := &Decision{Mode: string(tr.Mode), Rules: tr.Rules, Reason: tr.Reason, Local: tr.Local,
		Check: r.check, Action: string(tr.Action), OutcomeRules: tr.OutcomeRules, OutcomeReason: tr.OutcomeReason,
		Fallback: tr.Fallback, BlockedAttempts: tr.BlockedAttempts, Rollback: tr.Rollback,
		Opened: tr.Opened, Duration: time.Since(r.began)}
	if d.Check == nil && !r.checkAt.IsZero() {
		// Still running: the launch stopped waiting for it.
		d.Check = &CheckRecord{Result: "timeout", Duration: time.Since(r.checkAt), Error: "sync timeout"}
	}
	if r.dl != nil {
		d.Download = r.dl.record()
	}
	return d
}
