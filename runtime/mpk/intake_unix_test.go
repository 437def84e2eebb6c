//go:build unix

package mpk_test

import (
	"errors"
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

// TestIntakeNamedPipe: a named pipe given as a package, or as app.json of a
// source folder, is refused at once with an error naming it, instead of
// hanging the command (minihost run f.mpk on a FIFO hung).
func TestIntakeNamedPipe(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T) (path string, err error)
	}{
		{name: "OpenFile", run: func(t *testing.T) (string, error) {
			fifo := mkfifo(t, "f.mpk")
			return fifo, withinDeadline(t, func() error {
				p, err := mpk.OpenFile(fifo, mpk.Limits{})
				if err == nil {
					p.Close()
				}
				return err
			})
		}},
		{name: "OpenRegular", run: func(t *testing.T) (string, error) {
			fifo := mkfifo(t, "key.pub")
			return fifo, withinDeadline(t, func() error {
				f, err := mpk.OpenRegular(fifo)
				if err == nil {
					f.Close()
				}
				return err
			})
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
