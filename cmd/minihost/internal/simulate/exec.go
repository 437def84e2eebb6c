package simulate

import (
	"slices"
	"time"

	"github.com/minihost/minihost/updater"
)

// The runner of a client's Launch: a cold start, carrying out what the
// executor asks for and feeding back the events that brings, and the
// sessions it opens.

// open starts a session at t on v, opened by a cold start (source
// "launch") or a restart into it. The Launch's RecordOpen makes v the
// active version.
func (s *shard) open(i int, t time.Duration, v, source string, mode string) {
	c := &s.clients[i]
	if v == "" {
		return
	}
	isNew := v == s.m.to.Version
	if c.doc == s.m.after && !s.m.allowedAfter[b2i(isNew)] {
		s.tot.Violations++
	}
	h := &s.cfg.Habits
	c.sessionEnd = t + s.lognormalDur(h.SessionMedian, h.SessionSigma)
	s.appExitAt(i)
	flip := 0 // +1: old to new, -1: new to old
	if isNew != c.onNew {
		flip = 2*b2i(isNew) - 1
	}
	countOpen(&c.opened, &s.now.opened, &s.now.openedNew, isNew, flip)
	countOpen(&c.daily, &s.now.daily, &s.now.dailyNew, isNew, flip)
	s.now.fleetNew += flip
	c.onNew = isNew
	c.openSeq++
	s.q.push(event{at: t + DailyWindow, client: int32(i), kind: evExpire, epoch: c.openSeq})
	hs := s.hour(t)
	hs.Opens++
	s.tot.Opens++
	if isNew {
		hs.OpensNew++
		s.tot.OpensNew++
	}
	s.emit(Event{Client: c.index, T: t, Kind: EventOpen, Source: source, Version: v, OK: true, Mode: mode, Sequence: c.doc.Sequence})
}

// appExitAt queues the end of client i's app, HotStartWindow after its
// session, when no hot start came meanwhile.
func (s *shard) appExitAt(i int) {
	c := &s.clients[i]
	if c.launch != nil {
		s.q.push(event{at: c.sessionEnd + s.cfg.Habits.HotStartWindow, client: int32(i), kind: evAppExit, epoch: c.launchEpoch})
	}
}

// countOpen updates a count of clients that opened (n, and nNew of them
// on the new version) for a client's open: its first (seen false) adds it,
// a later one only moves it by flip between old and new.
func countOpen(seen *bool, n, nNew *int, isNew bool, flip int) {
	if !*seen {
		*seen = true
		*n++
		*nNew += b2i(isNew)
		return
	}
	*nNew += flip
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// onLaunch is a cold start of client i at t, unless the app is still
// alive in the background (a hot start, which runs no policy): it closes
// the previous cold start's Launch and runs a new one.
func (s *shard) onLaunch(i int, t time.Duration) {
	c := &s.clients[i]
	h := &s.cfg.Habits
	if t < c.sessionEnd+h.HotStartWindow {
		s.tot.HotStarts++
		if end := t + s.lognormalDur(h.SessionMedian, h.SessionSigma); end > c.sessionEnd {
			c.sessionEnd = end
			s.appExitAt(i)
		}
		return
	}
	s.tot.Launches++
	s.hour(t).Launches++
	if !c.hostUp {
		s.hostStart(i, t)
	}
	s.closeLaunch(i, t)
	c.launch = s.exec.NewLaunch(updater.LaunchInput{
		State: updater.AppState{AppID: s.cfg.Release.AppID, Installed: c.st.Installed, Active: c.st.Active,
			LastUsed: c.st.LastUsed, Bad: c.st.Bad},
		Last: c.doc, ClientID: c.id, Rand: s.float})
	c.launchEpoch++
	c.coldAt, c.waiting, c.blocked = t, true, false
	// The launch waits at most the sync timeout unless it is blocked
	// (which sets its own end).
	c.waitEnd = t + s.cfg.Policy.SyncTimeout
	c.launch.Start(s.at(t), s.runner(i, t))
	if c.launch.Trace().Mode == "async" {
		s.tot.AsyncLaunches++
	} else {
		s.tot.SyncLaunches++
	}
	s.carry(i, t)
}

// closeLaunch feeds Closed to client i's Launch at t: the app left the
// background, the host stopped, the user gave up or a new cold start came.
// A cold start that opened nothing ends its wait there; a download in
// flight carries on.
func (s *shard) closeLaunch(i int, t time.Duration) {
	c := &s.clients[i]
	if c.launch == nil {
		return
	}
	if c.waiting {
		c.waiting = false
		s.waited(t - c.coldAt)
		if c.blocked {
			s.tot.BlockedAbandoned++
		}
	}
	c.launch.Handle(s.at(t), updater.Closed{}, s.runner(i, t)) // asks for nothing
	c.launch = nil
	c.launchEpoch++
	c.dlWanted = false
}

// waited counts the wait of a cold start, from the cold start to its
// open (or until its user gave up).
func (s *shard) waited(wait time.Duration) {
	s.tot.SyncWait += wait
	if wait >= time.Second {
		s.tot.SlowStarts++
	}
}

// feed is an event that the runner of a Launch has at once, after the
// call that brings it (the simulated open, compile and prompt take no
// time): an updater.LaunchEvent kept unboxed.
type feed struct {
	kind    uint8
	flag    bool // Opened.Swap, Answered.Restart
	arg     uint8
	version string
	err     error
}

const (
	feedOpened uint8 = iota
	feedPrepared
	feedAnswered
	feedInstalled
	feedChecked
)

// runner is the shard's updater.Runner: it carries out what client i's
// Launch asks for at t. What takes time (a check, a download, a Sleep,
// the user's patience) it queues as an event that feeds the Launch later;
// what comes back at once it keeps in the shard's feeds, for carry.
type runner struct {
	s *shard
	i int
	t time.Duration
}

var _ updater.Runner = (*runner)(nil)

// runner returns the shard's runner for client i at t, for one Start or
// Handle of its Launch; carry(i, t) follows.
func (s *shard) runner(i int, t time.Duration) *runner {
	s.lr = runner{s: s, i: i, t: t}
	s.feeds = s.feeds[:0]
	return &s.lr
}

// carry feeds client i's Launch the events that came back at once from
// the Start or Handle that just ran at t, and those the Launch's calls
// bring in turn, until nothing more happens at t.
func (s *shard) carry(i int, t time.Duration) {
	c := &s.clients[i]
	for k := 0; k < len(s.feeds) && c.launch != nil; k++ {
		f, now := s.feeds[k], s.at(t)
		switch f.kind {
		case feedOpened:
			c.launch.Handle(now, updater.Opened{Version: f.version, Swap: f.flag}, &s.lr)
		case feedPrepared:
			c.launch.Handle(now, updater.Prepared{Version: f.version}, &s.lr)
		case feedAnswered:
			c.launch.Handle(now, updater.Answered{Version: f.version, Restart: f.flag}, &s.lr)
		case feedInstalled:
			c.launch.Handle(now, updater.Installed{Version: f.version, Err: f.err}, &s.lr)
		default:
			c.launch.Handle(now, updater.Checked{Result: s.checkResult(c, f.arg)}, &s.lr)
		}
	}
}

func (r *runner) feed(f feed) { r.s.feeds = append(r.s.feeds, f) }

// Check runs the check on the simulated network.
func (r *runner) Check(timeout time.Duration, source string) {
	s, c := r.s, &r.s.clients[r.i]
	res, lat := s.check(r.i, r.t, timeout, source)
	if lat == 0 {
		r.feed(feed{kind: feedChecked, arg: s.checkArg(res)})
		return
	}
	s.q.push(event{at: r.t + lat, client: int32(r.i), kind: evChecked, epoch: c.launchEpoch, arg: s.checkArg(res)})
}

// Download starts or joins the client's download of the new version.
func (r *runner) Download(rel *updater.Release, source string) {
	s, c := r.s, &r.s.clients[r.i]
	if v := rel.Version; v != s.m.to.Version {
		// Only the new version is published: nothing else downloads.
		r.feed(feed{kind: feedInstalled, version: v, err: errNotPublished})
		return
	}
	if c.hasNew {
		// Installed already (prefetched): the download ends at once.
		r.feed(feed{kind: feedInstalled, version: s.m.to.Version})
		return
	}
	c.dlWanted, c.dlWantEpoch = true, c.launchEpoch
	s.startJob(r.i, r.t, source)
}

// Open opens version as the cold start; it always succeeds.
func (r *runner) Open(version string, tr updater.Trace) {
	s, c := r.s, &r.s.clients[r.i]
	if c.waiting {
		c.waiting = false
		s.waited(r.t - c.coldAt)
		// Trace.Fallback also explains a preferred local version (P1),
		// which is no failure.
		if tr.Fallback != "" && !slices.Contains(tr.OutcomeRules, "P1") {
			s.tot.Fallbacks++
		}
	}
	s.open(r.i, r.t, version, "launch", tr.Mode)
	r.feed(feed{kind: feedOpened, version: version})
}

// Prepare succeeds at once.
func (r *runner) Prepare(version string) { r.feed(feed{kind: feedPrepared, version: version}) }

// PromptRestart asks the user, who, if still in the app, may accept
// (rules M2, R1).
func (r *runner) PromptRestart(version string) {
	s, c := r.s, &r.s.clients[r.i]
	accept := r.t < c.sessionEnd && s.r.Float64() < s.cfg.Habits.RestartAccept
	r.feed(feed{kind: feedAnswered, version: version, flag: accept})
}

// Restart opens version as a restart.
func (r *runner) Restart(version string) {
	r.s.open(r.i, r.t, version, "restart", "")
	r.feed(feed{kind: feedOpened, version: version, flag: true})
}

// RecordOpen makes version the client's active, just used one.
func (r *runner) RecordOpen(version string, at time.Time) {
	c := &r.s.clients[r.i]
	c.st.Active, c.st.LastUsed = version, at
}

// Blocked starts the user's patience at the first report.
func (r *runner) Blocked(int, string, string) {
	s, c := r.s, &r.s.clients[r.i]
	if !c.blocked {
		c.blocked = true
		s.tot.Blocked++
		c.waitEnd = r.t + s.cfg.Habits.BlockedPatience
		s.q.push(event{at: c.waitEnd, client: int32(r.i), kind: evGiveUp, epoch: c.launchEpoch})
	}
}

// Sleep queues the alarm.
func (r *runner) Sleep(alarm updater.Alarm, after time.Duration) {
	c := &r.s.clients[r.i]
	r.s.q.push(event{at: r.t + after, client: int32(r.i), kind: evAlarm, epoch: c.launchEpoch, seq: uint32(alarm)})
}

// The app's callbacks and the crash-loop records change nothing the
// simulation measures (no simulated launch fails).

// NotifyCheck does nothing.
func (r *runner) NotifyCheck(bool) {}

// NotifyFailed does nothing.
func (r *runner) NotifyFailed(string) {}

// RecordLaunch does nothing.
func (r *runner) RecordLaunch(updater.LaunchRecord) {}

// RolledBack does nothing.
func (r *runner) RolledBack(string, string) {}

// Unavailable does nothing: the simulated server has every client's app,
// so no check says otherwise.
func (r *runner) Unavailable(error) {}
