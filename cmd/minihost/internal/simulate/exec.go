package simulate

import (
	"fmt"
	"time"

	"github.com/minihost/minihost/updater"
)

// The runner of a client's Launch: a cold start, carrying out the
// commands the executor returns and feeding back the events they bring,
// and the sessions they open.

// open starts a session at t on v, opened by a cold start (source
// "launch") or a restart into it. The Launch's RecordOpen makes v the
// active version.
func (s *shard) open(i int, t time.Duration, v, source string, mode updater.Mode) {
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
	if !c.opened {
		c.opened = true
		s.now.opened++
		s.now.openedNew += b2i(isNew)
	} else {
		s.now.openedNew += flip
	}
	if !c.daily {
		c.daily = true
		s.now.daily++
		s.now.dailyNew += b2i(isNew)
	} else {
		s.now.dailyNew += flip
	}
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
	c.waitEnd = t + s.exec.Config().SyncTimeout
	cmds := c.launch.Start(s.at(t))
	if c.launch.Trace().Mode == updater.ModeAsync {
		s.tot.AsyncLaunches++
	} else {
		s.tot.SyncLaunches++
	}
	s.carry(i, t, cmds)
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
	c.launch.Handle(s.at(t), updater.Closed{})
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
// command that brings it (the simulated open, compile and prompt take no
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

// carry carries out cmds, which client i's Launch returned at t, in
// order, then feeds the Launch the events they bring at once, and carries
// out what those return, until nothing more happens at t. What takes time
// (a check, a download, a Sleep, the user's patience) is queued as an
// event that feeds the Launch later.
func (s *shard) carry(i int, t time.Duration, cmds []updater.Command) {
	c := &s.clients[i]
	s.feeds = s.feeds[:0]
	for k := 0; ; k++ {
		// cmds stays valid until the next Handle: exec never calls it.
		for _, cmd := range cmds {
			s.exec1(i, t, cmd)
		}
		if k >= len(s.feeds) || c.launch == nil {
			return
		}
		cmds = s.handle(c, t, s.feeds[k])
	}
}

// handle feeds f to c's Launch at t.
func (s *shard) handle(c *client, t time.Duration, f feed) []updater.Command {
	now := s.at(t)
	switch f.kind {
	case feedOpened:
		return c.launch.Handle(now, updater.Opened{Version: f.version, Swap: f.flag})
	case feedPrepared:
		return c.launch.Handle(now, updater.Prepared{Version: f.version})
	case feedAnswered:
		return c.launch.Handle(now, updater.Answered{Version: f.version, Restart: f.flag})
	case feedInstalled:
		return c.launch.Handle(now, updater.Installed{Version: f.version, Err: f.err})
	default:
		return c.launch.Handle(now, updater.Checked{Result: s.checkResult(c, f.arg)})
	}
}

// exec1 carries out one command of client i's Launch at t.
func (s *shard) exec1(i int, t time.Duration, cmd updater.Command) {
	c := &s.clients[i]
	switch cmd := cmd.(type) {
	case updater.Check:
		res, lat := s.check(i, t, cmd.Timeout, cmd.Source)
		if lat == 0 {
			s.feeds = append(s.feeds, feed{kind: feedChecked, arg: s.checkArg(res)})
			return
		}
		s.q.push(event{at: t + lat, client: int32(i), kind: evChecked, epoch: c.launchEpoch, arg: s.checkArg(res)})
	case updater.Download:
		if v := cmd.Release.Version; v != s.m.to.Version {
			// Only the new version is published: nothing else downloads.
			s.feeds = append(s.feeds, feed{kind: feedInstalled, version: v, err: errNotPublished})
			return
		}
		if c.hasNew {
			// Installed already (prefetched): the download ends at once.
			s.feeds = append(s.feeds, feed{kind: feedInstalled, version: s.m.to.Version})
			return
		}
		c.dlWanted, c.dlWantEpoch = true, c.launchEpoch
		s.startJob(i, t, cmd.Source)
	case updater.Open:
		if c.waiting {
			c.waiting = false
			s.waited(t - c.coldAt)
			// Trace.Fallback also explains a preferred local version
			// (P1), which is no failure.
			if cmd.Trace.Fallback != "" && cmd.Trace.Action != updater.ActionOpenLocalDownloadBackground {
				s.tot.Fallbacks++
			}
		}
		s.open(i, t, cmd.Version, "launch", cmd.Trace.Mode)
		s.feeds = append(s.feeds, feed{kind: feedOpened, version: cmd.Version})
	case updater.Prepare:
		s.feeds = append(s.feeds, feed{kind: feedPrepared, version: cmd.Version})
	case updater.PromptRestart:
		// The user, if still in the app, may accept (rules M2, R1).
		accept := t < c.sessionEnd && s.r.Float64() < s.cfg.Habits.RestartAccept
		s.feeds = append(s.feeds, feed{kind: feedAnswered, version: cmd.Version, flag: accept})
	case updater.Restart:
		s.open(i, t, cmd.Version, "restart", "")
		s.feeds = append(s.feeds, feed{kind: feedOpened, version: cmd.Version, flag: true})
	case updater.RecordOpen:
		c.st.Active, c.st.LastUsed = cmd.Version, cmd.At
	case updater.Blocked:
		if !c.blocked {
			c.blocked = true
			s.tot.Blocked++
			c.waitEnd = t + s.cfg.Habits.BlockedPatience
			s.q.push(event{at: c.waitEnd, client: int32(i), kind: evGiveUp, epoch: c.launchEpoch})
		}
	case updater.Sleep:
		s.q.push(event{at: t + cmd.After, client: int32(i), kind: evAlarm, epoch: c.launchEpoch,
			seq: cmd.Alarm.Seq, arg: uint8(cmd.Alarm.Kind)})
	case updater.NotifyCheck, updater.NotifyFailed, updater.RecordLaunch, updater.RolledBack:
		// The app's callbacks and the crash-loop records change nothing
		// the simulation measures (no simulated launch fails).
	default:
		panic(fmt.Sprintf("simulate: unknown launch command %T", cmd))
	}
}
