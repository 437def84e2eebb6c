package updatertest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

var start = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)

// fired returns what t sent, if it fired.
func fired(t updater.Timer) (time.Time, bool) {
	select {
	case v := <-t.C():
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestFakeClockAdvanceFiresDueTimers(t *testing.T) {
	c := updatertest.NewFakeClock(start)
	t3 := c.NewTimer(3 * time.Second)
	t1 := c.NewTimer(time.Second)
	t2 := c.NewTimer(2 * time.Second)
	t2b := c.NewTimer(2 * time.Second)
	if got := c.Timers(); got != 4 {
		t.Fatalf("Timers() = %d, want 4", got)
	}

	c.Advance(1500 * time.Millisecond)
	if got := c.Now(); !got.Equal(start.Add(1500 * time.Millisecond)) {
		t.Errorf("Now() = %v, want start+1.5s", got)
	}
	if v, ok := fired(t1); !ok || !v.Equal(start.Add(time.Second)) {
		t.Errorf("1s timer: fired %v with %v, want its deadline start+1s", ok, v)
	}
	for name, tm := range map[string]updater.Timer{"2s": t2, "2s (second)": t2b, "3s": t3} {
		if _, ok := fired(tm); ok {
			t.Errorf("%s timer fired at start+1.5s", name)
		}
	}
	if got := c.Timers(); got != 3 {
		t.Errorf("Timers() = %d after one fired, want 3", got)
	}

	c.Advance(time.Hour)
	for name, tc := range map[string]struct {
		tm   updater.Timer
		want time.Duration
	}{"2s": {t2, 2 * time.Second}, "2s (second)": {t2b, 2 * time.Second}, "3s": {t3, 3 * time.Second}} {
		if v, ok := fired(tc.tm); !ok || !v.Equal(start.Add(tc.want)) {
			t.Errorf("%s timer: fired %v with %v, want start+%v", name, ok, v, tc.want)
		}
	}
	if got := c.Timers(); got != 0 {
		t.Errorf("Timers() = %d after all fired, want 0", got)
	}
	c.Advance(time.Hour)
	if _, ok := fired(t1); ok {
		t.Error("a timer fired twice")
	}
}

func TestFakeClockStop(t *testing.T) {
	tests := []struct {
		name      string
		advance   time.Duration // before Stop
		wantStop  bool
		wantFired bool
	}{
		{name: "before deadline", advance: 30 * time.Second, wantStop: true, wantFired: false},
		{name: "after firing", advance: time.Minute, wantStop: false, wantFired: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := updatertest.NewFakeClock(start)
			tm := c.NewTimer(time.Minute)
			c.Advance(tc.advance)
			if got := tm.Stop(); got != tc.wantStop {
				t.Errorf("Stop() = %v, want %v", got, tc.wantStop)
			}
			if got := c.Timers(); got != 0 {
				t.Errorf("Timers() = %d after Stop, want 0", got)
			}
			c.Advance(time.Hour)
			if _, ok := fired(tm); ok != tc.wantFired {
				t.Errorf("fired = %v, want %v", ok, tc.wantFired)
			}
			if tm.Stop() {
				t.Error("second Stop() = true, want false")
			}
		})
	}
}

func TestFakeClockNonPositiveDurationFiresAtOnce(t *testing.T) {
	c := updatertest.NewFakeClock(start)
	for _, d := range []time.Duration{0, -time.Second} {
		tm := c.NewTimer(d)
		if v, ok := fired(tm); !ok || !v.Equal(start.Add(d)) {
			t.Errorf("NewTimer(%v): fired %v with %v, want at once", d, ok, v)
		}
		if tm.Stop() {
			t.Errorf("NewTimer(%v).Stop() = true after firing", d)
		}
	}
	if got := c.Timers(); got != 0 {
		t.Errorf("Timers() = %d, want 0", got)
	}
}

func TestFakeClockAdvanceBack(t *testing.T) {
	c := updatertest.NewFakeClock(start)
	tm := c.NewTimer(time.Hour)

	c.Advance(-time.Hour)
	if got := c.Now(); !got.Equal(start.Add(-time.Hour)) {
		t.Errorf("Now() = %v after moving back, want start-1h", got)
	}
	c.Advance(start.Add(59 * time.Minute).Sub(c.Now()))
	if _, ok := fired(tm); ok {
		t.Fatal("timer fired before its deadline")
	}
	c.Advance(time.Minute)
	if v, ok := fired(tm); !ok || !v.Equal(start.Add(time.Hour)) {
		t.Errorf("timer: fired %v with %v at its deadline", ok, v)
	}
	// Moving back does not re-arm or fire anything.
	c.Advance(-time.Hour)
	if _, ok := fired(tm); ok {
		t.Error("timer fired again after moving back")
	}
}

func TestFakeClockWaitForTimers(t *testing.T) {
	c := updatertest.NewFakeClock(start)
	got := make(chan time.Time)
	go func() {
		tm := c.NewTimer(time.Minute)
		defer tm.Stop()
		got <- <-tm.C()
	}()
	if err := c.WaitForTimers(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if v := <-got; !v.Equal(start.Add(time.Minute)) {
		t.Errorf("goroutine's timer sent %v, want start+1m", v)
	}

	// Already satisfied: returns at once.
	if err := c.WaitForTimers(t.Context(), 0); err != nil {
		t.Errorf("WaitForTimers(0) = %v", err)
	}
	// Never satisfied: ends with the context.
	ctx, cancel := context.WithCancel(t.Context())
	c.NewTimer(time.Hour) // one pending, and a Stop of another wakes waiters too
	done := make(chan error, 1)
	go func() { done <- c.WaitForTimers(ctx, 3) }()
	c.NewTimer(time.Hour).Stop()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("WaitForTimers with a canceled context = %v, want context.Canceled", err)
	}
}

// Run with -race: timers made, stopped and fired from many goroutines;
// each fires exactly when it was not stopped.
func TestFakeClockConcurrent(t *testing.T) {
	c := updatertest.NewFakeClock(start)
	const workers, perWorker = 8, 50
	type made struct {
		tm      updater.Timer
		stopped bool
	}
	all := make(chan made, workers*perWorker)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				tm := c.NewTimer(time.Duration(1+(w*perWorker+i)%97) * time.Millisecond)
				_ = c.Now()
				all <- made{tm, i%3 == 0 && tm.Stop()}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			c.Advance(time.Millisecond)
			_ = c.Timers()
		}
	})
	wg.Wait()
	close(all)
	c.Advance(time.Hour)
	stopped := 0
	for m := range all {
		_, ok := fired(m.tm)
		if ok == m.stopped {
			t.Errorf("timer stopped=%v fired=%v", m.stopped, ok)
		}
		if m.stopped {
			stopped++
		}
	}
	if got := c.Timers(); got != 0 {
		t.Errorf("Timers() = %d after everything, want 0", got)
	}
	t.Logf("%d of %d timers stopped before firing", stopped, workers*perWorker)
}
