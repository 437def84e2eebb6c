//go:build unix

package host_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/mpk"
)

// TestIntakeLaunchPackageNamedPipe: LaunchPackage (minihost run f.mpk) on
// a named pipe hung in the open; it is refused at once, naming the path,
// and nothing is extracted.
func TestIntakeLaunchPackageNamedPipe(t *testing.T) {
	home := t.TempDir()
	h, _ := newHost(t, home, host.Config{})
	fifo := filepath.Join(t.TempDir(), "f.mpk")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	t.Cleanup(func() { // release the open, should it block
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	done := make(chan error, 1)
	go func() {
		a, err := h.LaunchPackage(t.Context(), fifo)
		if err == nil {
			a.Close(t.Context())
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, mpk.ErrNotRegular)
		require.ErrorContains(t, err, "open "+fifo+": not a regular file (named pipe)")
	case <-time.After(30 * time.Second):
		t.Fatal("LaunchPackage blocked on a named pipe")
	}
	require.NoDirExists(t, filepath.Join(home, "packages"))
}
