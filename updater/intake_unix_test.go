//go:build unix

package updater_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/wire"
)

// TestIntakeStoreInstallNamedPipe: a named pipe in the place of a
// downloaded package is refused at once, not read forever.
func TestIntakeStoreInstallNamedPipe(t *testing.T) {
	s, err := updater.OpenStore(updater.StoreConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "1.0.0.mpk.part")
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
		rel := &updater.Release{Version: "1.0.0", Size: 1, SHA256: strings.Repeat("0", 64), Path: wire.PackagePath("demo.app", "1.0.0")}
		done <- s.InstallRelease(t.Context(), "demo.app", rel, fifo)
	}()
	select {
	case err := <-done:
		if want := "open " + fifo + ": not a regular file (named pipe)"; err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("InstallRelease: %v, want an error saying %q", err, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("InstallRelease blocked on a named pipe")
	}
}
