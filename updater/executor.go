package updater

import "time"

// Executor carries out the launch policy: it makes the Launch machine of
// each cold start and answers the periodic checker's questions, with one
// PolicyConfig filled in once by NewExecutor (the caller's
// cfg.WithDefaults() is the configuration it runs). The host, the fleet
// simulator and the tests all run it. An Executor is immutable and
// goroutine-safe; the Launches it makes are not.
type Executor struct{ cfg PolicyConfig }

// NewExecutor validates cfg and fills in its defaults.
func NewExecutor(cfg PolicyConfig) (*Executor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Executor{cfg: cfg.WithDefaults()}, nil
}

// PeriodicDue reports whether the periodic checker checks this app at now
// (rule S3): it has a local version and was opened within the recent
// window.
func (e *Executor) PeriodicDue(st LocalState, now time.Time) bool {
	return duePeriodicCheck(st, e.cfg, now)
}

// AfterPeriodicCheck decides what a periodic check's result leads to:
// prefetch is a newer version to download and install (one attempt,
// bounded by BackgroundTimeout; nil: nothing to do), and pending holds
// until it is installed (S3, S6). reason says why, for people.
func (e *Executor) AfterPeriodicCheck(st LocalState, res CheckResult) (prefetch *Release, reason string) {
	out := decidePeriodic(st, res)
	return out.Download, out.Reason
}

// PeriodicDelay is the wait before the next periodic round; first is true
// for the round after the host starts, which comes soon (PeriodicFirst),
// so a host that was down when a release came learns of it. u is uniform
// in [0, 1).
func (e *Executor) PeriodicDelay(first bool, u float64) time.Duration {
	if first {
		return time.Duration(float64(e.cfg.PeriodicFirst) * (0.5 + u))
	}
	j := max(e.cfg.PeriodicJitter, 0)
	return time.Duration(float64(e.cfg.PeriodicInterval) * (1 + j*(2*u-1)))
}

// PushDelay is the wait between learning of a release on the push path
// and prefetching it: below PushJitter, so a fleet's downloads spread.
// u is uniform in [0, 1).
func (e *Executor) PushDelay(u float64) time.Duration {
	return time.Duration(float64(e.cfg.PushJitter) * u)
}
