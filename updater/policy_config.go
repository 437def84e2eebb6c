package updater

import (
	"fmt"
	"time"
)

// The launch policy's configuration: PolicyConfig, its defaults and its
// validation.

// Defaults for PolicyConfig, which WithDefaults fills in (its field docs
// give each value).
const (
	// defaultSyncTimeout bounds a sync launch's check and download when a
	// local version may open instead.
	defaultSyncTimeout = 5 * time.Second
	// defaultLongUnused is how long an app may go unopened before its next
	// launch is forced to be sync.
	defaultLongUnused = 7 * 24 * time.Hour
	// defaultRecentWindow is how recently an app must have been opened for
	// the periodic checker to check it.
	defaultRecentWindow = 7 * 24 * time.Hour
	// defaultPeriodicInterval is the time between periodic checks.
	defaultPeriodicInterval = 6 * time.Hour
	// defaultPeriodicJitter spreads each periodic interval by up to ±10%,
	// so that clients started together do not check together.
	defaultPeriodicJitter = 0.1
	// defaultPeriodicFirst is the typical wait before the first periodic
	// round after the host starts (jittered to ½ to 1½ of it): soon, so a
	// host that was down when a release came learns of it.
	defaultPeriodicFirst = time.Minute
	// defaultPushWait is how long a host asks the release server to hold
	// a push request (the server caps it): one request stands for the
	// polls of that time.
	defaultPushWait = 12 * time.Hour
	// defaultPushJitter spreads the prefetches a release pushes to a
	// fleet over ten minutes, so they do not hit the server at once (a
	// million hosts up: about a thousand downloads a second).
	defaultPushJitter = 10 * time.Minute
	// defaultRetryMin and defaultRetryMax bound the capped exponential
	// backoff of a blocked launch and of background downloads.
	defaultRetryMin = 500 * time.Millisecond
	defaultRetryMax = 30 * time.Second
	// defaultBackgroundTimeout bounds one background check or download
	// attempt, and a blocked launch's checks.
	defaultBackgroundTimeout = 2 * time.Minute
	// defaultBackgroundAttempts is how many times a background download is
	// tried before onUpdateFailed.
	defaultBackgroundAttempts = 3
	// defaultCrashLoopLimit is how many cold starts in a row a version may
	// fail to launch before it is marked bad and rolled back (rule B1).
	defaultCrashLoopLimit = 2
)

// PolicyConfig is the client side of the launch policy. The zero value
// means all defaults: PolicyConfig{}.WithDefaults() holds every one.
type PolicyConfig struct {
	// SyncTimeout bounds a sync launch (check plus download) when a local
	// version may open if it runs out. Default 5s.
	SyncTimeout time.Duration
	// LongUnused is the time since the last open after which a launch is
	// sync (rule S4). Default 7 days. Never above RecentWindow.
	LongUnused time.Duration
	// RecentWindow: apps opened within it get periodic checks (rule S3).
	// Default 7 days.
	RecentWindow time.Duration
	// PeriodicInterval is the time between periodic checks.
	// Default 6h.
	PeriodicInterval time.Duration
	// PeriodicJitter spreads each interval by up to ±PeriodicJitter of it
	// (0.1: ±10%). Default 0.1; negative: none.
	PeriodicJitter float64
	// PeriodicFirst is the typical wait before the first periodic round
	// after the host starts; the round comes after ½ to 1½ of it. Default
	// 1m: soon, so a host that was down when a release came learns of it.
	PeriodicFirst time.Duration
	// PushWait is how long a push request is held (the push path: a
	// release server that holds document requests tells a running host of
	// a release at once; see updater.Client.WaitDocument). While a push
	// request is held, periodic rounds skip the app. Default 12h (the
	// server caps it); negative: no push, periodic rounds only.
	PushWait time.Duration
	// PushJitter: a pushed release is prefetched after a uniform random
	// wait below PushJitter. Default 10m.
	PushJitter time.Duration
	// RetryMin and RetryMax bound the capped, jittered backoff of blocked
	// launches and background downloads. Defaults 500ms and 30s (RetryMax
	// at least RetryMin).
	RetryMin, RetryMax time.Duration
	// BackgroundTimeout bounds one background check or download attempt.
	// Default 2m.
	BackgroundTimeout time.Duration
	// BackgroundAttempts is how many times a background download is tried
	// before onUpdateFailed. Default 3.
	BackgroundAttempts int
	// CrashLoopLimit is how many failed launches of one version in a row
	// mark it bad (rule B1). Default 2.
	CrashLoopLimit int
}

// WithDefaults returns c with every zero field set to its default.
func (c PolicyConfig) WithDefaults() PolicyConfig {
	orDefault(&c.SyncTimeout, defaultSyncTimeout)
	orDefault(&c.LongUnused, defaultLongUnused)
	orDefault(&c.RecentWindow, defaultRecentWindow)
	orDefault(&c.PeriodicInterval, defaultPeriodicInterval)
	orDefault(&c.PeriodicJitter, defaultPeriodicJitter)
	orDefault(&c.PeriodicFirst, defaultPeriodicFirst)
	orDefault(&c.PushWait, defaultPushWait)
	orDefault(&c.PushJitter, defaultPushJitter)
	orDefault(&c.RetryMin, defaultRetryMin)
	orDefault(&c.RetryMax, max(defaultRetryMax, c.RetryMin))
	orDefault(&c.BackgroundTimeout, defaultBackgroundTimeout)
	orDefault(&c.BackgroundAttempts, defaultBackgroundAttempts)
	orDefault(&c.CrashLoopLimit, defaultCrashLoopLimit)
	return c
}

// orDefault sets *v to def when it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports the first bad field of c (after WithDefaults), naming it.
// LongUnused may not exceed RecentWindow: an app unused for longer than the
// window gets no periodic checks, so its next launch must be sync, or it
// could open a version nobody has checked for weeks.
func (c PolicyConfig) Validate() error {
	c = c.WithDefaults()
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"SyncTimeout", c.SyncTimeout}, {"LongUnused", c.LongUnused}, {"RecentWindow", c.RecentWindow},
		{"PeriodicInterval", c.PeriodicInterval}, {"PeriodicFirst", c.PeriodicFirst}, {"PushJitter", c.PushJitter}, {"RetryMin", c.RetryMin},
		{"RetryMax", c.RetryMax}, {"BackgroundTimeout", c.BackgroundTimeout}} {
		if f.d < 0 {
			return fmt.Errorf("policy config: %s %v is negative", f.name, f.d)
		}
	}
	if c.RetryMax < c.RetryMin {
		return fmt.Errorf("policy config: RetryMax %v is below RetryMin %v", c.RetryMax, c.RetryMin)
	}
	if c.BackgroundAttempts < 0 || c.CrashLoopLimit < 0 {
		return fmt.Errorf("policy config: BackgroundAttempts %d and CrashLoopLimit %d may not be negative", c.BackgroundAttempts, c.CrashLoopLimit)
	}
	if c.PeriodicJitter >= 1 {
		return fmt.Errorf("policy config: PeriodicJitter %v is 1 or more: a round could come at once", c.PeriodicJitter)
	}
	if c.LongUnused > c.RecentWindow {
		return fmt.Errorf("policy config: LongUnused %s is above RecentWindow %s: apps unused for between the two would get neither periodic checks nor a sync launch",
			formatAge(c.LongUnused), formatAge(c.RecentWindow))
	}
	return nil
}
