package simulate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/minihost/minihost/updater"
)

// The simulated fleet: a client's state, and the shard that runs a slice
// of the clients through its event queue (habits, hosts starting and
// stopping, the curve's samples).

// job is a client's download in flight: one attempt of the new version's
// download and install. Whoever asks for it meanwhile joins it; retries
// are the Launch's (Sleep, then Download again).
type job struct {
	busy, ok bool
	source   string
}

// client is one simulated installation of the app.
type client struct {
	pcg   rand.PCG
	st    updater.LocalState
	doc   *updater.Document // last verified release document
	id    string
	index int

	rate       float64 // candidate cold starts per ns (thinned by the diurnal weight)
	host, net  uint8
	offFrom    time.Duration
	offTo      time.Duration
	sessionEnd time.Duration

	hostUp    bool
	holding   bool // a push request is held for the app
	hostEpoch uint32
	dlEpoch   uint32
	dl        job

	// launch runs the current cold start and the update work after it
	// while the app lives: until the app leaves the background
	// (Habits.HotStartWindow after the session), the host stops, the user
	// gives up on a blocked launch or the next cold start comes; then it
	// is closed (nil). launchEpoch changes with each cold start and each
	// close: older launch events are stale.
	launch      *updater.Launch
	launchEpoch uint32
	coldAt      time.Duration // the current cold start's time
	// waiting: the cold start has opened nothing yet and its user waits,
	// in the foreground, until waitEnd at most (then it has opened, or
	// the user gave up).
	waiting bool
	blocked bool // the current Launch reported Blocked
	waitEnd time.Duration
	// dlWanted: the Launch of dlWantEpoch waits for the download in
	// flight (it asked for it).
	dlWanted    bool
	dlWantEpoch uint32

	opened, onNew, hasNew, daily bool
	openSeq                      uint32
}

func (c *client) offline(t time.Duration) bool { return t >= c.offFrom && t < c.offTo }

// counts are the curve's counters at one moment.
type counts struct {
	opened, openedNew, fleetNew, installed, daily, dailyNew int
	held                                                    int // push requests held
}

// shard simulates a slice of the fleet (clients w, w+n, w+2n...) with its
// own event queue. Only its goroutine touches it.
type shard struct {
	m       *model
	cfg     *Config
	exec    *updater.Executor
	clients []client
	q       queue
	src     clientSource
	r       *rand.Rand
	float   func() float64 // s.r.Float64, the Launches' jitter
	observe func(Event)
	// progress is Config.Progress on the first shard, nil on the others;
	// tenths counts its calls.
	progress func(time.Duration)
	tenths   int
	feeds    []feed // events a Launch gets at once (see carry)
	lr       runner // the runner of the Launch being handled (see runner)

	now     counts
	samples []counts
	next    int // next sample index
	hours   []HourStats
	tot     Totals
}

// clientSource is the shard's rand.Source: it draws from the stream of
// the client being simulated, so a client's draws do not depend on the
// other clients of its shard.
type clientSource struct{ c *client }

func (s *clientSource) Uint64() uint64 { return s.c.pcg.Uint64() }

func newShard(m *model, w, n int, observe func(Event)) *shard {
	count := (m.cfg.Clients - w + n - 1) / n
	s := &shard{m: m, cfg: &m.cfg, exec: m.exec, clients: make([]client, count), observe: observe,
		samples: make([]counts, m.samples), hours: make([]HourStats, m.hours),
		q: make(queue, 0, 4*count)}
	s.r = rand.New(&s.src)
	s.float = s.r.Float64
	installed := make([]updater.InstalledVersion, 2*count)
	for i := range s.clients {
		c := &s.clients[i]
		c.index = w + i*n
		c.pcg.Seed(splitmix(m.cfg.Seed^0x9e3779b97f4a7c15), splitmix(uint64(c.index)+m.cfg.Seed*0xbf58476d1ce4e5b9))
		c.st.Installed = installed[2*i : 2*i+1 : 2*i+2]
		c.st.Installed[0] = updater.InstalledVersion{Version: m.cfg.Release.From, Verified: true}
		c.st.Active = m.cfg.Release.From
		c.doc = m.before
		c.id = "client-" + strconv.Itoa(c.index)
	}
	return s
}

// splitmix is SplitMix64's finalizer: it spreads nearby seeds apart.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (s *shard) use(c *client) { s.src.c = c }

func (s *shard) lognormal(median float64, sigma float64) float64 {
	return median * math.Exp(sigma*s.r.NormFloat64())
}

// lognormalDur is a lognormal duration, capped at 100 years so that a
// wild draw cannot overflow.
func (s *shard) lognormalDur(median time.Duration, sigma float64) time.Duration {
	return dur(s.lognormal(float64(median), sigma))
}

func dur(f float64) time.Duration {
	const limit = float64(100 * 365 * 24 * time.Hour)
	return time.Duration(min(max(f, 0), limit))
}

func (s *shard) hour(t time.Duration) *HourStats {
	i := int(t / time.Hour)
	return &s.hours[min(max(i, 0), len(s.hours)-1)]
}

func (s *shard) at(t time.Duration) time.Time { return s.cfg.Start.Add(t) }

// init draws client i's habits and its state at t0, and queues its first
// events.
func (s *shard) init(i int) {
	c := &s.clients[i]
	s.use(c)
	h := &s.cfg.Habits
	seg := h.Segments[pick(s.m.segCum, s.r.Float64())]
	c.host = uint8(pick(s.m.hostCum, s.r.Float64()))
	c.net = uint8(pick(s.m.netCum, s.r.Float64()))
	perDay := seg.StartsPerDay * math.Exp(seg.Sigma*s.r.NormFloat64())
	c.rate = perDay / float64(24*time.Hour) * s.m.diurnalMax

	// Time since the last use: for a Poisson process of rate perDay, the
	// time back to the last event is exponential with that rate.
	// A client that never starts the app was last used a month ago.
	age := 30 * 24 * time.Hour
	if perDay > 0 {
		age = dur(s.r.ExpFloat64() / perDay * float64(24*time.Hour))
	}
	c.st.LastUsed = s.at(-age)
	c.sessionEnd = math.MinInt64 / 2

	if s.r.Float64() < h.OfflineShare {
		c.offFrom = -24*time.Hour + time.Duration(s.r.Float64()*float64(s.cfg.Duration+24*time.Hour))
		c.offTo = c.offFrom + s.lognormalDur(h.OfflineMedian, h.OfflineSigma)
	}

	// The host's state at t0: up with the share of time it is up; an up
	// period is caught part way through, and the periodic checker, started
	// with the host, is part way through its interval.
	hp := &h.Hosts[c.host]
	up, down := s.m.hostUpMean[c.host], s.m.hostDownMean[c.host]
	if s.r.Float64() < up/(up+down) {
		length := s.lognormalDur(hp.UpMedian, hp.Sigma)
		elapsed := time.Duration(s.r.Float64() * float64(length))
		c.hostUp = true
		c.hostEpoch++
		s.q.push(event{at: length - elapsed, client: int32(i), kind: evHostDown, epoch: c.hostEpoch})
		switch {
		case s.push() && s.exec.PeriodicDue(c.st, s.at(0)):
			// Up since before the release and holding a push request:
			// the release answers it, and the host prefetches after
			// the executor's jitter.
			s.hold(c)
			s.q.push(event{at: s.exec.PushDelay(s.r.Float64()), client: int32(i), kind: evPeriodic, epoch: c.hostEpoch})
		case !s.cfg.NoPeriodic:
			next := s.exec.PeriodicDelay(true, s.r.Float64())
			if elapsed >= next {
				d := s.exec.PeriodicDelay(false, s.r.Float64())
				next = d - (elapsed-next)%d
			} else {
				next -= elapsed
			}
			s.q.push(event{at: next, client: int32(i), kind: evPeriodic, epoch: c.hostEpoch})
		}
	} else {
		rest := dur(s.r.Float64() * s.lognormal(float64(hp.DownMedian), hp.Sigma))
		s.q.push(event{at: rest, client: int32(i), kind: evHostUp, epoch: c.hostEpoch})
	}
	s.nextLaunch(i, 0)
}

// nextLaunch queues client i's next cold start after t: a Poisson process
// of rate c.rate thinned by the diurnal weight of the local hour.
func (s *shard) nextLaunch(i int, t time.Duration) {
	c := &s.clients[i]
	if c.rate <= 0 {
		return
	}
	for {
		dt := s.r.ExpFloat64() / c.rate
		if float64(t)+dt > float64(s.cfg.Duration) {
			return
		}
		t += time.Duration(dt)
		hod := int(((s.m.startOfDay + t) / time.Hour) % 24)
		if s.r.Float64()*s.m.diurnalMax < s.m.diurnal[hod] {
			s.q.push(event{at: t, client: int32(i), kind: evLaunch})
			return
		}
	}
}

func (s *shard) run(ctx context.Context) error {
	for i := range s.clients {
		s.init(i)
	}
	for n := 0; len(s.q) > 0; n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("simulate: %w", err)
			}
		}
		e := s.q.pop()
		if e.at > s.cfg.Duration {
			break
		}
		s.sampleUpTo(e.at)
		i := int(e.client)
		c := &s.clients[i]
		s.use(c)
		switch e.kind {
		case evLaunch:
			s.nextLaunch(i, e.at)
			s.onLaunch(i, e.at)
		case evHostUp:
			if e.epoch == c.hostEpoch && !c.hostUp {
				s.hostStart(i, e.at)
			}
		case evHostDown:
			if e.epoch == c.hostEpoch && c.hostUp {
				s.hostStop(i, e.at)
			}
		case evPeriodic:
			if e.epoch == c.hostEpoch && c.hostUp {
				s.onPeriodic(i, e.at)
			}
		case evPeriodicDone:
			if e.epoch == c.hostEpoch && c.hostUp {
				s.afterPeriodic(i, e.at, s.checkResult(c, e.arg))
			}
		case evDownload:
			if e.epoch == c.dlEpoch && c.dl.busy {
				s.onDownload(i, e.at)
			}
		case evExpire:
			if e.epoch == c.openSeq && c.daily {
				c.daily = false
				s.now.daily--
				s.now.dailyNew -= b2i(c.onNew)
			}
		case evChecked:
			if e.epoch == c.launchEpoch && c.launch != nil {
				c.launch.Handle(s.at(e.at), updater.Checked{Result: s.checkResult(c, e.arg)}, s.runner(i, e.at))
				s.carry(i, e.at)
			}
		case evAlarm:
			if e.epoch == c.launchEpoch && c.launch != nil {
				c.launch.Handle(s.at(e.at), updater.AlarmFired{Alarm: updater.Alarm(e.seq)}, s.runner(i, e.at))
				s.carry(i, e.at)
			}
		case evGiveUp:
			if e.epoch == c.launchEpoch && c.launch != nil && c.waiting {
				s.closeLaunch(i, e.at)
			}
		case evAppExit:
			if e.epoch == c.launchEpoch && c.launch != nil && !c.waiting && e.at >= c.sessionEnd+s.cfg.Habits.HotStartWindow {
				s.closeLaunch(i, e.at)
			}
		}
	}
	s.sampleUpTo(s.cfg.Duration + 1)
	return nil
}

// sampleUpTo records the curve points due before t.
func (s *shard) sampleUpTo(t time.Duration) {
	for s.next < len(s.samples) && time.Duration(s.next)*s.cfg.Step < t {
		s.samples[s.next] = s.now
		s.next++
	}
	for s.progress != nil && s.tenths < 10 && time.Duration(s.tenths+1)*s.cfg.Duration/10 < t {
		s.tenths++
		s.progress(time.Duration(s.tenths) * s.cfg.Duration / 10)
	}
}

func (s *shard) hostStart(i int, t time.Duration) {
	c := &s.clients[i]
	hp := &s.cfg.Habits.Hosts[c.host]
	c.hostUp = true
	c.hostEpoch++
	s.q.push(event{at: t + s.lognormalDur(hp.UpMedian, hp.Sigma), client: int32(i), kind: evHostDown, epoch: c.hostEpoch})
	if !s.cfg.NoPeriodic {
		s.q.push(event{at: t + s.exec.PeriodicDelay(true, s.r.Float64()), client: int32(i), kind: evPeriodic, epoch: c.hostEpoch})
	}
}

// hostStop stops client i's host at t, unless its user is in the app or
// waits for a cold start to open: it closes the app's Launch and aborts
// the download in flight.
func (s *shard) hostStop(i int, t time.Duration) {
	c := &s.clients[i]
	if t < c.sessionEnd || (c.waiting && t <= c.waitEnd) {
		// The user is in the app: the host stays up until they leave.
		until := c.sessionEnd
		if c.waiting {
			until = max(until, c.waitEnd+1)
		}
		s.q.push(event{at: until, client: int32(i), kind: evHostDown, epoch: c.hostEpoch})
		return
	}
	hp := &s.cfg.Habits.Hosts[c.host]
	c.hostUp = false
	c.hostEpoch++
	s.unhold(c)
	s.closeLaunch(i, t)
	if c.dl.busy {
		c.dl.busy = false
		c.dlEpoch++
		s.tot.AbortedDownloads++
	}
	s.q.push(event{at: t + s.lognormalDur(hp.DownMedian, hp.Sigma), client: int32(i), kind: evHostUp, epoch: c.hostEpoch})
}

// push tells whether hosts hold push requests (the push path).
func (s *shard) push() bool {
	return !s.cfg.NoPeriodic && !s.cfg.NoPush && s.cfg.Policy.PushWait > 0
}

// hold and unhold track the push requests client c's host holds.
func (s *shard) hold(c *client) {
	if !c.holding {
		c.holding = true
		s.now.held++
	}
}

func (s *shard) unhold(c *client) {
	if c.holding {
		c.holding = false
		s.now.held--
	}
}

func (s *shard) emit(e Event) {
	if s.observe != nil {
		s.observe(e)
	}
}
