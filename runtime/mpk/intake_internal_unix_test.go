//go:build unix

package mpk

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntakeOpenRecheckPipe: a path swapped for a named pipe between the
// stat and the open is opened without blocking (O_NONBLOCK) and refused by
// the check after the open.
func TestIntakeOpenRecheckPipe(t *testing.T) {
	dir := t.TempDir()
	regular, fifo := filepath.Join(dir, "f.mpk"), filepath.Join(dir, "fifo")
	if err := os.WriteFile(regular, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	t.Cleanup(func() { // release a reader left blocked, should the open block
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	st, err := os.Stat(regular)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := openChecked(fifo, st) // as if fifo had been regular at the stat
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "open "+fifo+": not a regular file (named pipe)") {
			t.Fatalf("openChecked = %v, want ErrNotRegular for the named pipe", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the open blocked on a named pipe")
	}
}
