package runtime

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/minihost/minihost/samples/wx/abi"
)

// noticeInterval is the least time between two "lines dropped" notices of
// one stream: a notice is output too, and one per dropped burst would let a
// flood through at half rate.
const noticeInterval = time.Second

// maxLogLineBytes cuts longer guest output lines and wx.log messages
// (ABI.md: a line is cut at 4 KiB).
const maxLogLineBytes = 4096

// outputBudget bounds what the guests of one Sandbox hand its HostAPI:
// output lines of every stream share one token bucket, modals have another,
// and both last for the Sandbox's life, so an instance re-created after a
// crash starts with what its predecessor left. Dropped lines are counted per
// stream and reported at most once per noticeInterval. It is safe for
// concurrent use: during a hot swap one instance may start while another
// runs.
type outputBudget struct {
	api HostAPI
	// now is the clock; tests replace it before any guest runs.
	now func() time.Time

	mu     sync.Mutex
	lines  bucket
	modals bucket
	drops  map[string]*dropCount
}

// dropCount is what a stream lost since its last notice.
type dropCount struct {
	n      int
	notice time.Time // when the last notice went out
}

func newOutputBudget(api HostAPI, cfg sandboxConfig) *outputBudget {
	return &outputBudget{
		api:    api,
		now:    time.Now,
		lines:  newBucket(cfg.LogLinesPerSecond, cfg.LogBurst),
		modals: newBucket(cfg.ModalsPerSecond, cfg.ModalBurst),
		drops:  map[string]*dropCount{},
	}
}

// log passes line to the HostAPI if the budget allows, else counts it,
// and sends the stream's drop notice when one is due.
func (o *outputBudget) log(stream string, level abi.LogLevel, line string) {
	o.mu.Lock()
	now := o.now()
	ok := o.lines.take(now)
	d := o.drops[stream]
	if d == nil {
		d = &dropCount{}
		o.drops[stream] = d
	}
	if !ok {
		d.n++
	}
	notice := d.due(now)
	o.mu.Unlock()
	// Outside the lock: the HostAPI may take its time.
	if notice > 0 {
		o.api.Log(abi.LevelWarn, stream, fmt.Sprintf("(%d lines dropped: output rate limit)", notice))
	}
	if ok {
		o.api.Log(level, stream, line)
	}
}

// flush sends stream's drop notice if one is due.
func (o *outputBudget) flush(stream string) {
	o.mu.Lock()
	var notice int
	if d := o.drops[stream]; d != nil {
		notice = d.due(o.now())
	}
	o.mu.Unlock()
	if notice > 0 {
		o.api.Log(abi.LevelWarn, stream, fmt.Sprintf("(%d lines dropped: output rate limit)", notice))
	}
}

// due returns the count to report now, if any, and resets it.
func (d *dropCount) due(now time.Time) int {
	if d.n == 0 || (!d.notice.IsZero() && now.Sub(d.notice) < noticeInterval) {
		return 0
	}
	n := d.n
	d.n, d.notice = 0, now
	return n
}

// modal reports whether the budget allows one more modal now.
func (o *outputBudget) modal() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.modals.take(o.now())
}

// bucket is a token bucket: burst tokens, refilled at rate per second.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate, burst int) bucket {
	return bucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst)}
}

func (b *bucket) take(now time.Time) bool {
	switch {
	case b.last.IsZero():
		b.last = now
	case now.After(b.last):
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// lineWriter turns a guest's stdout or stderr into log lines: it splits on
// newlines, truncates long lines, passes them through the Sandbox's output
// budget and keeps the last line for error reports. It is used from the
// goroutine calling into its instance only.
type lineWriter struct {
	out     *outputBudget
	stream  string
	level   abi.LogLevel
	partial []byte
	last    string // the last line, for error reports
	panic   string // the last Go panic or fatal error line
}

func newLineWriter(out *outputBudget, stream string, level abi.LogLevel) *lineWriter {
	return &lineWriter{out: out, stream: stream, level: level}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLogLineBytes - len(w.partial)
			if room > 0 {
				w.partial = append(w.partial, p[:min(room, len(p))]...)
			}
			break
		}
		room := maxLogLineBytes - len(w.partial)
		if room > 0 {
			w.partial = append(w.partial, p[:min(room, i)]...)
		}
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

// Flush emits a pending partial line and a due drop notice.
func (w *lineWriter) Flush() {
	if len(w.partial) > 0 {
		w.emit()
	}
	w.out.flush(w.stream)
}

func (w *lineWriter) emit() {
	line := strings.TrimRight(string(w.partial), "\r")
	w.partial = w.partial[:0]
	w.last = line
	if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
		w.panic = line
	}
	w.out.log(w.stream, w.level, line)
}

// summary returns the most telling recent line: a Go panic or fatal error
// message if there was one (the stack trace follows it), else the last line.
func (w *lineWriter) summary() string {
	if w.panic != "" {
		return w.panic
	}
	return w.last
}

// limitedAPI is the HostAPI the wx module calls: wx.log lines and modals go
// through the Sandbox's output budget first. A refused modal gets
// abi.CodeBusy, which the guest sees as EBUSY.
type limitedAPI struct {
	HostAPI
	out *outputBudget
}

func (l *limitedAPI) Log(level abi.LogLevel, stream string, msg string) {
	l.out.log(stream, level, msg)
}

func (l *limitedAPI) ShowModal(m abi.Modal) (uint32, error) {
	if !l.out.modal() {
		return 0, fmt.Errorf("%w: modal rate limit", abi.CodeBusy)
	}
	return l.HostAPI.ShowModal(m)
}
