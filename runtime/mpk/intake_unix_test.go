//go:build unix

package mpk_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
)

// mkfifo makes a named pipe in a fresh folder of t.TempDir(). At cleanup
// it opens the write end once, so that a reader the code under test left
// blocked on it (the bug these tests catch) is released.
func mkfifo(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	t.Cleanup(func() {
		if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	return p
}

// withinDeadline runs fn and returns its error, failing the test when fn
// has not returned within a generous deadline (it blocked).
func withinDeadline(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("blocked on a named pipe")
		return nil
	}
}

// openPipe opens a new named pipe called name with open, within the
// deadline, closes what open returned if it succeeded, and returns the
// pipe's path and open's error.
func openPipe(t *testing.T, name string, open func(path string) (io.Closer, error)) (string, error) {
	fifo := mkfifo(t, name)
	return fifo, withinDeadline(t, func() error {
		c, err := open(fifo)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// TestIntakeNamedPipe: a named pipe given as a package, or as app.json of a
// source folder, is refused at once with an error naming it, instead of
// hanging the command (minihost run f.mpk on a FIFO hung).
func TestIntakeNamedPipe(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T) (path string, err error)
	}{
		{name: "OpenFile", run: func(t *testing.T) (string, error) {
			return openPipe(t, "f.mpk", func(p string) (io.Closer, error) { return mpk.OpenFile(p, mpk.Limits{}) })
		}},
		{name: "OpenRegular", run: func(t *testing.T) (string, error) {
			return openPipe(t, "key.pub", func(p string) (io.Closer, error) { return mpk.OpenRegular(p) })
		}},
		// The path swapped for a named pipe between OpenRegular's stat and
		// its open: opened without blocking (O_NONBLOCK), refused by the
		// check after the open.
		{name: "swapped for a pipe after the stat", run: func(t *testing.T) (string, error) {
			regular := filepath.Join(t.TempDir(), "f.mpk")
			if err := os.WriteFile(regular, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(regular)
			if err != nil {
				t.Fatal(err)
			}
			return openPipe(t, "fifo", func(p string) (io.Closer, error) { return mpk.OpenChecked(p, st) })
		}},
		{name: "Pack with app.json a pipe", run: func(t *testing.T) (string, error) {
			src := mkfifo(t, "app.json")
			return src, withinDeadline(t, func() error {
				return mpk.Pack(t.Context(), filepath.Dir(src), filepath.Join(t.TempDir(), "x.mpk"))
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := tt.run(t)
			if want := "open " + path + ": not a regular file (named pipe)"; err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one saying %q", err, want)
			}
			if !errors.Is(err, mpk.ErrNotRegular) {
				t.Errorf("error %v does not wrap ErrNotRegular", err)
			}
		})
	}
}
