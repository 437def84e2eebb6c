package simulate

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
)

// Errors the simulated network gives the policy.
var (
	errOffline        = errors.New("offline")
	errCheckFailed    = errors.New("check failed (weak network)")
	errDownloadFailed = errors.New("download failed (weak network)")
	errNotPublished   = errors.New("no such version on the release server")
)

// Run simulates cfg and returns what it measured. It blocks until the run
// ends or ctx is done (then it returns ctx's error); it uses cfg.Workers
// goroutines and returns after all of them stopped. Run is safe to call
// from several goroutines at once.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	began := time.Now()
	exec, err := updater.NewExecutor(cfg.Policy)
	if err != nil {
		return nil, fmt.Errorf("simulate config: Policy: %w", err)
	}
	m := newModel(cfg, exec)

	workers := min(cfg.Workers, max(cfg.Clients, 1))
	shards := make([]*shard, workers)
	var observe func(Event)
	if cfg.Observe != nil {
		var mu sync.Mutex
		observe = func(e Event) {
			mu.Lock()
			defer mu.Unlock()
			cfg.Observe(e)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		shards[w] = newShard(m, w, workers, observe)
		wg.Go(func() { errs[w] = shards[w].run(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r := merge(cfg, m, shards)
	r.Elapsed = time.Since(began)
	return r, nil
}

// model is what every shard shares, read-only: the configuration, the
// launch executor every client runs and the release server's documents.
type model struct {
	cfg        Config
	exec       *updater.Executor
	before     *updater.Document // sequence 1: From is the latest
	after      *updater.Document // sequence 2, from t0: To is published
	to         *updater.Release
	diurnal    [24]float64 // normalized to mean 1
	diurnalMax float64
	startOfDay time.Duration // Start's time since local midnight
	samples    int           // curve points
	hours      int           // hourly buckets
	// allowedAfter[i]: may version i (0 From, 1 To) open by the after
	// document? Computed here independently of the updater package, to
	// count Violations.
	allowedAfter [2]bool
	segCum       []float64
	hostCum      []float64
	netCum       []float64
	hostUpMean   []float64 // mean up and down lengths, for the initial state
	hostDownMean []float64
}

func newModel(cfg Config, exec *updater.Executor) *model {
	rel := cfg.Release
	m := &model{cfg: cfg, exec: exec}
	issued := cfg.Start.Add(-time.Hour)
	m.before = &updater.Document{AppID: rel.AppID, Sequence: 1, RolloutPercent: 100,
		Latest:   release(rel.AppID, rel.From, cfg.PackageSize),
		IssuedAt: issued, ExpiresAt: issued.Add(updater.DefaultDocumentLifetime)}
	m.to = release(rel.AppID, rel.To, cfg.PackageSize)
	m.after = &updater.Document{AppID: rel.AppID, Sequence: 2, RolloutPercent: rel.RolloutPercent,
		Latest: m.to, MinVersion: rel.MinVersion, PreferLocal: rel.PreferLocal,
		IssuedAt: cfg.Start, ExpiresAt: cfg.Start.Add(updater.DefaultDocumentLifetime)}
	if rel.RolloutPercent < 100 {
		m.after.Stable = m.before.Latest
	}
	if rel.RevokeFrom {
		m.after.Revoked = []string{rel.From}
	}
	minV, _ := mpk.ParseVersion(rel.MinVersion)
	for i, v := range []string{rel.From, rel.To} {
		sv, _ := mpk.ParseVersion(v)
		m.allowedAfter[i] = !(rel.RevokeFrom && v == rel.From) && (minV == nil || !sv.LessThan(minV))
	}

	h := cfg.Habits
	sum := 0.0
	for _, w := range h.Diurnal {
		sum += w
	}
	for i, w := range h.Diurnal {
		m.diurnal[i] = w / (sum / 24)
		m.diurnalMax = max(m.diurnalMax, m.diurnal[i])
	}
	_, off := cfg.Start.Zone()
	m.startOfDay = time.Duration(((cfg.Start.Unix()+int64(off))%86400+86400)%86400)*time.Second + time.Duration(cfg.Start.Nanosecond())
	m.samples = int(cfg.Duration/cfg.Step) + 1
	m.hours = int((cfg.Duration + time.Hour - 1) / time.Hour)
	m.hours = max(m.hours, 1)
	cum := func(n int, share func(int) float64) []float64 {
		out, acc := make([]float64, n), 0.0
		for i := range n {
			acc += share(i)
			out[i] = acc
		}
		return out
	}
	m.segCum = cum(len(h.Segments), func(i int) float64 { return h.Segments[i].Share })
	m.hostCum = cum(len(h.Hosts), func(i int) float64 { return h.Hosts[i].Share })
	m.netCum = cum(len(h.Networks), func(i int) float64 { return h.Networks[i].Share })
	for _, p := range h.Hosts {
		f := math.Exp(p.Sigma * p.Sigma / 2) // lognormal mean / median
		m.hostUpMean = append(m.hostUpMean, float64(p.UpMedian)*f)
		m.hostDownMean = append(m.hostDownMean, float64(p.DownMedian)*f)
	}
	return m
}

// release makes a plausible Release (the policy reads only Version).
func release(appID, v string, size int64) *updater.Release {
	return &updater.Release{Version: v, Size: size,
		SHA256: fmt.Sprintf("%064x", 0), Path: "apps/" + appID + "/packages/" + v + ".mpk"}
}

// document returns the release document the server serves at t.
func (m *model) document(t time.Duration) *updater.Document {
	if t < 0 {
		return m.before
	}
	return m.after
}

// pick returns the index whose cumulative share first exceeds u.
func pick(cum []float64, u float64) int {
	for i, c := range cum {
		if u < c {
			return i
		}
	}
	return len(cum) - 1
}

// Event kinds in the queue. At the same time, one client's events run in
// this order: a check's or a download's result counts before an alarm of
// the same moment.
const (
	evLaunch uint8 = iota
	evHostUp
	evHostDown
	evPeriodic
	evDownload
	evExpire
	evPeriodicDone // a periodic check's result arrives
	evChecked      // a launch check's result arrives (feeds Checked)
	evAlarm        // a Launch's Sleep ends (feeds AlarmFired)
	evGiveUp       // the user of a blocked launch gives up (feeds Closed)
	evAppExit      // the app may be gone from the background (feeds Closed)
)

// DailyWindow is the window of Point.DailyShare: a client is a daily
// active user at t when it opened the app within (t-DailyWindow, t].
const DailyWindow = 24 * time.Hour

// event is one entry of a shard's queue: what happens to which client when.
// epoch invalidates events made stale by a later change (the host stopped,
// a download ended, the cold start was closed). seq and arg carry an
// alarm's sequence and kind, or a check's result (see checkArg).
type event struct {
	at     time.Duration
	client int32
	epoch  uint32
	seq    uint32
	kind   uint8
	arg    uint8
}

// queue is a min-heap of events by time. push and pop use heap.Fix on the
// slice directly so that no event is boxed into an interface.
type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	a, b := &q[i], &q[j]
	switch {
	case a.at != b.at:
		return a.at < b.at
	case a.client != b.client:
		return a.client < b.client
	case a.kind != b.kind:
		return a.kind < b.kind
	case a.epoch != b.epoch:
		return a.epoch < b.epoch
	case a.seq != b.seq:
		return a.seq < b.seq
	}
	return a.arg < b.arg
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

func (q *queue) push(e event) {
	*q = append(*q, e)
	heap.Fix(q, len(*q)-1)
}

func (q *queue) pop() event {
	old := *q
	e := old[0]
	n := len(old) - 1
	old[0] = old[n]
	*q = old[:n]
	if n > 0 {
		heap.Fix(q, 0)
	}
	return e
}

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
	feeds   []feed // events a Launch gets at once (see carry)

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
		if !s.cfg.NoPeriodic {
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
				s.carry(i, e.at, c.launch.Handle(s.at(e.at), updater.Checked{Result: s.checkResult(c, e.arg)}))
			}
		case evAlarm:
			if e.epoch == c.launchEpoch && c.launch != nil {
				a := updater.Alarm{Kind: updater.AlarmKind(e.arg), Seq: e.seq}
				s.carry(i, e.at, c.launch.Handle(s.at(e.at), updater.AlarmFired{Alarm: a}))
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
	s.closeLaunch(i, t)
	if c.dl.busy {
		c.dl.busy = false
		c.dlEpoch++
		s.tot.AbortedDownloads++
	}
	s.q.push(event{at: t + s.lognormalDur(hp.DownMedian, hp.Sigma), client: int32(i), kind: evHostUp, epoch: c.hostEpoch})
}

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
	bw := s.lognormal(np.BandwidthMedian, np.BandwidthSigma)
	d := s.lognormal(float64(np.RTTMedian), np.RTTSigma) + size*8/bw*float64(time.Second)
	ok, got := true, size
	if s.r.Float64() < np.DownloadFail {
		f := s.r.Float64()
		ok, d, got = false, d*f, size*f
	}
	if limit := float64(s.exec.Config().BackgroundTimeout); d > limit {
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
		s.carry(i, t, c.launch.Handle(s.at(t), updater.Installed{Version: s.m.to.Version, Err: err}))
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

// onPeriodic is one round of the host's periodic checker (rule S3): the
// app is checked if the executor says it is due; the result arrives
// after the check's latency.
func (s *shard) onPeriodic(i int, t time.Duration) {
	c := &s.clients[i]
	s.q.push(event{at: t + s.exec.PeriodicDelay(false, s.r.Float64()), client: int32(i), kind: evPeriodic, epoch: c.hostEpoch})
	if !s.exec.PeriodicDue(c.st, s.at(t)) {
		return
	}
	res, lat := s.check(i, t, s.exec.Config().BackgroundTimeout, "periodic")
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
	out := s.exec.AfterPeriodicCheck(c.st, res)
	if out.Download != nil && out.Download.Version == s.m.to.Version {
		s.startJob(i, t, "periodic")
	}
}

func (s *shard) emit(e Event) {
	if s.observe != nil {
		s.observe(e)
	}
}

// merge sums the shards into a Result.
func merge(cfg Config, m *model, shards []*shard) *Result {
	r := &Result{Config: cfg, RequestsPerHour: make([]HourStats, m.hours), Curve: make([]Point, m.samples)}
	r.Config.Observe = nil
	for k := range r.Curve {
		var sum counts
		for _, s := range shards {
			c := s.samples[k]
			sum.opened += c.opened
			sum.openedNew += c.openedNew
			sum.fleetNew += c.fleetNew
			sum.installed += c.installed
			sum.daily += c.daily
			sum.dailyNew += c.dailyNew
		}
		p := Point{T: time.Duration(k) * cfg.Step, Active: sum.opened, Daily: sum.daily}
		if sum.opened > 0 {
			p.ActiveShare = float64(sum.openedNew) / float64(sum.opened)
		}
		if sum.daily > 0 {
			p.DailyShare = float64(sum.dailyNew) / float64(sum.daily)
		}
		if cfg.Clients > 0 {
			p.FleetShare = float64(sum.fleetNew) / float64(cfg.Clients)
			p.InstalledShare = float64(sum.installed) / float64(cfg.Clients)
		}
		r.Curve[k] = p
	}
	for _, s := range shards {
		for h := range r.RequestsPerHour {
			a, b := &r.RequestsPerHour[h], s.hours[h]
			a.Checks += b.Checks
			a.Downloads += b.Downloads
			a.DownloadBytes += b.DownloadBytes
			a.Launches += b.Launches
			a.Opens += b.Opens
			a.OpensNew += b.OpensNew
		}
		r.Totals.add(s.tot)
	}
	r.finish()
	return r
}

func (t *Totals) add(o Totals) {
	t.Launches += o.Launches
	t.HotStarts += o.HotStarts
	t.SyncLaunches += o.SyncLaunches
	t.AsyncLaunches += o.AsyncLaunches
	t.SyncWait += o.SyncWait
	t.SlowStarts += o.SlowStarts
	t.Fallbacks += o.Fallbacks
	t.Blocked += o.Blocked
	t.BlockedAbandoned += o.BlockedAbandoned
	t.Checks += o.Checks
	t.LaunchChecks += o.LaunchChecks
	t.PeriodicChecks += o.PeriodicChecks
	t.RetryChecks += o.RetryChecks
	t.FailedChecks += o.FailedChecks
	t.TimedOutChecks += o.TimedOutChecks
	t.OfflineChecks += o.OfflineChecks
	t.Downloads += o.Downloads
	t.FailedDownloads += o.FailedDownloads
	t.AbortedDownloads += o.AbortedDownloads
	t.DownloadBytes += o.DownloadBytes
	t.Installs += o.Installs
	t.Prefetched += o.Prefetched
	t.Opens += o.Opens
	t.OpensNew += o.OpensNew
	t.Violations += o.Violations
}
