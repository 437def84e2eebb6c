//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIntakeCommandsNamedPipe: "minihost run f.mpk" on a named pipe hung;
// run and publish refuse it at once, naming it.
func TestIntakeCommandsNamedPipe(t *testing.T) {
	t.Setenv("MINIHOST_TOKEN", "tok")
	tests := []struct {
		name string
		args func(fifo string) []string
	}{
		{name: "run", args: func(fifo string) []string { return []string{"run", "--home", t.TempDir(), fifo} }},
		{name: "publish", args: func(fifo string) []string { return []string{"publish", "--server", "http://127.0.0.1:1", fifo} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "f.mpk")
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			t.Cleanup(func() { // release the open, should it block
				if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					w.Close()
				}
			})
			type result struct {
				code   int
				stderr string
			}
			done := make(chan result, 1)
			go func() {
				code, _, stderr := relRun(t, tt.args(fifo)...)
				done <- result{code, stderr}
			}()
			select {
			case r := <-done:
				if want := "open " + fifo + ": not a regular file (named pipe)"; r.code != 1 || !strings.Contains(r.stderr, want) {
					t.Fatalf("exit %d, stderr %q; want 1 saying %q", r.code, r.stderr, want)
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("minihost %s blocked on a named pipe", tt.name)
			}
		})
	}
}
