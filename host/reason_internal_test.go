package host

import (
	"errors"
	"fmt"
	"testing"

	"github.com/minihost/minihost/runtime"
)

// TestErrorReason checks EventError's Reason, the JSON stream's kind of
// Event.Err: the first of runtime's sentinels the error wraps, in the
// order README.md's table gives, and which kinds break the instance.
func TestErrorReason(t *testing.T) {
	for _, tt := range []struct {
		err     error
		reason  string
		crashed bool
	}{
		{fmt.Errorf("call: %w", runtime.ErrTimeout), "timeout", true},
		{fmt.Errorf("%w (256 pages)", runtime.ErrMemoryLimit), "memory", true},
		{errors.Join(runtime.ErrExit, runtime.ErrTrap), "exit", true},
		{errors.Join(runtime.ErrCallback, runtime.ErrTrap), "callback", false},
		{fmt.Errorf("%w: unreachable", runtime.ErrTrap), "trap", true},
		{errors.New("no sandbox"), "host", false},
		{nil, "host", false},
	} {
		if got := errorReason(tt.err); got != tt.reason {
			t.Errorf("errorReason(%v) = %q, want %q", tt.err, got, tt.reason)
		}
		if got := crashed(tt.err); got != tt.crashed {
			t.Errorf("crashed(%v) = %t, want %t", tt.err, got, tt.crashed)
		}
	}
}
