package updater

import "time"

// Clock is the updater's source of time. The launch policy takes the time
// as an argument; code that waits (the periodic checker, retry backoff)
// takes a Clock, so tests drive time instead of sleeping on it.
// Implementations must be goroutine-safe.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d
	// has passed.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock. Its owner calls Stop when it
// no longer needs it.
type Timer interface {
	// C returns the channel the timer sends on when it fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether it stopped
	// the timer (false if it had already fired or been stopped).
	Stop() bool
}

// SystemClock returns the real wall clock: time.Now and time.NewTimer.
// It is goroutine-safe.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

var _ Clock = systemClock{}

func (systemClock) Now() time.Time                 { return time.Now() }
func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (s systemTimer) C() <-chan time.Time { return s.t.C }
func (s systemTimer) Stop() bool          { return s.t.Stop() }
