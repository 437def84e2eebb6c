package host

import (
	"context"
	"fmt"
	mrand "math/rand/v2"

	"github.com/minihost/minihost/updater"
)

// startPeriodic starts the periodic checker (rule S3) on a host goroutine:
// after each wait the executor gives (soon after the host starts, then
// the interval, jittered), it runs CheckNow over the apps used within the
// recent window, and holds a push request for each app it checked (see
// push.go). Close stops it.
func (h *Host) startPeriodic() {
	h.goBackground(func(ctx context.Context) {
		clock, exec := h.upd.clock, h.upd.exec
		for first := true; ; first = false {
			t := clock.NewTimer(exec.PeriodicDelay(first, mrand.Float64()))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			results, err := h.CheckNow(ctx)
			if err != nil {
				h.log.Warn("periodic check", "err", err)
			}
			for _, r := range results {
				if r.Checked && r.Err == nil {
					h.startPush(r.App)
				}
			}
		}
	})
}

// CheckResult is what one periodic check found for one app.
type CheckResult struct {
	App     string
	Checked bool   // false: not used within the recent window
	Latest  string // latest version for this client, when checked
	Pending bool   // a newer version is not installed yet: the next launch is sync
	Err     error
	Reason  string
}

// CheckNow runs one round of the periodic checker now, for apps (all
// installed apps when none are named): each app used within the recent
// window is checked, and a newer version is downloaded and installed
// before CheckNow returns (one attempt), so the next cold start opens it.
// Named apps are checked even when unused for longer than the window; of
// the others, those whose push request is held (push.go) are skipped, as
// the server tells of their releases.
func (h *Host) CheckNow(ctx context.Context, apps ...string) ([]CheckResult, error) {
	if h.upd == nil {
		return nil, errNoUpdates
	}
	u := h.upd
	named := len(apps) > 0
	if !named {
		var err error
		if apps, err = u.store.Apps(); err != nil {
			return nil, err
		}
	}
	var results []CheckResult
	for _, appID := range apps {
		st, err := u.store.Load(appID)
		if err != nil {
			results = append(results, CheckResult{App: appID, Err: err})
			continue
		}
		if !named && !u.exec.PeriodicDue(st.Local(), u.clock.Now()) {
			results = append(results, CheckResult{App: appID, Reason: "not used within the recent window"})
			continue
		}
		if !named && u.push.held(appID) {
			results = append(results, CheckResult{App: appID, Reason: "a push request is held: the server tells of a release"})
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, u.cfg.Policy.BackgroundTimeout)
		var rec *CheckRecord
		res := h.check(cctx, appID, &rec)
		cancel()
		prefetch, reason := u.exec.AfterPeriodicCheck(st.Local(), res)
		r := CheckResult{App: appID, Checked: true, Latest: rec.Latest, Err: res.Err, Reason: reason}
		if prefetch != nil {
			dl := u.downloads.start(appID, prefetch)
			select {
			case <-dl.done:
				if dl.err != nil {
					r.Err = fmt.Errorf("prefetch %s: %w", prefetch.Version, dl.err)
				}
			case <-ctx.Done():
				return results, ctx.Err()
			}
		}
		if st, err = u.store.Load(appID); err != nil {
			r.Err = err
		} else {
			r.Pending = updater.PendingUpdate(st.Local(), h.lastDocument(appID, st), u.clientID)
		}
		results = append(results, r)
	}
	return results, nil
}
