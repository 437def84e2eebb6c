package host

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/minihost/minihost/updater"
)

// The push path (with the periodic checker): after a periodic round has
// checked an app, the host holds a push request for it
// (updater.Client.WaitDocument), which the release server answers when a
// release comes, or after Policy.PushWait. A release is prefetched after
// the executor's jitter (Executor.PushDelay), and the hold is renewed;
// periodic rounds skip the app while it is held. A server that does not
// hold requests (a static export) turns the path off for the host, and a
// failed hold, after capped retries, hands the app back to the rounds,
// whose next one holds again.

// pushes tracks the push requests the host holds. Goroutine-safe.
type pushes struct {
	mu      sync.Mutex
	holding map[string]bool // app id: a watcher runs
	off     bool            // the server answered a hold at once: it does not push
}

// start reports whether a watcher for appID may start, and marks it
// holding if so.
func (p *pushes) start(appID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.off || p.holding[appID] {
		return false
	}
	p.holding[appID] = true
	return true
}

func (p *pushes) stop(appID string, off bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.holding, appID)
	p.off = p.off || off
}

func (p *pushes) held(appID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holding[appID]
}

// startPush starts a watcher for appID on a host goroutine, unless push is
// off (Policy.PushWait negative, or the server does not hold requests) or
// one runs. Close stops it.
func (h *Host) startPush(appID string) {
	u := h.upd
	if u.cfg.Policy.PushWait < 0 || !u.push.start(appID) {
		return
	}
	if !h.goBackground(func(ctx context.Context) { h.watch(ctx, appID) }) {
		u.push.stop(appID, false)
	}
}

// watch holds push requests for appID until ctx ends, the app leaves the
// recent window, or holds keep failing.
func (h *Host) watch(ctx context.Context, appID string) {
	u := h.upd
	off := false
	defer func() { u.push.stop(appID, off) }()
	pol := u.cfg.Policy
	backoff, failures := pol.RetryMin, 0
	for ctx.Err() == nil {
		st, err := u.store.Load(appID)
		if err != nil || !u.exec.PeriodicDue(st.Local(), u.clock.Now()) {
			return
		}
		wctx, cancel := context.WithTimeout(ctx, pol.PushWait+pol.BackgroundTimeout)
		doc, env, err := u.client.WaitDocument(wctx, appID, st.LastSequence, pol.PushWait)
		cancel()
		switch {
		case errors.Is(err, updater.ErrNoPush):
			h.log.Info("release server does not push: periodic checks only", "app", appID)
			off = true
			return
		case err != nil:
			if failures++; failures >= pol.BackgroundAttempts || ctx.Err() != nil {
				h.log.Warn("push request: periodic checks take over", "app", appID, "err", err)
				return
			}
			if !h.sleep(ctx, time.Duration(float64(backoff)*(0.8+0.4*mrand.Float64()))) {
				return
			}
			backoff = min(2*backoff, pol.RetryMax)
			continue
		}
		backoff, failures = pol.RetryMin, 0
		if doc.Sequence <= st.LastSequence {
			// The hold's time is up: its answer is a check like a
			// periodic round's. Keep the fresher document, and hold again.
			if err := u.store.RecordCheck(context.WithoutCancel(ctx), appID, env, doc.Sequence); err != nil {
				h.log.Warn("save release document", "app", appID, "err", err)
			}
			continue
		}
		if !h.sleep(ctx, u.exec.PushDelay(mrand.Float64())) {
			return
		}
		if _, err := h.CheckNow(ctx, appID); err != nil {
			h.log.Warn("check after a push", "app", appID, "err", err)
		}
	}
}

// sleep waits d on the policy's clock; false when ctx ended first.
func (h *Host) sleep(ctx context.Context, d time.Duration) bool {
	t := h.upd.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}
