package runtime

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// lineWriter turns a guest's stdout or stderr into log lines for the
// HostAPI: it splits on newlines, truncates long lines, rate-limits with a
// token bucket so a guest flooding its output cannot flood the host, and
// keeps the last line for error reports. It is used from the goroutine
// calling into the guest only.
type lineWriter struct {
	api     HostAPI
	stream  Stream
	level   LogLevel
	partial []byte
	last    string // the last line, for error reports
	panic   string // the last Go panic or fatal error line
	tokens  float64
	refill  time.Time
	dropped int
}

func newLineWriter(api HostAPI, stream Stream, level LogLevel) *lineWriter {
	return &lineWriter{api: api, stream: stream, level: level, tokens: DefaultLogBurst}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := DefaultMaxLogLineBytes - len(w.partial)
			if room > 0 {
				w.partial = append(w.partial, p[:min(room, len(p))]...)
			}
			break
		}
		room := DefaultMaxLogLineBytes - len(w.partial)
		if room > 0 {
			w.partial = append(w.partial, p[:min(room, i)]...)
		}
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

// Flush emits a pending partial line.
func (w *lineWriter) Flush() {
	if len(w.partial) > 0 {
		w.emit()
	}
}

func (w *lineWriter) emit() {
	line := strings.TrimRight(string(w.partial), "\r")
	w.partial = w.partial[:0]
	w.last = line
	if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
		w.panic = line
	}
	now := time.Now()
	if !w.refill.IsZero() {
		w.tokens = min(DefaultLogBurst, w.tokens+now.Sub(w.refill).Seconds()*DefaultLogLinesPerSecond)
	}
	w.refill = now
	if w.tokens < 1 {
		w.dropped++
		return
	}
	w.tokens--
	if w.dropped > 0 {
		w.api.Log(LevelWarn, w.stream, fmt.Sprintf("(%d lines dropped: output rate limit)", w.dropped))
		w.dropped = 0
	}
	w.api.Log(w.level, w.stream, line)
}

// summary returns the most telling recent line: a Go panic or fatal error
// message if there was one (the stack trace follows it), else the last line.
func (w *lineWriter) summary() string {
	if w.panic != "" {
		return w.panic
	}
	return w.last
}

// limitedLog applies the output rate limit to wx.log lines too. Calls come
// from the goroutine calling into the guest, one at a time per Sandbox.
type limitedLog struct {
	HostAPI
	w *lineWriter
}

func (l *limitedLog) Log(level LogLevel, stream Stream, msg string) {
	if stream != StreamLog {
		l.HostAPI.Log(level, stream, msg)
		return
	}
	l.w.level = level
	l.w.partial = append(l.w.partial[:0], msg...)
	l.w.emit()
}
