//go:build wasip1

package wx

import "time"

// maxTimerDelay is the longest delay set_timer takes, in milliseconds (an
// i32): about 24 days. Longer delays are clamped, as browsers do.
const maxTimerDelay = 1<<31 - 1

// SetTimeout asks the host to call f once, in a later callback, after at
// least d, as JavaScript's setTimeout does, and returns the timer's id
// for ClearTimeout. It never blocks: the host runs the timer on its clock
// and delivers it as an event. A negative d is zero; a d over about 24
// days is clamped. If the instance is re-created first (after a trap or
// an update), the timer is dropped. It fails with an error that unwraps
// to abi.CodeBusy when the app has 256 timers pending (the ABI's bound).
// It panics if f is nil.
func SetTimeout(d time.Duration, f func()) (uint32, error) {
	if f == nil {
		panic("wx: SetTimeout: nil func")
	}
	ms := min(max(d.Milliseconds(), 0), maxTimerDelay)
	id := wxSetTimer(uint32(ms))
	if err := check("set_timer", id); err != nil {
		return 0, err
	}
	if guest.timers == nil {
		guest.timers = make(map[uint32]func())
	}
	guest.timers[uint32(id)] = f
	return uint32(id), nil
}

// ClearTimeout cancels the pending timer id; an id that fired, was
// cleared or never existed is ignored.
func ClearTimeout(id uint32) {
	if _, ok := guest.timers[id]; !ok {
		return
	}
	delete(guest.timers, id)
	wxClearTimer(id)
}
