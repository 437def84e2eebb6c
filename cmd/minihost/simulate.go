package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/cmd/minihost/internal/simulate"
	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/updater"
)

const simulateSynopsis = `[--clients N] [--hours H] [--seed S] [--periodic D] [--window D]
       [--long-unused D] [--sync-timeout D] [--sweep] [--svg FILE] [--json]

Simulates a fleet of clients after a release, driving the real launch policy
on a simulated clock, and reports how fast the new version reaches users
(active users since the release, daily active users, opens, whole fleet)
and how many checks and downloads the release server sees per hour.
--sweep runs the policy variants of BENCHMARKS.md instead (the flags set the
base). --svg writes the coverage chart; --json prints the result(s) as JSON.
The users' habits are simulate.DefaultHabits (see BENCHMARKS.md).`

func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("simulate", simulateSynopsis,
		"minihost simulate --clients 100000 --hours 72 --svg coverage.svg", stderr)
	clients := fs.Int("clients", simulate.DefaultClients, "number of simulated clients")
	hours := fs.Int("hours", int(simulate.DefaultDuration/time.Hour), "hours simulated after the release")
	seed := fs.Uint64("seed", 1, "random seed (the same seed gives the same result)")
	def := updater.PolicyConfig{}.WithDefaults()
	periodic := fs.Duration("periodic", def.PeriodicInterval, "periodic check interval")
	window := fs.Duration("window", def.RecentWindow, "recent window: apps used within it get periodic checks")
	longUnused := fs.Duration("long-unused", def.LongUnused, "long-unused threshold: a launch after this long unused is sync")
	syncTimeout := fs.Duration("sync-timeout", def.SyncTimeout, "sync launch timeout")
	noPeriodic := fs.Bool("no-periodic", false, "turn the periodic checker off")
	first := fs.Duration("periodic-first", def.PeriodicFirst, "typical wait before the first periodic round after the host starts (jittered ½-1½×)")
	noPush := fs.Bool("no-push", false, "model a server without the push path (a static export): hosts poll at each round")
	pushWait := fs.Duration("push-wait", def.PushWait, "how long a push request is held (the next round on the push path)")
	pushJitter := fs.Duration("push-jitter", def.PushJitter, "a pushed release is prefetched after a random wait below this")
	patchSize := fs.Int64("patch-size", 0, "bytes of a delta patch from the fleet's version to the new one (0: none): each download sends it instead of the package")
	workers := fs.Int("workers", 0, "goroutines sharing the fleet (0: GOMAXPROCS; does not change the result)")
	sweep := fs.Bool("sweep", false, "run the sweep of policy variants")
	svg := fs.String("svg", "", "write the coverage chart (SVG) to `FILE`")
	asJSON := fs.Bool("json", false, "print JSON")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	switch {
	case *clients <= 0:
		return usageError(fs, stderr, fmt.Sprintf("--clients %d is not positive", *clients))
	case *hours <= 0 || *hours > 24*365:
		return usageError(fs, stderr, fmt.Sprintf("--hours %d is outside 1-%d", *hours, 24*365))
	case *workers < 0:
		return usageError(fs, stderr, fmt.Sprintf("--workers %d is negative", *workers))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"periodic", *periodic}, {"window", *window}, {"long-unused", *longUnused}, {"sync-timeout", *syncTimeout},
		{"periodic-first", *first}, {"push-wait", *pushWait}, {"push-jitter", *pushJitter}} {
		if d.v <= 0 {
			return usageError(fs, stderr, fmt.Sprintf("--%s %v is not positive", d.name, d.v))
		}
	}
	cfg := simulate.Config{
		Clients: *clients, Seed: *seed, Duration: time.Duration(*hours) * time.Hour, Workers: *workers,
		Policy: updater.PolicyConfig{PeriodicInterval: *periodic, RecentWindow: *window,
			LongUnused: *longUnused, SyncTimeout: *syncTimeout, PushWait: *pushWait, PushJitter: *pushJitter},
		NoPeriodic: *noPeriodic, NoPush: *noPush, PeriodicFirst: *first, PatchSize: *patchSize,
	}
	if err := cfg.Validate(); err != nil {
		return usageError(fs, stderr, err.Error())
	}

	// Progress goes to stderr, one line per tenth off a terminal, so
	// that --json output stays clean and a long sweep is not silent.
	variants := simulate.DefaultVariants()
	runs, prog := 1, newProgress(stderr)
	if *sweep {
		runs = len(variants)
	}
	run := 0
	cfg.Progress = func(done time.Duration) {
		if done == cfg.Duration/10 {
			run++
			label := "minihost simulate: "
			if runs > 1 {
				label += fmt.Sprintf("variant %d of %d: ", run, runs)
			}
			prog.reset(label)
		}
		prog.update(int64(done), int64(cfg.Duration), fmt.Sprintf("(%s of %s simulated)", simDur(done), simDur(cfg.Duration)))
	}
	var results []simulate.Result
	if *sweep {
		rs, err := simulate.Sweep(ctx, cfg, variants)
		if err != nil {
			return simFailed(ctx, stderr, err)
		}
		results = rs
	} else {
		r, err := simulate.Run(ctx, cfg)
		if err != nil {
			return simFailed(ctx, stderr, err)
		}
		results = []simulate.Result{*r}
	}

	if *svg != "" {
		var buf bytes.Buffer
		if err := results[0].WriteSVG(&buf); err != nil {
			fmt.Fprintf(stderr, "minihost simulate: %v\n", err)
			return 1
		}
		if err := fsutil.WriteFile(afero.NewOsFs(), *svg, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stderr, "minihost simulate: write chart: %v\n", err)
			return 1
		}
	}
	if *asJSON {
		var v any = results
		if !*sweep {
			v = results[0]
		}
		if err := printJSON(stdout, v); err != nil {
			fmt.Fprintf(stderr, "minihost simulate: %v\n", err)
			return 1
		}
		return 0
	}
	if *sweep {
		printSweep(stdout, results)
	} else {
		printSimulation(stdout, &results[0])
	}
	if *svg != "" {
		fmt.Fprintf(stdout, "\nchart written to %s\n", *svg)
	}
	return 0
}

// simHours are the rows of the coverage table.
var simHours = []int{1, 2, 3, 4, 6, 8, 12, 18, 24, 36, 48, 60, 72, 96, 120, 144, 168}

// printSimulation prints one run as a readable report.
func printSimulation(w io.Writer, r *simulate.Result) {
	c, p, t := r.Config, r.Config.Policy, r.Totals
	fmt.Fprintf(w, "minihost simulate: %d clients, %dh after a release, seed %d (%d workers, %s)\n",
		c.Clients, c.Duration/time.Hour, c.Seed, c.Workers, r.Elapsed.Round(time.Millisecond))
	periodic := fmt.Sprintf("periodic %s (first round ~%s after the host starts)", simDur(p.PeriodicInterval), simDur(p.PeriodicFirst))
	switch {
	case c.NoPeriodic:
		periodic = "no periodic checks, no push"
	case c.NoPush:
		periodic += ", no push (a static export)"
	default:
		periodic += fmt.Sprintf(", push (held %s, prefetch within %s)", simDur(p.PushWait), simDur(p.PushJitter))
	}
	fmt.Fprintf(w, "policy: %s, recent window %s, long-unused %s, sync timeout %s\n",
		periodic, simDur(p.RecentWindow), simDur(p.LongUnused), simDur(p.SyncTimeout))
	patch := ""
	if c.PatchSize > 0 {
		patch = fmt.Sprintf(", a %.1f KiB patch from %s", float64(c.PatchSize)/(1<<10), c.Release.From)
	}
	fmt.Fprintf(w, "release: %s -> %s (%.1f MiB%s) published at %s\n\n", c.Release.From, c.Release.To,
		float64(c.PackageSize)/(1<<20), patch, c.Start.Format("2006-01-02 15:04 MST"))

	fmt.Fprintf(w, "share on %s\n", c.Release.To)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "HOUR\tACTIVE USERS\tDAILY ACTIVE\tOPENS IN HOUR\tFLEET\tINSTALLED\tACTIVE USERS (N)\t")
	for _, h := range simHours {
		at := time.Duration(h) * time.Hour
		if at > c.Duration {
			break
		}
		pt := r.At(at)
		opens := "-"
		if hs := r.RequestsPerHour[h-1]; hs.Opens > 0 {
			opens = pct(float64(hs.OpensNew) / float64(hs.Opens))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t\n", h, pct(pt.ActiveShare), pct(pt.DailyShare), opens,
			pct(pt.FleetShare), pct(pt.InstalledShare), pt.Active)
	}
	tw.Flush()

	fmt.Fprintln(w, "\ntime to reach")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  \t50%\t90%\t99%")
	for _, m := range []struct {
		name string
		m    simulate.Milestones
	}{
		{"active users (opened since the release)", simulate.Milestones{T50: r.T50, T90: r.T90, T99: r.T99}},
		{"daily active users (opened in the last 24h)", r.Daily},
		{"opens in the hour", r.Opens},
		{"whole fleet", r.Fleet},
	} {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.name, milestone(m.m.T50), milestone(m.m.T90), milestone(m.m.T99))
	}
	tw.Flush()

	q := r.Requests
	fmt.Fprintln(w, "\nrequests the release server sees per hour")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  \tMEAN\tPEAK\tPEAK HOUR")
	fmt.Fprintf(tw, "  checks (release documents)\t%.0f\t%d\t%d\n", q.ChecksMean, q.ChecksPeak, q.ChecksPeakHour)
	fmt.Fprintf(tw, "  downloads (packages)\t%.0f\t%d\t%d\n", q.DownloadsMean, q.DownloadsPeak, q.DownloadsPeakHour)
	tw.Flush()
	fmt.Fprintf(w, "per client: %.2f checks a day, %.2f downloads in all; busiest hour %.3f requests per client\n",
		q.ChecksPerClientDay, q.DownloadsPerClient, q.PeakRequestsPerClientHour)
	fmt.Fprintf(w, "at 1,000,000 clients: busiest hour %.0f requests/s\n", q.PeakRequestsPerClientHour*1e6/3600)
	if held := slices.MaxFunc(r.Curve, func(a, b simulate.Point) int { return a.Held - b.Held }).Held; held > 0 {
		fmt.Fprintf(w, "push path: up to %d requests held at once (%.2f per client; at 1,000,000 clients %.0fk connections); each answer counts as a periodic check\n",
			held, float64(held)/float64(c.Clients), float64(held)/float64(c.Clients)*1e3)
	}
	fmt.Fprintf(w, "checks: %d launch, %d periodic, %d blocked retries; %d failed, %d timed out, %d not sent (offline)\n",
		t.LaunchChecks, t.PeriodicChecks, t.RetryChecks, t.FailedChecks, t.TimedOutChecks, t.OfflineChecks)
	fmt.Fprintf(w, "downloads: %d attempts, %d failed, %d cut off by the host stopping, %.2f GiB served (%.1f KiB per client); %d installs (%d prefetched by periodic checks)\n",
		t.Downloads, t.FailedDownloads, t.AbortedDownloads, float64(t.DownloadBytes)/(1<<30),
		float64(t.DownloadBytes)/float64(max(c.Clients, 1))/(1<<10), t.Installs, t.Prefetched)
	syncShare := 0.0
	if t.Launches > 0 {
		syncShare = float64(t.SyncLaunches) / float64(t.Launches)
	}
	fmt.Fprintf(w, "launches: %d cold starts (%s sync), %d hot starts; %d waited 1s or more; %d fell back to the local version",
		t.Launches, pct(syncShare), t.HotStarts, t.SlowStarts, t.Fallbacks)
	if t.Blocked > 0 {
		fmt.Fprintf(w, "; %d blocked (%d gave up)", t.Blocked, t.BlockedAbandoned)
	}
	fmt.Fprintf(w, "\nopens of a version the policy forbids: %d\n", t.Violations)
}

// printSweep prints one line per variant.
func printSweep(w io.Writer, rs []simulate.Result) {
	if len(rs) == 0 {
		return
	}
	c := rs[0].Config
	fmt.Fprintf(w, "minihost simulate --sweep: %d clients, %dh after a release, seed %d\n\n", c.Clients, c.Duration/time.Hour, c.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "VARIANT\tACTIVE@24H\tOPENS@24H\tDAILY@48H\tFLEET@24H\tACTIVE T50\tT90\tT99\tOPENS T99\tDAILY T99\tCHECKS/H\tPEAK\tDL PEAK/H\tSYNC\tSLOW STARTS\t")
	for i := range rs {
		r := &rs[i]
		opens := "-"
		if len(r.RequestsPerHour) >= 24 {
			if hs := r.RequestsPerHour[23]; hs.Opens > 0 {
				opens = pct(float64(hs.OpensNew) / float64(hs.Opens))
			}
		}
		sync := 0.0
		if r.Totals.Launches > 0 {
			sync = float64(r.Totals.SyncLaunches) / float64(r.Totals.Launches)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%d\t%d\t%s\t%d\t\n", r.Name,
			pct(r.At(24*time.Hour).ActiveShare), opens, pct(r.At(48*time.Hour).DailyShare), pct(r.At(24*time.Hour).FleetShare),
			milestone(r.T50), milestone(r.T90), milestone(r.T99), milestone(r.Opens.T99), milestone(r.Daily.T99),
			r.Requests.ChecksMean, r.Requests.ChecksPeak, r.Requests.DownloadsPeak, pct(sync), r.Totals.SlowStarts)
	}
	tw.Flush()
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func milestone(d time.Duration) string {
	if d == simulate.NotReached {
		return "not reached"
	}
	return simDur(d)
}

// simDur writes a duration briefly: "7d", "6h", "5h45m", "5s".
func simDur(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d == 0:
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// simFailed reports a simulation that did not finish: an interrupt as
// such (not "context canceled"), anything else as it is.
func simFailed(ctx context.Context, stderr io.Writer, err error) int {
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "minihost simulate: interrupted; nothing printed")
	} else {
		fmt.Fprintf(stderr, "minihost simulate: %v\n", err)
	}
	return 1
}
