package host_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
)

// TestPoolAttackClosedAppHandle: an App handle kept after Close, once its
// Runtime serves the app's reopened window (runtime/pool.go), reaches
// nothing: Emit fails, and the reopened app's storage and log see none of
// it.
func TestPoolAttackClosedAppHandle(t *testing.T) {
	h, ev := newHost(t, t.TempDir(), host.Config{})
	dir := guestDir(t, "basic", "test.handle")
	old, err := h.LaunchPackage(t.Context(), dir)
	require.NoError(t, err)
	emit(t, old, "storage-set", map[string]string{"key": "k", "value": "v1"})
	require.NoError(t, old.Close(t.Context()))
	a, err := h.LaunchPackage(t.Context(), dir)
	require.NoError(t, err)
	defer a.Close(t.Context())
	require.Error(t, old.Emit(t.Context(), "storage-set", []byte(`{"key":"k","value":"stale"}`)), "Emit on a closed App")
	emit(t, a, "storage-get", map[string]string{"key": "k"})
	require.True(t, ev.logged("test.handle", "get k: v1"), ev.dump())
	require.False(t, ev.logged("test.handle", "stale"), ev.dump())
}
