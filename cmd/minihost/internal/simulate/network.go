package simulate

import (
	"context"
	"errors"
	"time"

	"github.com/minihost/minihost/updater"
)

// The simulated network and release server: document checks, download
// attempts and installs, and the host's periodic checker.

// Errors the simulated network gives the policy.
var (
	errOffline        = errors.New("offline")
	errCheckFailed    = errors.New("check failed (weak network)")
	errDownloadFailed = errors.New("download failed (weak network)")
	errNotPublished   = errors.New("no such version on the release server")
)

// check is one release-document check: offline it fails at once and the
// server sees nothing; otherwise it takes an RTT and fails with the
// network's probability, or times out after timeout. A verified document
// is recorded at once.
func (s *shard) check(i int, t, timeout time.Duration, source string) (updater.CheckResult, time.Duration) {
	c := &s.clients[i]
	res := updater.CheckResult{ClientID: c.id}
	if c.offline(t) {
		res.Err = errOffline
		s.tot.OfflineChecks++
		s.emit(Event{Client: c.index, T: t, Kind: EventCheck, Source: source, Sequence: c.doc.Sequence})
		return res, 0
	}
	s.hour(t).Checks++
	s.tot.Checks++
	switch source {
	case "periodic":
		s.tot.PeriodicChecks++
	case "blocked":
		s.tot.RetryChecks++
	default:
		s.tot.LaunchChecks++
	}
	np := &s.cfg.Habits.Networks[c.net]
	lat := s.lognormalDur(np.RTTMedian, np.RTTSigma)
	switch {
	case lat >= timeout:
		lat, res.Err = timeout, context.DeadlineExceeded
		s.tot.TimedOutChecks++
	case s.r.Float64() < np.CheckFail:
		res.Err = errCheckFailed
		s.tot.FailedChecks++
	default:
		res.Doc = s.m.document(t)
		if res.Doc.Sequence >= c.doc.Sequence {
			c.doc = res.Doc
		}
	}
	s.emit(Event{Client: c.index, T: t, Kind: EventCheck, Source: source, Sent: true, OK: res.Err == nil, Sequence: c.doc.Sequence})
	return res, lat
}

// checkArg packs a check's result into an event's arg: the document in
// the low two bits (0 none, 1 before t0, 2 from t0), the error above.
func (s *shard) checkArg(res updater.CheckResult) uint8 {
	var a uint8
	switch res.Doc {
	case s.m.before:
		a = 1
	case s.m.after:
		a = 2
	}
	switch res.Err {
	case errOffline:
		a |= 1 << 2
	case errCheckFailed:
		a |= 2 << 2
	case context.DeadlineExceeded:
		a |= 3 << 2
	}
	return a
}

// checkResult unpacks checkArg for client c.
func (s *shard) checkResult(c *client, a uint8) updater.CheckResult {
	res := updater.CheckResult{ClientID: c.id}
	switch a & 3 {
	case 1:
		res.Doc = s.m.before
	case 2:
		res.Doc = s.m.after
	}
	switch a >> 2 {
	case 1:
		res.Err = errOffline
	case 2:
		res.Err = errCheckFailed
	case 3:
		res.Err = context.DeadlineExceeded
	}
	return res
}

// attempt is one download attempt of the new version starting at t: how
// long it takes and whether it succeeds. An attempt is cut off after the
// executor's BackgroundTimeout.
func (s *shard) attempt(i int, t time.Duration, source string) (time.Duration, bool) {
	c := &s.clients[i]
	if c.offline(t) {
		s.emit(Event{Client: c.index, T: t, Kind: EventDownload, Source: source, Version: s.m.to.Version, Sequence: c.doc.Sequence})
		return 0, false
	}
	np := &s.cfg.Habits.Networks[c.net]
	size := float64(s.m.to.Size)
	if len(s.m.to.Patches) > 0 { // every client runs the patch's base
		size = float64(s.m.to.Patches[0].Size)
	}
	bw := s.lognormal(np.BandwidthMedian, np.BandwidthSigma)
	d := s.lognormal(float64(np.RTTMedian), np.RTTSigma) + size*8/bw*float64(time.Second)
	ok, got := true, size
	if s.r.Float64() < np.DownloadFail {
		f := s.r.Float64()
		ok, d, got = false, d*f, size*f
	}
	if limit := float64(s.cfg.Policy.BackgroundTimeout); d > limit {
		ok, got, d = false, got*limit/d, limit
	}
	h := s.hour(t)
	h.Downloads++
	h.DownloadBytes += int64(got)
	s.tot.Downloads++
	s.tot.DownloadBytes += int64(got)
	if !ok {
		s.tot.FailedDownloads++
	}
	s.emit(Event{Client: c.index, T: t, Kind: EventDownload, Source: source, Version: s.m.to.Version, Sent: true, OK: ok, Sequence: c.doc.Sequence})
	return dur(d), ok
}

// startJob starts one attempt of the new version's download at t, unless
// it is installed or a download is in flight already (which the caller
// joins).
func (s *shard) startJob(i int, t time.Duration, source string) {
	c := &s.clients[i]
	if c.hasNew || c.dl.busy {
		return
	}
	d, ok := s.attempt(i, t, source)
	c.dl = job{busy: true, ok: ok, source: source}
	c.dlEpoch++
	s.q.push(event{at: t + d, client: int32(i), kind: evDownload, epoch: c.dlEpoch})
}

// onDownload ends the download in flight: it installs, even when the
// Launch that asked for it is gone, and the current Launch, if it asked,
// learns the result.
func (s *shard) onDownload(i int, t time.Duration) {
	c := &s.clients[i]
	ok, source := c.dl.ok, c.dl.source
	c.dl.busy = false
	c.dlEpoch++
	var err error
	if ok {
		s.install(i, t, source)
	} else {
		err = errDownloadFailed
	}
	if !c.dlWanted {
		return
	}
	c.dlWanted = false
	if c.launch != nil && c.dlWantEpoch == c.launchEpoch {
		c.launch.Handle(s.at(t), updater.Installed{Version: s.m.to.Version, Err: err}, s.runner(i, t))
		s.carry(i, t)
	}
}

func (s *shard) install(i int, t time.Duration, source string) {
	c := &s.clients[i]
	if c.hasNew {
		return
	}
	c.hasNew = true
	c.st.Installed = append(c.st.Installed, updater.InstalledVersion{Version: s.m.to.Version, Verified: true})
	s.now.installed++
	s.tot.Installs++
	if source == "periodic" {
		s.tot.Prefetched++
	}
	s.emit(Event{Client: c.index, T: t, Kind: EventInstall, Source: source, Version: s.m.to.Version, OK: true, Sequence: c.doc.Sequence})
}

// onPeriodic is one round of the host's periodic checker (rule S3): the
// app is checked if the executor says it is due; the result arrives
// after the check's latency.
//
// On the push path a round is a held push request instead: it is answered
// with the document at once when the release is newer than the client's,
// or after PushWait (the next round), and a host up when the release came
// is answered by it (init). Either answer counts as one check, so the
// fleet's requests are the holds, and a failed one falls back to the
// interval.
func (s *shard) onPeriodic(i int, t time.Duration) {
	c := &s.clients[i]
	if !s.exec.PeriodicDue(c.st, s.at(t)) {
		s.unhold(c)
		s.q.push(event{at: t + s.exec.PeriodicDelay(false, s.r.Float64()), client: int32(i), kind: evPeriodic, epoch: c.hostEpoch})
		return
	}
	res, lat := s.check(i, t, s.cfg.Policy.BackgroundTimeout, "periodic")
	next := s.exec.PeriodicDelay(false, s.r.Float64())
	if s.push() && res.Err == nil {
		s.hold(c)
		next = s.cfg.Policy.PushWait
	} else {
		s.unhold(c)
	}
	s.q.push(event{at: t + lat + next, client: int32(i), kind: evPeriodic, epoch: c.hostEpoch})
	if lat == 0 {
		s.afterPeriodic(i, t, res)
		return
	}
	s.q.push(event{at: t + lat, client: int32(i), kind: evPeriodicDone, epoch: c.hostEpoch, arg: s.checkArg(res)})
}

// afterPeriodic acts on a periodic check's result: a newer version is
// prefetched, one attempt.
func (s *shard) afterPeriodic(i int, t time.Duration, res updater.CheckResult) {
	c := &s.clients[i]
	if prefetch, _ := s.exec.AfterPeriodicCheck(c.st, res); prefetch != nil && prefetch.Version == s.m.to.Version {
		s.startJob(i, t, "periodic")
	}
}
