package host

import (
	"slices"
	"testing"
)

// The generation rules of timerSet: timers set while an instance is being
// created belong to it; commit ends the older instances' timers, abort the
// newest one's (a trial instance, a failed swap).
func TestTimerGenerations(t *testing.T) {
	tests := []struct {
		name string
		run  func(ts *timerSet, add func(id uint32))
		want []uint32 // still pending
	}{
		{"relaunch ends the failed instance's timers", func(ts *timerSet, add func(uint32)) {
			ts.enter()
			add(1)
			ts.enter()
			add(2) // set during the new instance's _initialize
			ts.commit()
		}, []uint32{2}},
		{"a trial instance's timers end with it", func(ts *timerSet, add func(uint32)) {
			ts.enter()
			add(1)
			prev := ts.enter()
			add(2)
			ts.abort(prev)
			add(3)
		}, []uint32{1, 3}},
		{"a swap keeps only the new instance's", func(ts *timerSet, add func(uint32)) {
			ts.enter()
			add(1)
			ts.enter()
			add(2)
			ts.commit()
			add(3)
		}, []uint32{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := &timerSet{pending: map[uint32]*guestTimer{}}
			stops := map[uint32]chan struct{}{}
			add := func(id uint32) {
				gt := &guestTimer{gen: ts.gen, stop: make(chan struct{})}
				ts.pending[id], stops[id] = gt, gt.stop
			}
			tt.run(ts, add)
			var got []uint32
			for id := range ts.pending {
				got = append(got, id)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("pending %v, want %v", got, tt.want)
			}
			for id, stop := range stops {
				select {
				case <-stop:
					if slices.Contains(tt.want, id) {
						t.Errorf("timer %d stopped but pending", id)
					}
				default:
					if !slices.Contains(tt.want, id) {
						t.Errorf("timer %d dropped but its goroutine not stopped", id)
					}
				}
			}
		})
	}
}
