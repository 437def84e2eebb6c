package simulate

import (
	"context"
	"fmt"
	"time"

	"github.com/minihost/minihost/updater"
)

// Variant is one point of a sweep: changes to a base Config.
type Variant struct {
	// Name labels the variant's Result.
	Name string `json:"name"`
	// Policy's non-zero fields replace the base's.
	Policy updater.PolicyConfig `json:"policy"`
	// NoPeriodic turns the periodic checker off.
	NoPeriodic bool `json:"noPeriodic,omitempty"`
	// NoPush models a server without the push path (a static export).
	NoPush bool `json:"noPush,omitempty"`
	// PeriodicFirst, when non-zero, replaces the base's.
	PeriodicFirst time.Duration `json:"periodicFirst,omitempty"`
}

// Apply returns base changed by v.
func (v Variant) Apply(base Config) Config {
	p, q := &base.Policy, v.Policy
	for _, f := range []struct{ to, from *time.Duration }{
		{&p.SyncTimeout, &q.SyncTimeout}, {&p.LongUnused, &q.LongUnused}, {&p.RecentWindow, &q.RecentWindow},
		{&p.PeriodicInterval, &q.PeriodicInterval}, {&p.PeriodicFirst, &q.PeriodicFirst},
		{&p.RetryMin, &q.RetryMin}, {&p.RetryMax, &q.RetryMax}, {&p.BackgroundTimeout, &q.BackgroundTimeout},
		{&p.PushWait, &q.PushWait}, {&p.PushJitter, &q.PushJitter},
	} {
		if *f.from != 0 {
			*f.to = *f.from
		}
	}
	if q.PeriodicJitter != 0 {
		p.PeriodicJitter = q.PeriodicJitter
	}
	if q.BackgroundAttempts != 0 {
		p.BackgroundAttempts = q.BackgroundAttempts
	}
	if q.CrashLoopLimit != 0 {
		p.CrashLoopLimit = q.CrashLoopLimit
	}
	if q.PeriodicFirst != 0 {
		base.PeriodicFirst = q.PeriodicFirst // it replaces Policy.PeriodicFirst
	}
	base.NoPeriodic = base.NoPeriodic || v.NoPeriodic
	base.NoPush = base.NoPush || v.NoPush
	if v.PeriodicFirst != 0 {
		base.PeriodicFirst = v.PeriodicFirst
	}
	return base
}

// DefaultVariants is the sweep BENCHMARKS.md reports: the defaults, then
// one setting moved at a time (periodic interval, recent window,
// long-unused threshold, sync timeout, the push path's hold and jitter),
// then polling without the push path (a static export), alone and with
// shorter intervals.
func DefaultVariants() []Variant {
	const h, d = time.Hour, 24 * time.Hour
	return []Variant{
		{Name: "defaults"},
		{Name: "periodic 1h", Policy: updater.PolicyConfig{PeriodicInterval: h}},
		{Name: "periodic 12h", Policy: updater.PolicyConfig{PeriodicInterval: 12 * h}},
		{Name: "no periodic (and no push)", NoPeriodic: true},
		{Name: "window 3d, long-unused 3d", Policy: updater.PolicyConfig{RecentWindow: 3 * d, LongUnused: 3 * d}},
		{Name: "window 14d", Policy: updater.PolicyConfig{RecentWindow: 14 * d}},
		{Name: "long-unused 1d", Policy: updater.PolicyConfig{LongUnused: d}},
		{Name: "sync timeout 2s", Policy: updater.PolicyConfig{SyncTimeout: 2 * time.Second}},
		{Name: "sync timeout 30s", Policy: updater.PolicyConfig{SyncTimeout: 30 * time.Second}},
		{Name: "every launch sync (long-unused 1m), 30s", Policy: updater.PolicyConfig{LongUnused: time.Minute, SyncTimeout: 30 * time.Second}},
		{Name: "push wait 6h", Policy: updater.PolicyConfig{PushWait: 6 * h}},
		{Name: "push wait 24h", Policy: updater.PolicyConfig{PushWait: d}},
		{Name: "push jitter 1m", Policy: updater.PolicyConfig{PushJitter: time.Minute}},
		{Name: "push jitter 1h", Policy: updater.PolicyConfig{PushJitter: h}},
		{Name: "first round 30m", PeriodicFirst: 30 * time.Minute},
		{Name: "no push (static export)", NoPush: true},
		{Name: "no push, periodic 3h", NoPush: true, Policy: updater.PolicyConfig{PeriodicInterval: 3 * h}},
		{Name: "no push, periodic 1h, long-unused 1d", NoPush: true, Policy: updater.PolicyConfig{PeriodicInterval: h, LongUnused: d}},
	}
}

// Sweep runs base changed by each variant, one after the other (each run
// uses base.Workers goroutines), and returns the results in the order of
// variants, each named after its variant. It stops at the first error.
func Sweep(ctx context.Context, base Config, variants []Variant) ([]Result, error) {
	out := make([]Result, 0, len(variants))
	for _, v := range variants {
		r, err := Run(ctx, v.Apply(base))
		if err != nil {
			return out, fmt.Errorf("sweep variant %q: %w", v.Name, err)
		}
		r.Name = v.Name
		out = append(out, *r)
	}
	return out, nil
}
