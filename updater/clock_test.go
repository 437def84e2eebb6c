package updater

import (
	"testing"
	"time"
)

func TestClockSystem(t *testing.T) {
	var c Clock = SystemClock()
	before := time.Now()
	if now := c.Now(); now.Before(before) || now.Sub(before) > time.Minute {
		t.Errorf("Now() = %v, real time %v", now, before)
	}

	fired := c.NewTimer(0)
	at := <-fired.C() // a zero timer fires at once
	if at.Before(before) {
		t.Errorf("timer sent %v, before it was made (%v)", at, before)
	}
	if fired.Stop() {
		t.Errorf("Stop on a fired timer reported true")
	}

	long := c.NewTimer(time.Hour)
	if !long.Stop() {
		t.Errorf("Stop on a running timer reported false")
	}
	if long.Stop() {
		t.Errorf("second Stop reported true")
	}
	select {
	case <-long.C():
		t.Errorf("stopped timer fired")
	default:
	}
}
