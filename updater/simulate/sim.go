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

	version "github.com/hashicorp/go-version"

	"github.com/minihost/minihost/updater"
)

// Errors the simulated network gives the policy.
var (
	errOffline       = errors.New("offline")
	errCheckFailed   = errors.New("check failed (weak network)")
	errDownloadFaild = errors.New("download failed (weak network)")
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
	m := newModel(cfg)

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

// model is what every shard shares, read-only: the configuration and the
// release server's documents.
type model struct {
	cfg        Config
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

func newModel(cfg Config) *model {
	rel := cfg.Release
	m := &model{cfg: cfg}
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
	minV, _ := version.NewSemver(rel.MinVersion)
	for i, v := range []string{rel.From, rel.To} {
		sv, _ := version.NewSemver(v)
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

// Event kinds in the queue.
const (
	evLaunch uint8 = iota
	evHostUp
	evHostDown
	evPeriodic
	evDownload
	evExpire
)

// DailyWindow is the window of Point.DailyShare: a client is a daily
// active user at t when it opened the app within (t-DailyWindow, t].
const DailyWindow = 24 * time.Hour

// event is one entry of a shard's queue: what happens to which client when.
// epoch invalidates events made stale by a later change (the host stopped,
// a download was cancelled).
type event struct {
	at     time.Duration
	client int32
	kind   uint8
	epoch  uint32
}

// queue is a min-heap of events by time. push and pop use heap.Fix on the
// slice directly so that no event is boxed into an interface.
type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	if a.client != b.client {
		return a.client < b.client
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.epoch < b.epoch
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

// job is a client's download in flight (the host joins requests for the
// same version into one download).
type job struct {
	busy, ok, prompt bool
	left             int // attempts left after the current one
	doneAt           time.Duration
	backoff          time.Duration
	source           string
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
	clients []client
	q       queue
	src     clientSource
	r       *rand.Rand
	observe func(Event)

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
	s := &shard{m: m, cfg: &m.cfg, clients: make([]client, count), observe: observe,
		samples: make([]counts, m.samples), hours: make([]HourStats, m.hours),
		q: make(queue, 0, 4*count)}
	s.r = rand.New(&s.src)
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

// jitter spreads d by ±20%, as the host's retry backoff does.
func (s *shard) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*s.r.Float64()))
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
			next := s.firstPeriodic()
			if elapsed >= next {
				d := s.periodicDelay()
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

// firstPeriodic is the delay of the first periodic round after the host
// starts.
func (s *shard) firstPeriodic() time.Duration {
	if s.cfg.PeriodicFirst > 0 {
		return s.cfg.PeriodicFirst
	}
	return s.periodicDelay()
}

func (s *shard) periodicDelay() time.Duration {
	u := s.r.Float64()
	return time.Duration(float64(s.cfg.Policy.PeriodicInterval) * (1 + PeriodicJitter*(2*u-1)))
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
		c := &s.clients[e.client]
		s.use(c)
		switch e.kind {
		case evLaunch:
			s.nextLaunch(int(e.client), e.at)
			s.onLaunch(int(e.client), e.at)
		case evHostUp:
			if e.epoch == c.hostEpoch && !c.hostUp {
				s.hostStart(int(e.client), e.at)
			}
		case evHostDown:
			if e.epoch == c.hostEpoch && c.hostUp {
				s.hostStop(int(e.client), e.at)
			}
		case evPeriodic:
			if e.epoch == c.hostEpoch && c.hostUp {
				s.onPeriodic(int(e.client), e.at)
			}
		case evDownload:
			if e.epoch == c.dlEpoch && c.dl.busy {
				s.onDownload(int(e.client), e.at)
			}
		case evExpire:
			if e.epoch == c.openSeq && c.daily {
				c.daily = false
				s.now.daily--
				s.now.dailyNew -= b2i(c.onNew)
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
		s.q.push(event{at: t + s.firstPeriodic(), client: int32(i), kind: evPeriodic, epoch: c.hostEpoch})
	}
}

func (s *shard) hostStop(i int, t time.Duration) {
	c := &s.clients[i]
	if t < c.sessionEnd {
		// The user is in the app: the host stays up until they leave.
		s.q.push(event{at: c.sessionEnd, client: int32(i), kind: evHostDown, epoch: c.hostEpoch})
		return
	}
	hp := &s.cfg.Habits.Hosts[c.host]
	c.hostUp = false
	c.hostEpoch++
	if c.dl.busy {
		c.dl.busy = false
		c.dlEpoch++
		s.tot.AbortedDownloads++
	}
	s.q.push(event{at: t + s.lognormalDur(hp.DownMedian, hp.Sigma), client: int32(i), kind: evHostUp, epoch: c.hostEpoch})
}

// check is one release-document check: offline it fails at once and the
// server sees nothing; otherwise it takes an RTT and fails with the
// network's probability, or times out after timeout.
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

// attempt is one download attempt of the new version starting at t: how
// long it takes and whether it succeeds.
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

// startJob starts a download of the new version at t with up to attempts
// attempts, or joins the one in flight.
func (s *shard) startJob(i int, t time.Duration, rel *updater.Release, attempts int, prompt bool, source string) {
	c := &s.clients[i]
	if rel == nil || rel.Version != s.m.to.Version || c.hasNew {
		return
	}
	if c.dl.busy {
		c.dl.prompt = c.dl.prompt || prompt
		return
	}
	c.dl = job{busy: true, prompt: prompt, left: attempts, backoff: RetryMin, source: source}
	s.nextAttempt(i, t)
}

func (s *shard) nextAttempt(i int, t time.Duration) {
	c := &s.clients[i]
	d, ok := s.attempt(i, t, c.dl.source)
	c.dl.left--
	c.dl.ok, c.dl.doneAt = ok, t+d
	c.dlEpoch++
	s.q.push(event{at: t + d, client: int32(i), kind: evDownload, epoch: c.dlEpoch})
}

// cancelJob forgets the download in flight (its result was used inline).
func (s *shard) cancelJob(c *client) {
	c.dl.busy = false
	c.dlEpoch++
}

func (s *shard) onDownload(i int, t time.Duration) {
	c := &s.clients[i]
	if c.dl.ok {
		prompt, source := c.dl.prompt, c.dl.source
		s.cancelJob(c)
		s.install(i, t, source)
		if prompt {
			s.promptRestart(i, t, s.m.to.Version)
		}
		return
	}
	if c.dl.left > 0 {
		next := t + s.jitter(c.dl.backoff)
		c.dl.backoff = min(2*c.dl.backoff, RetryMax)
		s.nextAttempt(i, next)
		return
	}
	s.cancelJob(c)
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

// promptRestart: the host asks the user, if still in the app, to restart
// into v (rules M2, R1).
func (s *shard) promptRestart(i int, t time.Duration, v string) {
	c := &s.clients[i]
	if t < c.sessionEnd && s.r.Float64() < s.cfg.Habits.RestartAccept {
		c.st.Pending = false
		s.open(i, t, v, "restart", "")
	}
}

// open makes v the client's active version at t and starts a session.
func (s *shard) open(i int, t time.Duration, v, source string, mode updater.Mode) {
	c := &s.clients[i]
	if v == "" {
		return
	}
	isNew := v == s.m.to.Version
	if c.doc == s.m.after && !s.m.allowedAfter[b2i(isNew)] {
		s.tot.Violations++
	}
	c.st.Active = v
	c.st.LastUsed = s.at(t)
	h := &s.cfg.Habits
	c.sessionEnd = t + s.lognormalDur(h.SessionMedian, h.SessionSigma)
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func applyPending(c *client, out updater.Outcome) {
	if out.SetPending {
		c.st.Pending = true
	} else if out.ClearPending {
		c.st.Pending = false
	}
}

func (s *shard) onLaunch(i int, t time.Duration) {
	c := &s.clients[i]
	h := &s.cfg.Habits
	if t < c.sessionEnd+h.HotStartWindow {
		s.tot.HotStarts++
		c.sessionEnd = max(c.sessionEnd, t+s.lognormalDur(h.SessionMedian, h.SessionSigma))
		return
	}
	s.tot.Launches++
	s.hour(t).Launches++
	if !c.hostUp {
		s.hostStart(i, t)
	}
	plan := updater.Decide(c.st, c.doc, s.cfg.Policy, s.at(t))
	if plan.Mode == updater.ModeAsync {
		s.tot.AsyncLaunches++
	} else {
		s.tot.SyncLaunches++
	}
	if plan.Mode == updater.ModeAsync && plan.LocalOpenable {
		// Open L at once, check in the background (A1).
		s.open(i, t, plan.Local, "launch", plan.Mode)
		res, lat := s.check(i, t, BackgroundTimeout, "launch-async")
		out := updater.DecideAsync(plan, c.st, res)
		applyPending(c, out)
		switch out.Action {
		case updater.ActionDownloadBackground:
			s.startJob(i, t+lat, out.Download, BackgroundAttempts, out.Prompt, "background")
		case updater.ActionSwitchOnRestart:
			s.promptRestart(i, t+lat, out.Switch)
		}
		return
	}
	s.syncLaunch(i, t, plan)
}

// syncLaunch runs a launch that waits for its check: a sync one, or an
// async one with nothing that may open (then DecideAsync defers to the
// sync table), as host.syncLaunch does.
func (s *shard) syncLaunch(i int, t time.Duration, plan updater.Plan) {
	c := &s.clients[i]
	timeout := plan.Timeout
	if timeout <= 0 {
		timeout = s.cfg.Policy.SyncTimeout
	}
	res, lat := s.check(i, t, timeout, "launch-sync")
	var out updater.Outcome
	if plan.Mode == updater.ModeAsync {
		out = updater.DecideAsync(plan, c.st, res)
	} else {
		out = updater.DecideSync(plan, c.st, res)
	}
	applyPending(c, out)
	openAt := t + lat
	switch out.Action {
	case updater.ActionOpenLocal:
		if res.Err != nil {
			s.tot.Fallbacks++
		}
		s.open(i, openAt, out.Open, "launch", plan.Mode)
	case updater.ActionOpenLocalDownloadBackground:
		s.open(i, openAt, out.Open, "launch", plan.Mode)
		s.startJob(i, openAt, out.Download, BackgroundAttempts, false, "background")
	case updater.ActionDownloadThenOpen:
		deadline := t + timeout
		s.startJob(i, openAt, out.Download, BackgroundAttempts, false, "launch-sync")
		switch {
		case !c.dl.busy && c.hasNew:
			// Installed meanwhile: nothing left to download.
			c.st.Pending = false
			s.open(i, openAt, s.m.to.Version, "launch", plan.Mode)
		case !c.dl.busy:
			next := updater.AfterDownloadFailure(out, errDownloadFaild)
			applyPending(c, next)
			s.tot.Fallbacks++
			s.open(i, openAt, next.Open, "launch", plan.Mode)
		case c.dl.doneAt <= deadline && c.dl.ok:
			openAt = max(openAt, c.dl.doneAt)
			s.cancelJob(c)
			s.install(i, openAt, "launch-sync")
			c.st.Pending = false
			s.open(i, openAt, s.m.to.Version, "launch", plan.Mode)
		case c.dl.doneAt <= deadline:
			openAt = max(openAt, c.dl.doneAt)
			s.cancelJob(c)
			next := updater.AfterDownloadFailure(out, errDownloadFaild)
			applyPending(c, next)
			s.tot.Fallbacks++
			s.open(i, openAt, next.Open, "launch", plan.Mode)
		default:
			// Out of time: open L; the download carries on in the
			// background (with the background retries).
			openAt = deadline
			next := updater.AfterDownloadFailure(out, context.DeadlineExceeded)
			applyPending(c, next)
			s.tot.Fallbacks++
			s.open(i, openAt, next.Open, "launch", plan.Mode)
		}
	case updater.ActionBlocked:
		openAt = s.blocked(i, openAt, out)
	}
	wait := openAt - t
	s.tot.SyncWait += wait
	if wait >= time.Second {
		s.tot.SlowStarts++
	}
}

// blocked runs a blocked launch as host.waitBlocked does: download the
// release the policy names (without the sync timeout), or check again,
// with capped backoff, until something may open or the user gives up. It
// returns when the launch ended.
func (s *shard) blocked(i int, t time.Duration, out updater.Outcome) time.Duration {
	c := &s.clients[i]
	s.tot.Blocked++
	giveUp := t + s.cfg.Habits.BlockedPatience
	backoff := RetryMin
	for {
		if out.Download != nil {
			s.startJob(i, t, out.Download, 1, false, "blocked")
			if !c.dl.busy && c.hasNew {
				c.st.Pending = false
				s.open(i, t, s.m.to.Version, "launch", updater.ModeSync)
				return t
			}
		}
		if c.dl.busy {
			if c.dl.doneAt > giveUp {
				break // the download goes on without the user
			}
			t = max(t, c.dl.doneAt)
			if c.dl.ok {
				s.cancelJob(c)
				s.install(i, t, "blocked")
				c.st.Pending = false
				s.open(i, t, s.m.to.Version, "launch", updater.ModeSync)
				return t
			}
			s.cancelJob(c)
		}
		t += s.jitter(backoff)
		backoff = min(2*backoff, RetryMax)
		if t > giveUp {
			break
		}
		res, lat := s.check(i, t, BackgroundTimeout, "blocked")
		t += lat
		plan := updater.Decide(c.st, c.doc, s.cfg.Policy, s.at(t))
		out = updater.DecideSync(plan, c.st, res)
		applyPending(c, out)
		switch out.Action {
		case updater.ActionOpenLocal, updater.ActionOpenLocalDownloadBackground:
			s.open(i, t, out.Open, "launch", updater.ModeSync)
			return t
		case updater.ActionDownloadThenOpen:
			out.Action = updater.ActionBlocked
		}
	}
	s.tot.BlockedAbandoned++
	return giveUp
}

// onPeriodic is one round of the host's periodic checker (rule S3): check
// the app if it was used within the recent window; a newer version sets
// pending and is prefetched (one attempt, as host.CheckNow).
func (s *shard) onPeriodic(i int, t time.Duration) {
	c := &s.clients[i]
	s.q.push(event{at: t + s.periodicDelay(), client: int32(i), kind: evPeriodic, epoch: c.hostEpoch})
	if !updater.DuePeriodicCheck(c.st, s.cfg.Policy, s.at(t)) {
		return
	}
	res, lat := s.check(i, t, BackgroundTimeout, "periodic")
	out := updater.DecidePeriodic(c.st, res)
	applyPending(c, out)
	if out.Download != nil {
		s.startJob(i, t+lat, out.Download, 1, false, "periodic")
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
