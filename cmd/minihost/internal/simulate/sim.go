package simulate

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
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
		if w == 0 {
			shards[w].progress = cfg.Progress
		}
		wg.Go(func() { errs[w] = shards[w].run(ctx) })
	}
	wg.Wait()
	// Every shard fails alike (an interrupt): report it once.
	if err := cmp.Or(errs...); err != nil {
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
	if cfg.PatchSize > 0 {
		m.to.Patches = []updater.Patch{{From: rel.From, Size: cfg.PatchSize, SHA256: fmt.Sprintf("%064x", 0),
			Path: "apps/" + rel.AppID + "/patches/" + rel.To + "/" + rel.From + ".mpd"}}
	}
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

// DailyWindow is the window of Point.DailyShare: a client is a daily
// active user at t when it opened the app within (t-DailyWindow, t].
const DailyWindow = 24 * time.Hour

// merge sums the shards into a Result.
func merge(cfg Config, m *model, shards []*shard) *Result {
	r := &Result{Config: cfg, RequestsPerHour: make([]HourStats, m.hours), Curve: make([]Point, m.samples)}
	r.Config.Observe, r.Config.Progress = nil, nil
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
			sum.held += c.held
		}
		p := Point{T: time.Duration(k) * cfg.Step, Active: sum.opened, Daily: sum.daily, Held: sum.held}
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
