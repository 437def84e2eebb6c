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
		name    string
		err     error
		reason  string
		crashed bool
	}{
		{"timeout", fmt.Errorf("call: %w", runtime.ErrTimeout), "timeout", true},
		{"memory", fmt.Errorf("%w (256 pages)", runtime.ErrMemoryLimit), "memory", true},
		{"exit before trap", errors.Join(runtime.ErrExit, runtime.ErrTrap), "exit", true},
		{"callback before trap", errors.Join(runtime.ErrCallback, runtime.ErrTrap), "callback", false},
		{"trap", fmt.Errorf("%w: unreachable", runtime.ErrTrap), "trap", true},
		{"host failure", errors.New("no sandbox"), "host", false},
		{"nil", nil, "host", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorReason(tt.err); got != tt.reason {
				t.Errorf("errorReason(%v) = %q, want %q", tt.err, got, tt.reason)
			}
			if got := crashed(tt.err); got != tt.crashed {
				t.Errorf("crashed(%v) = %t, want %t", tt.err, got, tt.crashed)
			}
		})
	}
}
