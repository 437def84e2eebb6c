package release

import (
	"net/http"
	"strings"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/wire"
)

// The Server's side of adoption (adoption.go): counting requests, the
// flusher goroutine, and the counts in Status.

// countVersion counts k for appID under ver if the app has published ver,
// else (missing, malformed, never published) under unknownVersion. Apps
// the server does not know are not counted: only a publish adds an app.
func (s *Server) countVersion(appID, ver string, k adoptionKind) {
	_, st, err := s.appState(appID)
	if err != nil {
		return
	}
	name := unknownVersion
	if _, perr := mpk.ParseVersion(ver); perr == nil {
		for _, v := range st.Versions {
			if v.Version == ver { // ParseVersion accepts the canonical form only
				name = ver
				break
			}
		}
	}
	s.adoption.add(appID, name, k, s.cfg.Now())
}

// countFetch counts a document request by the running version its client
// sends. HEAD requests and revalidations count too: each is a check.
func (s *Server) countFetch(r *http.Request, appID string) {
	s.countVersion(appID, r.Header.Get(wire.VersionHeader), countFetch)
}

// countDownload counts a package or patch request (kind) that starts at
// its first byte: a resumed download (Range from further on) is the same
// download.
func (s *Server) countDownload(r *http.Request, appID, ver string, kind adoptionKind) {
	if r.Method != http.MethodGet {
		return
	}
	if rg := r.Header.Get("Range"); rg != "" && !strings.HasPrefix(rg, "bytes=0-") {
		return
	}
	s.countVersion(appID, ver, kind)
}

// flushAdoption writes the counts if they changed, logging a failure:
// the counts stay in memory and the next flush tries again.
func (s *Server) flushAdoption() error {
	err := s.adoption.flush(s.cfg.Fs, s.cfg.DataDir)
	if err != nil {
		s.log.Warn("save adoption counts", "err", err)
	}
	return err
}

// startAdoption loads the counts and starts the flusher goroutine, which
// Close stops (s.done) and waits for (s.adoption.stopped).
func (s *Server) startAdoption() error {
	ad, err := loadAdoption(s.cfg.Fs, s.cfg.DataDir, s.log.Warn, s.cfg.Now())
	if err != nil {
		return err
	}
	ad.stopped = make(chan struct{})
	s.adoption = ad
	go s.runFlusher()
	return nil
}

// runFlusher writes the counts every adoptionFlushEvery until Close
// (which writes them a last time after the requests have stopped).
func (s *Server) runFlusher() {
	defer close(s.adoption.stopped)
	t := time.NewTicker(adoptionFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			_ = s.flushAdoption()
		}
	}
}

// addAdoption fills st's counts from the adoption of its app.
func (s *Server) addAdoption(st *AppStatus) {
	ad := s.adoption.snapshot(st.AppID, s.cfg.Now())
	last := ad.days[len(ad.days)-1]
	st.AdoptionSince = ad.start
	st.UnknownFetches = ad.total[unknownVersion].Fetches
	for i := range st.Versions {
		v := &st.Versions[i]
		t := ad.total[v.Version]
		v.Fetches, v.Downloads, v.Patches = t.Fetches, t.Downloads, t.Patches
		v.Fetches24h = last[v.Version].Fetches
	}
}
