package updatertest

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/minihost/minihost/updater"
)

// FakeClock is an updater.Clock that moves only when a test moves it
// (Advance). Its timers fire when the clock reaches their deadline. All
// methods are safe for concurrent use; the zero value is not usable (call
// NewFakeClock). A FakeClock holds no goroutines and needs no Close.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer  // armed timers, unordered
	seq     uint64        // creation counter, orders timers with equal deadlines
	changed chan struct{} // closed and replaced whenever pending changes
}

var _ updater.Clock = (*FakeClock)(nil)

// NewFakeClock returns a clock that reads t until moved.
func NewFakeClock(t time.Time) *FakeClock {
	return &FakeClock{now: t, changed: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer due d from now. It fires (sends its deadline on
// its channel, which has a buffer of one) when Advance moves the
// clock to or past the deadline. A d of zero or less fires at once, like
// time.NewTimer, and is never pending.
func (c *FakeClock) NewTimer(d time.Duration) updater.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{clock: c, ch: make(chan time.Time, 1), deadline: c.now.Add(d), seq: c.seq}
	if d <= 0 {
		t.ch <- t.deadline
		return t
	}
	c.pending = append(c.pending, t)
	c.notifyLocked()
	return t
}

// Advance moves the clock forward by d and fires every timer that became
// due, in deadline order (creation order for equal deadlines). A negative
// d moves it back and fires nothing; pending timers keep their deadlines.
// To move to a time t, Advance(t.Sub(c.Now())).
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setLocked(c.now.Add(d))
}

func (c *FakeClock) setLocked(t time.Time) {
	c.now = t
	var due []*fakeTimer
	c.pending = slices.DeleteFunc(c.pending, func(x *fakeTimer) bool {
		if x.deadline.After(t) {
			return false
		}
		due = append(due, x)
		return true
	})
	if len(due) == 0 {
		return
	}
	slices.SortFunc(due, func(a, b *fakeTimer) int {
		if r := a.deadline.Compare(b.deadline); r != 0 {
			return r
		}
		return cmp.Compare(a.seq, b.seq)
	})
	for _, x := range due {
		select {
		case x.ch <- x.deadline:
		default: // unreachable: a timer fires once, into an empty buffer
		}
	}
	c.notifyLocked()
}

// WaitForTimers blocks until at least n timers are pending, so a test can
// let a goroutine arm its timer before advancing the clock past it. It
// returns ctx's error if ctx ends first.
func (c *FakeClock) WaitForTimers(ctx context.Context, n int) error {
	return waitUntil(ctx, func() (bool, <-chan struct{}) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.pending) >= n, c.changed
	})
}

// waitUntil calls check until it reports true, waiting between calls for
// the channel it returns (closed when what it checks changes), or returns
// ctx's cause once ctx ends. FakeClock.WaitForTimers and
// Server.WaitForRequests wait with it.
func waitUntil(ctx context.Context, check func() (ok bool, changed <-chan struct{})) error {
	for {
		ok, changed := check()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// notifyLocked wakes every WaitForTimers; the caller holds c.mu.
func (c *FakeClock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// fakeTimer is a FakeClock's timer. Its state lives under clock.mu.
type fakeTimer struct {
	clock    *FakeClock
	ch       chan time.Time
	deadline time.Time
	seq      uint64
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

// Stop disarms the timer; it reports false if the timer had already fired
// or been stopped.
func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.pending, t)
	if i < 0 {
		return false
	}
	c.pending = slices.Delete(c.pending, i, i+1)
	c.notifyLocked()
	return true
}
