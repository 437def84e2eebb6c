package hosttest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/minihost/minihost/host"
)

// WaitEvent waits for the next event named kind (a host.EventXxx, such as
// host.EventUpdateReady) of this cold start, past the ones earlier waits
// returned, and returns it. Events of every kind are recorded from the
// cold start on, so one that came before the call is found at once. On a
// deadline (ctx's, else Config.Wait) it stops the test with what it
// waited for and the events that arrived instead.
func (k *Kit) WaitEvent(ctx context.Context, kind string) host.Event {
	if k.tb != nil {
		k.tb.Helper()
	}
	var found host.Event
	k.waitUntil(ctx, "event "+kind, func() bool {
		for i := k.cursor; i < len(k.events); i++ {
			if k.events[i].Event == kind {
				found, k.cursor = k.events[i], i+1
				return true
			}
		}
		return false
	})
	return found
}

// waitUntil re-checks cond, under k.mu, whenever an event arrives, until
// it holds or the deadline passes; then it stops the test with what, the
// version running and the events from the cursor on.
func (k *Kit) waitUntil(ctx context.Context, what string, cond func() bool) {
	if k.tb != nil {
		k.tb.Helper()
	}
	ctx, cancel := k.bound(ctx)
	defer cancel()
	for {
		k.mu.Lock()
		ok, changed, from := cond(), k.changed, k.cursor
		k.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			running := "no app"
			if k.app != nil {
				running = "running " + k.app.Version()
			}
			k.fatalf("wait for %s: %v (%s); arrived instead:\n%s", what, ctx.Err(), running, k.since(from))
			return
		}
	}
}

// describe is one event on a line: its name, version and the fields that
// say what happened.
func describe(ev host.Event) string {
	parts := []string{ev.Event, ev.App, ev.Version}
	for _, f := range []string{ev.Reason, ev.Message} {
		if f != "" {
			parts = append(parts, fmt.Sprintf("%q", f))
		}
	}
	if ev.HasUpdate != nil {
		parts = append(parts, fmt.Sprintf("hasUpdate=%t", *ev.HasUpdate))
	}
	if ev.Decision != nil {
		d := ev.Decision
		parts = append(parts, fmt.Sprintf("%s %v %q opened=%s", d.Mode, slices.Concat(d.Rules, d.OutcomeRules), d.Reason+"; "+d.OutcomeReason, d.Opened))
	}
	return strings.Join(parts, " ")
}
