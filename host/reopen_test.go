package host_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime"
)

// TestReopenServesTheNewApp closes an app and opens it again in the same
// host, where the runtime reuses its parked Runtime (runtime/pool.go): the
// reopened app's storage calls reach its own store, and those of the
// closed one stop. With reuse off the same steps give the same answers.
func TestReopenServesTheNewApp(t *testing.T) {
	for _, tt := range []struct {
		name string
		idle int64
	}{{"reuse", 0}, {"reuse off", -1}} {
		t.Run(tt.name, func(t *testing.T) {
			h, ev := newHost(t, t.TempDir(), host.Config{Runtime: runtime.Config{IdleBytes: tt.idle}})
			dir := guestDir(t, "basic", "test.reopen")
			for i, step := range []struct{ event, key, value, want string }{
				{"storage-set", "k", "v1", "set k: ok"},
				{"storage-get", "k", "", "get k: v1"},
				{"storage-set", "k", "v2", "set k: ok"},
				{"storage-get", "k", "", "get k: v2"},
			} {
				a, err := h.LaunchPackage(t.Context(), dir)
				require.NoError(t, err, "launch %d", i)
				emit(t, a, step.event, map[string]string{"key": step.key, "value": step.value})
				require.True(t, ev.logged("test.reopen", step.want), "launch %d: %s", i, ev.dump())
				require.NoError(t, a.Close(t.Context()))
			}
			require.False(t, ev.logged("test.reopen", "EIO"), ev.dump())
		})
	}
}
