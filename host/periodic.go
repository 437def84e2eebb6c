package host

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/minihost/minihost/updater"
)

// DefaultPeriodicJitter spreads periodic checks by up to ±10% of the
// interval, so that clients started together do not check together.
const DefaultPeriodicJitter = 0.1

// startPeriodic starts the periodic checker (rule S3) on a host goroutine:
// every interval, jittered, it checks the apps used within the recent
// window; a newer version sets pending and is prefetched. Close stops it.
func (h *Host) startPeriodic() {
	h.goBackground(func(ctx context.Context) {
		clock := h.upd.clock
		for {
			t := clock.NewTimer(periodicDelay(h.upd.cfg.Policy.PeriodicInterval, mrand.Float64()))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			if _, err := h.CheckNow(ctx); err != nil {
				h.log.Warn("periodic check", "err", err)
			}
		}
	})
}

// periodicDelay is the wait before the next periodic round: the interval
// spread by ±DefaultPeriodicJitter, u being uniform in [0, 1).
func periodicDelay(interval time.Duration, u float64) time.Duration {
	return time.Duration(float64(interval) * (1 + DefaultPeriodicJitter*(2*u-1)))
}

// CheckResult is what one periodic check found for one app.
type CheckResult struct {
	App     string
	Checked bool   // false: not used within the recent window
	Latest  string // latest version for this client, when checked
	Pending bool   // a newer version is waiting: the next launch is sync
	Err     error
	Reason  string
}

// CheckNow runs one round of the periodic checker now, for apps (all
// installed apps when none are named): each app used within the recent
// window is checked, a newer version sets pending and is downloaded and
// installed before CheckNow returns. Named apps are checked even when
// unused for longer than the window.
func (h *Host) CheckNow(ctx context.Context, apps ...string) ([]CheckResult, error) {
	if h.upd == nil {
		return nil, ErrNoUpdates
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
		if !named && !updater.DuePeriodicCheck(st.Local(), u.cfg.Policy, u.clock.Now()) {
			results = append(results, CheckResult{App: appID, Reason: "not used within the recent window"})
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, DefaultBackgroundTimeout)
		var rec *CheckRecord
		res := h.check(cctx, appID, &rec)
		cancel()
		st, _ = u.store.Load(appID)
		out := updater.DecidePeriodic(st.Local(), res)
		h.applyPending(appID, out)
		r := CheckResult{App: appID, Checked: true, Latest: rec.Latest, Pending: out.SetPending, Err: res.Err, Reason: out.Reason}
		if out.Download != nil {
			dl := h.download(appID, out.Download)
			select {
			case <-dl.done:
				if dl.err != nil {
					r.Err = fmt.Errorf("prefetch %s: %w", out.Download.Version, dl.err)
				}
			case <-ctx.Done():
				return results, ctx.Err()
			}
		}
		results = append(results, r)
	}
	return results, nil
}
