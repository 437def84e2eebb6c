package updatertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// FaultKind is the kind of network fault a Server injects.
type FaultKind int

// Fault kinds. Except for FaultRefuse, a fault acts on the public requests
// (release documents, packages, patches) that match its Path; admin
// requests and unknown paths are never faulted.
const (
	// FaultNone: requests reach the release server untouched.
	FaultNone FaultKind = iota
	// FaultRefuse: the server stops listening and closes every open
	// connection, so clients get "connection refused". A listening port
	// cannot be held without accepting, so when the fault is cleared (or
	// replaced) the server listens again on the same port; URL stays valid.
	// Path and Times must be zero: the whole listener goes down until
	// SetFault changes it.
	FaultRefuse
	// FaultHang: the request is held open and never answered, until the
	// client gives up (its context ends or its connection closes) or the
	// Server is closed.
	FaultHang
	// FaultStatus: the reply is Fault.Status (200-599) with a short JSON
	// error body and no API error code, as a proxy or CDN would send.
	FaultStatus
	// FaultCut: the headers and the first Fault.After bytes of the body
	// are sent, then the connection is aborted (a body of at most After
	// bytes is sent whole). After counts bytes of this response's body, so
	// a resumed download (a Range request) gets After more bytes each time
	// the fault applies.
	FaultCut
	// FaultSlow: the body is sent at Fault.BytesPerSecond, in small steps
	// of real time; the handler stops promptly when the client gives up.
	FaultSlow
	// FaultCorrupt: the byte at offset Fault.After of this response's body
	// (of the range, for a Range response) is flipped; a shorter body is
	// sent intact.
	FaultCorrupt
)

var faultKindNames = [...]string{"none", "refuse", "hang", "status", "cut", "slow", "corrupt"}

// String returns the kind's lowercase name, such as "cut".
func (k FaultKind) String() string {
	if k >= 0 && int(k) < len(faultKindNames) {
		return faultKindNames[k]
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault describes a network fault for Server.SetFault. The zero value is
// no fault. Fields a kind does not use must be zero.
type Fault struct {
	Kind FaultKind
	// Path selects the public requests the fault applies to: a path.Match
	// pattern on the URL path, such as "/apps/*/release.json" (release
	// documents), "/apps/*/packages/*" (packages) or "/apps/*/patches/*/*"
	// (delta patches); "/apps/demo.hello/packages/2.0.0.mpk" targets one
	// app's one version. "" applies it to every public request.
	Path string
	// Status is the status FaultStatus replies with (200-599).
	Status int
	// After is, for FaultCut, how many body bytes to send before aborting
	// and, for FaultCorrupt, the body offset of the flipped byte.
	After int64
	// BytesPerSecond is FaultSlow's rate (above zero).
	BytesPerSecond int64
	// Times, if above zero, limits the fault to that many matching
	// requests (whether or not the fault changed them, as with a body
	// shorter than After), after which it clears itself (back to
	// FaultNone). Zero applies it until SetFault changes it.
	Times int
}

// check reports the first field that does not fit the kind.
func (f Fault) check() error {
	if f.Kind < FaultNone || f.Kind > FaultCorrupt {
		return fmt.Errorf("Fault.Kind %d is unknown", int(f.Kind))
	}
	if _, err := path.Match(f.Path, ""); err != nil {
		return fmt.Errorf("Fault.Path %q is not a path.Match pattern: %w", f.Path, err)
	}
	if f.Path != "" && !strings.HasPrefix(f.Path, "/") {
		return fmt.Errorf("Fault.Path %q does not start with \"/\": it would match no URL path", f.Path)
	}
	if f.Times < 0 {
		return fmt.Errorf("Fault.Times %d is negative", f.Times)
	}
	// Each kind-specific field is for its kinds only, and required by
	// them unless zero means something (After 0: at the first byte).
	for _, x := range []struct {
		field, kinds string // names for the message
		value        int64
		uses, needed bool
	}{
		{"Fault.Status", "FaultStatus", int64(f.Status), f.Kind == FaultStatus, true},
		{"Fault.After", "FaultCut and FaultCorrupt", f.After, f.Kind == FaultCut || f.Kind == FaultCorrupt, false},
		{"Fault.BytesPerSecond", "FaultSlow", f.BytesPerSecond, f.Kind == FaultSlow, true},
	} {
		switch {
		case x.value != 0 && !x.uses:
			return fmt.Errorf("%s is for %s, not %s", x.field, x.kinds, f.Kind)
		case x.value == 0 && x.uses && x.needed:
			return fmt.Errorf("%s needs %s", x.kinds, x.field)
		case x.value < 0:
			return fmt.Errorf("%s %d is negative", x.field, x.value)
		}
	}
	if f.Kind == FaultStatus && (f.Status < 200 || f.Status > 599) {
		return fmt.Errorf("Fault.Status %d is outside 200-599", f.Status)
	}
	if f.Kind == FaultRefuse && (f.Path != "" || f.Times != 0) {
		return errors.New("FaultRefuse takes the whole listener down: Fault.Path and Fault.Times must be zero")
	}
	if f.Kind == FaultNone && (f.Path != "" || f.Times != 0) {
		return errors.New("FaultNone takes no Fault.Path or Fault.Times")
	}
	return nil
}

// public reports whether r is a GET or HEAD of one of the release
// server's public routes: a release document, a package or a patch.
func public(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	parts := strings.Split(r.URL.Path, "/")
	if len(parts) < 4 || parts[0] != "" || parts[1] != "apps" || parts[2] == "" {
		return false
	}
	switch {
	case len(parts) == 4:
		return parts[3] == "release.json"
	case len(parts) == 5:
		return parts[3] == "packages" && parts[4] != ""
	case len(parts) == 6:
		return parts[3] == "patches" && parts[4] != "" && parts[5] != ""
	}
	return false
}

// matches reports whether f applies to r: a public request whose path
// matches f.Path (checked by Fault.check, so Match cannot fail).
func (f Fault) matches(r *http.Request) bool {
	if !public(r) {
		return false
	}
	if f.Path == "" {
		return true
	}
	ok, _ := path.Match(f.Path, r.URL.Path)
	return ok
}

// serveFault answers r under fault f. Every kind but FaultNone, FaultCut,
// FaultSlow and FaultCorrupt replaces the release server's answer; those
// wrap it (fw does the work).
func (s *Server) serveFault(fw *faultWriter, r *http.Request, f Fault) {
	switch f.Kind {
	case FaultRefuse:
		// Reached only by a request that raced the listener going down.
		panic(http.ErrAbortHandler)
	case FaultHang:
		<-r.Context().Done() // the client gave up, or Close
		panic(http.ErrAbortHandler)
	case FaultStatus:
		body, _ := json.Marshal(map[string]string{
			"error": fmt.Sprintf("updatertest: injected fault: status %d", f.Status),
		})
		body = append(body, '\n')
		h := fw.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		fw.WriteHeader(f.Status)
		fw.Write(body)
	default:
		s.Release.Handler().ServeHTTP(fw, r)
	}
}

// faultWriter passes a response through, applying the body faults, and
// logs its status and body bytes with record before passing them on, so
// that the log is up to date by the time the client has the response. It
// is used by one handler goroutine.
type faultWriter struct {
	w      http.ResponseWriter
	ctx    context.Context
	f      Fault
	record func(status int, bytes int64)
	status int
	bytes  int64 // body bytes passed on to the client
}

func (fw *faultWriter) Header() http.Header { return fw.w.Header() }

func (fw *faultWriter) WriteHeader(code int) {
	if fw.status == 0 && code >= 200 {
		fw.status = code
		fw.record(fw.status, fw.bytes)
	}
	fw.w.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (fw *faultWriter) Unwrap() http.ResponseWriter { return fw.w }

// Flush sends what is buffered, headers included.
func (fw *faultWriter) Flush() { _ = http.NewResponseController(fw.w).Flush() }

func (fw *faultWriter) Write(p []byte) (int, error) {
	if fw.status == 0 {
		fw.WriteHeader(http.StatusOK)
	}
	switch fw.f.Kind {
	case FaultCut:
		if left := fw.f.After - fw.bytes; int64(len(p)) > left {
			fw.write(p[:left])
			fw.Flush()
			panic(http.ErrAbortHandler) // net/http closes the connection, logs nothing
		}
	case FaultCorrupt:
		if off := fw.f.After - fw.bytes; off >= 0 && off < int64(len(p)) {
			q := bytes.Clone(p)
			q[off] ^= 0xff
			return fw.write(q)
		}
	case FaultSlow:
		return fw.writeSlow(p)
	}
	return fw.write(p)
}

func (fw *faultWriter) write(p []byte) (int, error) {
	fw.record(fw.status, fw.bytes+int64(len(p)))
	n, err := fw.w.Write(p)
	fw.bytes += int64(n)
	if n < len(p) {
		fw.record(fw.status, fw.bytes)
	}
	return n, err
}

// slowSteps is how many pieces FaultSlow cuts a second's worth of bytes
// into: small enough steps that the client sees a steady trickle.
const slowSteps = 50

// writeSlow writes p in pieces, flushing each and waiting for its share of
// a second; it aborts the connection as soon as the request's context ends
// (the client gave up, or Close).
func (fw *faultWriter) writeSlow(p []byte) (int, error) {
	rate := fw.f.BytesPerSecond
	step := max(rate/slowSteps, 1)
	done := 0
	for len(p) > 0 {
		k := min(int64(len(p)), step)
		n, err := fw.write(p[:k])
		done += n
		if err != nil {
			return done, err
		}
		fw.Flush()
		p = p[k:]
		t := time.NewTimer(time.Duration(k) * time.Second / time.Duration(rate))
		select {
		case <-t.C:
		case <-fw.ctx.Done():
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}
	return done, nil
}
