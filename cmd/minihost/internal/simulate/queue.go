package simulate

import (
	"container/heap"
	"time"
)

// A shard's event queue: the kinds of event, in their order at one
// moment, and the min-heap of events by time.

// Event kinds in the queue. At the same time, one client's events run in
// this order: a check's or a download's result counts before an alarm of
// the same moment.
const (
	evLaunch uint8 = iota
	evHostUp
	evHostDown
	evPeriodic
	evDownload
	evExpire
	evPeriodicDone // a periodic check's result arrives
	evChecked      // a launch check's result arrives (feeds Checked)
	evAlarm        // a Launch's Sleep ends (feeds AlarmFired)
	evGiveUp       // the user of a blocked launch gives up (feeds Closed)
	evAppExit      // the app may be gone from the background (feeds Closed)
)

// event is one entry of a shard's queue: what happens to which client when.
// epoch invalidates events made stale by a later change (the host stopped,
// a download ended, the cold start was closed). seq carries an alarm
// (updater.Alarm), arg a check's result (see checkArg).
type event struct {
	at     time.Duration
	client int32
	epoch  uint32
	seq    uint32
	kind   uint8
	arg    uint8
}

// queue is a min-heap of events by time. push and pop use heap.Fix on the
// slice directly so that no event is boxed into an interface.
type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	a, b := &q[i], &q[j]
	switch {
	case a.at != b.at:
		return a.at < b.at
	case a.client != b.client:
		return a.client < b.client
	case a.kind != b.kind:
		return a.kind < b.kind
	case a.epoch != b.epoch:
		return a.epoch < b.epoch
	case a.seq != b.seq:
		return a.seq < b.seq
	}
	return a.arg < b.arg
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

func (q *queue) push(e event) {
	*q = append(*q, e)
	heap.Fix(q, len(*q)-1)
}

func (q *queue) pop() event {
	old := *q
	e := old[0]
	n := len(old) - 1
	old[0] = old[n]
	*q = old[:n]
	if n > 0 {
		heap.Fix(q, 0)
	}
	return e
}
