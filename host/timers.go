package host

import (
	"context"
	"encoding/json"
	"time"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/samples/wx/abi"
	"github.com/minihost/minihost/updater"
)

// maxTimers bounds the timers one app may have pending; past it
// set_timer returns abi.CodeBusy (runtime/ABI.md, Timers).
const maxTimers = 256

// timerSet holds an app's pending guest timers (set_timer, which JS's
// setTimeout uses). It is owned by the dispatcher: set_timer and
// clear_timer run during callbacks, firing is a dispatcher task, and the
// instance changes that end timers happen there too, so it needs no lock.
// Each timer waits on its own goroutine (at most maxTimers per app),
// owned by the app's work group, so Close stops and waits for them.
//
// Timers belong to the instance that set them, known by generation: every
// Instantiate of the app opens a new one (enter), because a timer set
// during a module's _initialize must outlive that call. Once the new
// instance is the one running, the older generations' timers are stopped
// (commit); a trial instance (prepare) or a failed swap goes back to the
// previous generation and stops its own (abort).
type timerSet struct {
	gen     uint64
	seq     uint32
	pending map[uint32]*guestTimer
}

type guestTimer struct {
	gen  uint64
	stop chan struct{}
}

func (a *App) timerClock() updater.Clock {
	if a.h.upd != nil && a.h.upd.clock != nil {
		return a.h.upd.clock // tests drive timers with the updates' clock
	}
	return updater.SystemClock()
}

// SetTimer implements runtime.HostAPI.
func (p *appAPI) SetTimer(delay time.Duration) (uint32, error) {
	a, ts := p.app(), &p.timers
	if len(ts.pending) >= maxTimers {
		return 0, abi.CodeBusy
	}
	if ts.pending == nil {
		ts.pending = map[uint32]*guestTimer{}
	}
	for {
		ts.seq = ts.seq%(1<<31-1) + 1 // ids are 1..2^31-1: i32 results
		if ts.pending[ts.seq] == nil {
			break
		}
	}
	id := ts.seq
	gt := &guestTimer{gen: ts.gen, stop: make(chan struct{})}
	ts.pending[id] = gt
	tm := a.timerClock().NewTimer(delay)
	a.goWork(func(ctx context.Context) {
		defer tm.Stop()
		select {
		case <-tm.C():
			a.enqueue(func(ctx context.Context) { a.fireTimer(ctx, id, gt) })
		case <-gt.stop:
		case <-ctx.Done():
		}
	})
	return id, nil
}

// ClearTimer implements runtime.HostAPI.
func (p *appAPI) ClearTimer(id uint32) {
	if gt := p.timers.pending[id]; gt != nil {
		p.timers.remove(id, gt)
	}
}

func (ts *timerSet) remove(id uint32, gt *guestTimer) {
	delete(ts.pending, id)
	close(gt.stop)
}

// fireTimer delivers timer id to the instance that set it, if it still
// runs and the timer was not cleared.
func (a *App) fireTimer(ctx context.Context, id uint32, gt *guestTimer) {
	ts := &a.timers
	if ts.pending[id] != gt {
		return // cleared, or ended with its instance
	}
	ts.remove(id, gt)
	if gt.gen != ts.gen || a.cur.inst == nil {
		return // its instance is gone; a new one does not get it
	}
	payload, _ := json.Marshal(abi.TimerEvent{ID: id})
	a.callGuest(ctx, "onEvent(timer)", func(inst *runtime.Instance) error {
		return inst.OnEvent(ctx, abi.EventTimer, payload)
	}, "")
}

// enter opens the generation of an instance about to be created and
// returns the previous one, for abort.
func (ts *timerSet) enter() uint64 {
	ts.gen++
	return ts.gen - 1
}

// commit stops the timers of every generation but the current one: the
// instance entered last is the one running.
func (ts *timerSet) commit() { ts.stopWhere(func(g uint64) bool { return g != ts.gen }) }

// abort stops the current generation's timers and returns to prev: the
// instance entered last is not (or no longer) running.
func (ts *timerSet) abort(prev uint64) {
	ts.stopWhere(func(g uint64) bool { return g == ts.gen })
	ts.gen = prev
}

func (ts *timerSet) stopWhere(match func(gen uint64) bool) {
	for id, gt := range ts.pending {
		if match(gt.gen) {
			ts.remove(id, gt)
		}
	}
}
