package release

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/minihost/minihost/updater/internal/wire"
)

// The push path: a document request with ?after=SEQ&wait=SECONDS is held
// until the app's sequence passes SEQ, so a running host learns of a
// release within a round trip instead of at its next periodic round. A
// static export ignores the query and answers at once without
// wire.WaitHeader, and its clients fall back to polling.

// heartbeat is how often a held response gets a newline, under the minute
// after which proxies and load balancers commonly cut an idle response.
const heartbeat = 25 * time.Second

// shutdownKey keys the request context value holding a Serve's
// shutting-down channel.
type shutdownKey struct{}

// holdDocument answers a ?wait= request. When the app's sequence is
// already above "after", or the server does not hold requests (a negative
// MaxWait, or MaxWaiters held already), it returns false and the caller
// answers as for a plain request. Otherwise it sends the headers at once,
// so no header timeout of the client's or of a proxy cuts the hold,
// holds until the sequence passes "after", the wait or MaxWait passes, the
// client goes, or the server shuts down, and then writes the current
// signed document: true. A bad query is an ErrInvalidArgument.
func (s *Server) holdDocument(w http.ResponseWriter, r *http.Request, appID string) (bool, error) {
	q := r.URL.Query()
	after, err := strconv.ParseUint(q.Get("after"), 10, 64)
	if err != nil {
		return false, fmt.Errorf("%w: after=%q is not a sequence number", ErrInvalidArgument, q.Get("after"))
	}
	secs, err := strconv.ParseUint(q.Get("wait"), 10, 32)
	if err != nil {
		return false, fmt.Errorf("%w: wait=%q is not a whole number of seconds", ErrInvalidArgument, q.Get("wait"))
	}
	e, _, err := s.appState(appID)
	if err != nil || s.cfg.MaxWait < 0 {
		return false, err
	}
	if s.waiters.Add(1) > int64(s.cfg.MaxWaiters) {
		s.waiters.Add(-1)
		return false, nil
	}
	defer s.waiters.Add(-1)
	w.Header().Set(wire.WaitHeader, strconv.Itoa(int(s.cfg.MaxWait/time.Second)))

	// Load the channel before the sequence: a change after the check
	// closes this channel, so it cannot be missed.
	changed := *e.changed.Load()
	wait := min(time.Duration(secs)*time.Second, s.cfg.MaxWait)
	if e.state.Load().Sequence > after || wait == 0 {
		return false, nil
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// A writer that cannot flush sends the headers with the body; a client
	// that is gone ends the hold below.
	_ = http.NewResponseController(w).Flush()
	shuttingDown, _ := r.Context().Value(shutdownKey{}).(chan struct{})
	t := time.NewTimer(wait)
	defer t.Stop()
	beat := time.NewTicker(heartbeat)
	defer beat.Stop()
hold:
	for {
		select {
		case <-changed:
		case <-t.C:
		case <-r.Context().Done():
			return true, nil
		case <-s.done:
		case <-shuttingDown: // nil outside Serve: never ready
		case <-beat.C:
			// JSON allows leading white space, so the document that
			// follows still parses.
			if _, err := w.Write([]byte("\n")); err != nil {
				return true, nil
			}
			_ = http.NewResponseController(w).Flush()
			continue
		}
		break hold
	}
	d, err := s.entryDocument(e)
	if err != nil {
		// The status is sent: break the response so the client sees an
		// error, not a short document.
		s.log.Error("sign release document for a held request", "app", appID, "err", err)
		panic(http.ErrAbortHandler)
	}
	w.Write(d.body)
	return true, nil
}
