package updater

import (
	"fmt"
	"time"
)

// The launch policy's configuration: PolicyConfig, its defaults and its
// validation.

// Defaults for PolicyConfig.
const (
	// DefaultSyncTimeout bounds a sync launch's check and download when a
	// local version may open instead.
	DefaultSyncTimeout = 5 * time.Second
	// DefaultLongUnused is how long an app may go unopened before its next
	// launch is forced to be sync.
	DefaultLongUnused = 7 * 24 * time.Hour
	// DefaultRecentWindow is how recently an app must have been opened for
	// the periodic checker to check it.
	DefaultRecentWindow = 7 * 24 * time.Hour
	// DefaultPeriodicInterval is the time between periodic checks.
	DefaultPeriodicInterval = 6 * time.Hour
	// DefaultPeriodicJitter spreads each periodic interval by up to ±10%,
	// so that clients started together do not check together.
	DefaultPeriodicJitter = 0.1
	// DefaultPeriodicFirst is the typical wait before the first periodic
	// round after the host starts (jittered to ½ to 1½ of it): soon, so a
	// host that was down when a release came learns of it.
	DefaultPeriodicFirst = time.Minute
	// DefaultPushWait is how long a host asks the release server to hold
	// a push request (the server caps it): one request stands for the
	// polls of that time.
	DefaultPushWait = 12 * time.Hour
	// DefaultPushJitter spreads the prefetches a release pushes to a
	// fleet over ten minutes, so they do not hit the server at once (a
	// million hosts up: about a thousand downloads a second).
	DefaultPushJitter = 10 * time.Minute
	// DefaultRetryMin and DefaultRetryMax bound the capped exponential
	// backoff of a blocked launch and of background downloads.
	DefaultRetryMin = 500 * time.Millisecond
	DefaultRetryMax = 30 * time.Second
	// DefaultBackgroundTimeout bounds one background check or download
	// attempt, and a blocked launch's checks.
	DefaultBackgroundTimeout = 2 * time.Minute
	// DefaultBackgroundAttempts is how many times a background download is
	// tried before onUpdateFailed.
	DefaultBackgroundAttempts = 3
	// DefaultCrashLoopLimit is how many cold starts in a row a version may
	// fail to launch before it is marked bad and rolled back (rule B1).
	DefaultCrashLoopLimit = 2
)

// PolicyConfig is the client side of the launch policy. The zero value
// means all defaults (see WithDefaults).
type PolicyConfig struct {
	// SyncTimeout bounds a sync launch (check plus download) when a local
	// version may open if it runs out. Default DefaultSyncTimeout.
	SyncTimeout time.Duration
	// LongUnused is the time since the last open after which a launch is
	// sync (rule S4). Default DefaultLongUnused. Never above RecentWindow.
	LongUnused time.Duration
	// RecentWindow: apps opened within it get periodic checks (rule S3).
	// Default DefaultRecentWindow.
	RecentWindow time.Duration
	// PeriodicInterval is the time between periodic checks.
	// Default DefaultPeriodicInterval.
	PeriodicInterval time.Duration
	// PeriodicJitter spreads each interval by up to ±PeriodicJitter of it
	// (0.1: ±10%). Default DefaultPeriodicJitter; negative: none.
	PeriodicJitter float64
	// PeriodicFirst is the typical wait before the first periodic round
	// after the host starts; the round comes after ½ to 1½ of it. Default
	// DefaultPeriodicFirst.
	PeriodicFirst time.Duration
	// PushWait is how long a push request is held (the push path: a
	// release server that holds document requests tells a running host of
	// a release at once; see updater.Client.WaitDocument). While a push
	// request is held, periodic rounds skip the app. Default
	// DefaultPushWait; negative: no push, periodic rounds only.
	PushWait time.Duration
	// PushJitter: a pushed release is prefetched after a uniform random
	// wait below PushJitter. Default DefaultPushJitter.
	PushJitter time.Duration
	// RetryMin and RetryMax bound the capped, jittered backoff of blocked
	// launches and background downloads. Defaults DefaultRetryMin and
	// DefaultRetryMax.
	RetryMin, RetryMax time.Duration
	// BackgroundTimeout bounds one background check or download attempt.
	// Default DefaultBackgroundTimeout.
	BackgroundTimeout time.Duration
	// BackgroundAttempts is how many times a background download is tried
	// before onUpdateFailed. Default DefaultBackgroundAttempts.
	BackgroundAttempts int
	// CrashLoopLimit is how many failed launches of one version in a row
	// mark it bad (rule B1). Default DefaultCrashLoopLimit.
	CrashLoopLimit int
}

// WithDefaults returns c with every zero field set to its default.
func (c PolicyConfig) WithDefaults() PolicyConfig {
	orDefault(&c.SyncTimeout, DefaultSyncTimeout)
	orDefault(&c.LongUnused, DefaultLongUnused)
	orDefault(&c.RecentWindow, DefaultRecentWindow)
	orDefault(&c.PeriodicInterval, DefaultPeriodicInterval)
	orDefault(&c.PeriodicJitter, DefaultPeriodicJitter)
	orDefault(&c.PeriodicFirst, DefaultPeriodicFirst)
	orDefault(&c.PushWait, DefaultPushWait)
	orDefault(&c.PushJitter, DefaultPushJitter)
	orDefault(&c.RetryMin, DefaultRetryMin)
	orDefault(&c.RetryMax, max(DefaultRetryMax, c.RetryMin))
	orDefault(&c.BackgroundTimeout, DefaultBackgroundTimeout)
	orDefault(&c.BackgroundAttempts, DefaultBackgroundAttempts)
	orDefault(&c.CrashLoopLimit, DefaultCrashLoopLimit)
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
