package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/minihost/minihost/host"
)

// Shared by the commands that print a result or progress.

// jsonFlag defines --json on fs: the result as one JSON value on stdout,
// for scripts.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print the result as JSON (for scripts)")
}

// printResult prints a command's result: v as JSON with asJSON (see
// printJSON), else text(stdout). It returns 0, or 1 when the JSON cannot
// be written.
func printResult(stdout, stderr io.Writer, cmd string, asJSON bool, v any, text func(w io.Writer)) int {
	if !asJSON {
		text(stdout)
		return 0
	}
	if err := printJSON(stdout, v); err != nil {
		fmt.Fprintf(stderr, "minihost %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// isTerminal reports whether f is an interactive terminal: a character
// device other than the null device (which is one too, and is what a
// service or "go test" gives as stdin). Without a terminal package (the
// project allows no new dependency) this is the portable test.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	if !ok || file == nil {
		return false
	}
	st, err := file.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}

// progress reports a long task's progress on w: a bar redrawn in place
// ("\r") on a terminal; elsewhere (a file, a pipe, a CI log) one line per
// tenth, so a log holds at most 11 lines per task whatever its size. It is
// goroutine-safe; one progress serves one task at a time (reset starts
// the next).
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	label string
	last  int // last tenth printed on a non-terminal, -1 before any
	done  bool
}

// newProgress returns a progress writing to w, drawn as a bar when w is a
// terminal.
func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w), last: -1}
}

// reset starts a new task: label prefixes its lines.
func (p *progress) reset(label string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.label, p.last, p.done = label, -1, false
}

// update reports n of total done; note follows the figures. A total of 0
// or less reports nothing. The task ends when n reaches total.
func (p *progress) update(n, total int64, note string) {
	if total <= 0 {
		return
	}
	n = min(max(n, 0), total)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.done = n == total
	pct := int(n * 100 / total)
	if note != "" {
		note = " " + note
	}
	if p.tty {
		const width = 30
		bar := int(n * width / total)
		fmt.Fprintf(p.w, "\r%s[%s%s] %3d%%%s", p.label, strings.Repeat("#", bar), strings.Repeat(" ", width-bar), pct, note)
		if p.done {
			fmt.Fprintln(p.w)
		}
		return
	}
	if tenth := pct / 10; tenth > p.last {
		p.last = tenth
		fmt.Fprintf(p.w, "%s%3d%%%s\n", p.label, pct, note)
	}
}

// downloadProgress shows a blocked launch's downloads (EventBlocked with
// Bytes and Total) through a progress, one task per attempt.
type downloadProgress struct {
	p       *progress
	mu      sync.Mutex
	attempt int
}

func newDownloadProgress(w io.Writer) *downloadProgress {
	return &downloadProgress{p: newProgress(w), attempt: -1}
}

// show displays ev if it is download progress and reports whether it was.
func (d *downloadProgress) show(ev host.Event) bool {
	if ev.Event != host.EventBlocked || ev.Total <= 0 {
		return false
	}
	d.mu.Lock()
	if ev.Attempt != d.attempt {
		d.attempt = ev.Attempt
		d.p.reset(fmt.Sprintf("[%s] %s (attempt %d) ", ev.App, ev.Message, ev.Attempt))
	}
	d.mu.Unlock()
	d.p.update(ev.Bytes, ev.Total, fmt.Sprintf("%d/%d bytes", ev.Bytes, ev.Total))
	return true
}
