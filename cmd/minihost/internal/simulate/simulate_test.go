package simulate

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
)

const testClients = 2000

// trace replays a run's events per client, independently of the
// simulator's own counters.
type trace struct {
	checksSent, downloadsSent int
	perClientChecks           map[int]int
	installed                 map[int]bool // client has To
	knowsNew                  map[int]bool // client verified the t0 document
	lastOpen                  map[int]string
	problems                  []string
}

func newTrace() *trace {
	return &trace{perClientChecks: map[int]int{}, installed: map[int]bool{}, knowsNew: map[int]bool{}, lastOpen: map[int]string{}}
}

func (tr *trace) fail(args ...any) {
	if len(tr.problems) < 10 {
		tr.problems = append(tr.problems, strings.TrimSpace(fmt.Sprintln(args...)))
	}
}

// observe checks each event against what the client may do: a check or
// download made offline is not sent; an open is of an installed version
// (From, or To after its install); once a client verified the t0 document,
// it never opens a version that document forbids.
func (tr *trace) observe(cfg Config, forbidFrom bool) func(Event) {
	return func(e Event) {
		switch e.Kind {
		case EventCheck:
			if e.Sent {
				tr.checksSent++
				tr.perClientChecks[e.Client]++
			} else if e.OK {
				tr.fail("check not sent but ok: client", e.Client, e.T)
			}
			if e.OK && e.Sequence == 2 {
				tr.knowsNew[e.Client] = true
			}
		case EventDownload:
			if e.Sent {
				tr.downloadsSent++
			}
		case EventInstall:
			if e.Version != cfg.Release.To {
				tr.fail("installed unexpected version "+e.Version+": client", e.Client)
			}
			tr.installed[e.Client] = true
		case EventOpen:
			tr.lastOpen[e.Client] = e.Version
			switch e.Version {
			case cfg.Release.From:
				if forbidFrom && tr.knowsNew[e.Client] {
					tr.fail("opened forbidden "+e.Version+" after verifying the new document: client", e.Client, e.T)
				}
			case cfg.Release.To:
				if !tr.installed[e.Client] {
					tr.fail("opened "+e.Version+" before installing it: client", e.Client, e.T)
				}
			default:
				tr.fail("opened unknown version "+e.Version+": client", e.Client)
			}
		}
	}
}

func TestSimulateInvariants(t *testing.T) {
	weak := DefaultHabits()
	weak.Networks = []NetworkProfile{{Name: "awful", Share: 1, RTTMedian: 3 * time.Second, RTTSigma: 1,
		BandwidthMedian: 300e3, BandwidthSigma: 1, CheckFail: 0.3, DownloadFail: 0.3}}
	weak.OfflineShare = 0.5
	tests := []struct {
		name       string
		cfg        Config
		forbidFrom bool // the t0 document forbids From
		maxFleet   float64
	}{
		{name: "defaults", cfg: Config{}},
		{name: "weak networks and offline", cfg: Config{Habits: weak}},
		{name: "minimum version is the new one", cfg: Config{Release: Release{MinVersion: DefaultTo}}, forbidFrom: true},
		{name: "old version revoked", cfg: Config{Release: Release{RevokeFrom: true}}, forbidFrom: true},
		{name: "revoked, weak networks", cfg: Config{Habits: weak, Release: Release{RevokeFrom: true}}, forbidFrom: true},
		{name: "prefer local", cfg: Config{Release: Release{PreferLocal: DefaultFrom}}},
		{name: "rollout 30%", cfg: Config{Release: Release{RolloutPercent: 30}}, maxFleet: 0.30},
		{name: "short periods", cfg: Config{Policy: updater.PolicyConfig{PeriodicInterval: time.Hour, LongUnused: time.Hour, RecentWindow: 2 * time.Hour, SyncTimeout: time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Clients, cfg.Seed, cfg.Duration = testClients, 7, 48*time.Hour
			cfg = cfg.WithDefaults()
			tr := newTrace()
			cfg.Observe = tr.observe(cfg, tt.forbidFrom)
			r, err := Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tr.problems {
				t.Error(p)
			}
			if r.Totals.Violations != 0 {
				t.Errorf("Violations = %d, want 0", r.Totals.Violations)
			}
			if want := int(cfg.Duration/cfg.Step) + 1; len(r.Curve) != want {
				t.Fatalf("curve has %d points, want %d", len(r.Curve), want)
			}
			prev := Point{}
			for i, p := range r.Curve {
				if p.T != time.Duration(i)*cfg.Step {
					t.Fatalf("point %d at %v, want %v", i, p.T, time.Duration(i)*cfg.Step)
				}
				if p.FleetShare < prev.FleetShare {
					t.Errorf("fleet share fell from %.4f to %.4f at %v", prev.FleetShare, p.FleetShare, p.T)
				}
				if p.InstalledShare < prev.InstalledShare {
					t.Errorf("installed share fell from %.4f to %.4f at %v", prev.InstalledShare, p.InstalledShare, p.T)
				}
				if p.Active < prev.Active {
					t.Errorf("active users fell from %d to %d at %v", prev.Active, p.Active, p.T)
				}
				if p.FleetShare > p.InstalledShare {
					t.Errorf("at %v more clients run the new version (%.4f) than have it installed (%.4f)", p.T, p.FleetShare, p.InstalledShare)
				}
				if p.T <= DailyWindow && (p.Daily != p.Active || p.DailyShare != p.ActiveShare) {
					t.Errorf("at %v daily users %d (%.4f) differ from users since the release %d (%.4f)", p.T, p.Daily, p.DailyShare, p.Active, p.ActiveShare)
				}
				for _, s := range []float64{p.ActiveShare, p.DailyShare, p.FleetShare, p.InstalledShare} {
					if s < 0 || s > 1 {
						t.Fatalf("share %v outside 0-1 at %v", s, p.T)
					}
				}
				prev = p
			}
			// The curve's last point agrees with the replayed opens.
			onNew := 0
			for _, v := range tr.lastOpen {
				if v == cfg.Release.To {
					onNew++
				}
			}
			if prev.Active != len(tr.lastOpen) || prev.FleetShare != float64(onNew)/float64(cfg.Clients) ||
				prev.ActiveShare != float64(onNew)/float64(len(tr.lastOpen)) {
				t.Errorf("last point %+v; replay: %d active, %d on the new version", prev, len(tr.lastOpen), onNew)
			}
			if tt.maxFleet > 0 && prev.InstalledShare > tt.maxFleet+0.05 {
				t.Errorf("installed share %.3f above the rollout's %.2f", prev.InstalledShare, tt.maxFleet)
			}

			// The server's counts are the sum of the clients' requests.
			sumChecks, sumDownloads, perClient := 0, 0, 0
			for _, h := range r.RequestsPerHour {
				sumChecks += h.Checks
				sumDownloads += h.Downloads
			}
			for _, n := range tr.perClientChecks {
				perClient += n
			}
			if sumChecks != r.Totals.Checks || sumChecks != tr.checksSent || sumChecks != perClient {
				t.Errorf("checks: hourly sum %d, total %d, events %d, per-client sum %d", sumChecks, r.Totals.Checks, tr.checksSent, perClient)
			}
			if r.Totals.Checks != r.Totals.LaunchChecks+r.Totals.PeriodicChecks+r.Totals.RetryChecks {
				t.Errorf("checks %d != launch %d + periodic %d + retry %d", r.Totals.Checks, r.Totals.LaunchChecks, r.Totals.PeriodicChecks, r.Totals.RetryChecks)
			}
			if sumDownloads != r.Totals.Downloads || sumDownloads != tr.downloadsSent {
				t.Errorf("downloads: hourly sum %d, total %d, events %d", sumDownloads, r.Totals.Downloads, tr.downloadsSent)
			}
			if r.Totals.Installs != len(tr.installed) {
				t.Errorf("installs %d, clients with an install event %d", r.Totals.Installs, len(tr.installed))
			}
			if got := int(prev.InstalledShare*float64(cfg.Clients) + 0.5); got != r.Totals.Installs {
				t.Errorf("final installed share is %d clients, installs %d", got, r.Totals.Installs)
			}
			if r.Totals.Launches != r.Totals.SyncLaunches+r.Totals.AsyncLaunches {
				t.Errorf("launches %d != sync %d + async %d", r.Totals.Launches, r.Totals.SyncLaunches, r.Totals.AsyncLaunches)
			}
			if r.Totals.BlockedAbandoned > r.Totals.Blocked || r.Totals.SlowStarts > r.Totals.Launches || r.Totals.Fallbacks > r.Totals.Launches {
				t.Errorf("blocked %d, abandoned %d, slow %d, fallbacks %d of %d launches", r.Totals.Blocked,
					r.Totals.BlockedAbandoned, r.Totals.SlowStarts, r.Totals.Fallbacks, r.Totals.Launches)
			}
			if r.Totals.Launches == 0 || r.Totals.Checks == 0 {
				t.Fatalf("nothing happened: %+v", r.Totals)
			}
		})
	}
}

// In a staged rollout, only the clients in the rollout's buckets may get
// the new version.
func TestSimulateRolloutOnlyReachesItsBuckets(t *testing.T) {
	cfg := Config{Clients: testClients, Seed: 3, Duration: 48 * time.Hour, Release: Release{RolloutPercent: 20}}.WithDefaults()
	var got []int
	cfg.Observe = func(e Event) {
		if e.Kind == EventInstall {
			got = append(got, e.Client)
		}
	}
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no client installed the new version")
	}
	doc := &updater.Document{AppID: cfg.Release.AppID, Latest: &updater.Release{Version: cfg.Release.To}, RolloutPercent: 20}
	for _, c := range got {
		if doc.LatestFor("client-"+strconv.Itoa(c)) == nil {
			t.Errorf("client %d, outside a 20%% rollout, installed the new version", c)
		}
	}
}

func TestSimulateNoLaunchesNoPeriodicNoCoverage(t *testing.T) {
	h := DefaultHabits()
	for i := range h.Segments {
		h.Segments[i].StartsPerDay = 0
	}
	tests := []struct {
		name       string
		noPeriodic bool
		wantSome   bool
	}{
		{name: "no cold starts, no periodic checks", noPeriodic: true},
		// The control: periodic checks alone install (but open nothing).
		// Clients that never start were last used 30 days ago: widen the
		// recent window so the periodic checker checks them.
		{name: "no cold starts, periodic checks", wantSome: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			month := 31 * 24 * time.Hour
			r, err := Run(t.Context(), Config{Clients: testClients, Seed: 1, Duration: 48 * time.Hour, Habits: h, NoPeriodic: tt.noPeriodic,
				Policy: updater.PolicyConfig{RecentWindow: month, LongUnused: month}})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Curve {
				if p.FleetShare != 0 || p.ActiveShare != 0 || p.Active != 0 {
					t.Fatalf("at %v: %+v, want nobody active or on the new version", p.T, p)
				}
			}
			if r.Totals.Launches != 0 || r.Totals.Opens != 0 {
				t.Errorf("launches %d, opens %d, want 0", r.Totals.Launches, r.Totals.Opens)
			}
			last := r.Curve[len(r.Curve)-1]
			if tt.wantSome {
				if r.Totals.PeriodicChecks == 0 || last.InstalledShare == 0 {
					t.Errorf("periodic checks %d, installed %.3f: want some", r.Totals.PeriodicChecks, last.InstalledShare)
				}
				return
			}
			if r.Totals.Checks != 0 || r.Totals.Downloads != 0 || last.InstalledShare != 0 {
				t.Errorf("checks %d, downloads %d, installed %.3f: want none", r.Totals.Checks, r.Totals.Downloads, last.InstalledShare)
			}
			if r.T50 != NotReached || r.Fleet.T50 != NotReached || r.Opens.T50 != NotReached {
				t.Errorf("milestones %v %v %v, want not reached", r.T50, r.Fleet, r.Opens)
			}
		})
	}
}

func TestSimulateReproducible(t *testing.T) {
	run := func(seed uint64, workers int) *Result {
		t.Helper()
		r, err := Run(t.Context(), Config{Clients: testClients, Seed: seed, Duration: 24 * time.Hour, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		r.Elapsed, r.Config.Workers = 0, 0
		return r
	}
	a, b, c := run(42, 1), run(42, 3), run(43, 2)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed, different worker counts: results differ:\n%+v\n%+v", a.Totals, b.Totals)
	}
	if reflect.DeepEqual(a.Totals, c.Totals) {
		t.Error("different seeds gave identical totals")
	}
}

func TestSimulateSweepPeriodicInterval(t *testing.T) {
	// Polling (no push path), whose rounds the interval sets.
	base := Config{Clients: testClients, Seed: 5, Duration: 48 * time.Hour, NoPush: true}
	rs, err := Sweep(t.Context(), base, []Variant{
		{Name: "2h", Policy: updater.PolicyConfig{PeriodicInterval: 2 * time.Hour}},
		{Name: "12h", Policy: updater.PolicyConfig{PeriodicInterval: 12 * time.Hour}},
		{Name: "off", NoPeriodic: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || rs[0].Name != "2h" || rs[0].Config.Policy.PeriodicInterval != 2*time.Hour {
		t.Fatalf("sweep returned %d results, first %q with %v", len(rs), rs[0].Name, rs[0].Config.Policy.PeriodicInterval)
	}
	fast, slow, off := rs[0].Totals, rs[1].Totals, rs[2].Totals
	if fast.PeriodicChecks <= 2*slow.PeriodicChecks || fast.Checks <= slow.Checks {
		t.Errorf("periodic 2h: %d periodic, %d checks; 12h: %d periodic, %d checks: want many more with 2h",
			fast.PeriodicChecks, fast.Checks, slow.PeriodicChecks, slow.Checks)
	}
	if off.PeriodicChecks != 0 || off.Prefetched != 0 {
		t.Errorf("no periodic: %d periodic checks, %d prefetched", off.PeriodicChecks, off.Prefetched)
	}
	if a, b := rs[0].At(24*time.Hour).InstalledShare, rs[2].At(24*time.Hour).InstalledShare; a <= b {
		t.Errorf("installed at 24h: periodic 2h %.3f, none %.3f: want more with periodic checks", a, b)
	}
}

// A first open after the release is async on the old version unless the
// client learned of the new one before (periodic check) or the launch is
// sync: with every launch sync (long-unused 1ns), active users reach the
// new version far sooner.
func TestSimulateEveryLaunchSyncCoversFaster(t *testing.T) {
	base := Config{Clients: testClients, Seed: 9, Duration: 24 * time.Hour, NoPush: true}
	rs, err := Sweep(t.Context(), base, []Variant{{Name: "defaults"}, {Name: "sync", Policy: updater.PolicyConfig{LongUnused: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	def, sync := rs[0], rs[1]
	if sync.Totals.AsyncLaunches != 0 || def.Totals.AsyncLaunches == 0 {
		t.Errorf("async launches: defaults %d, every launch sync %d", def.Totals.AsyncLaunches, sync.Totals.AsyncLaunches)
	}
	if a, b := def.At(6*time.Hour).ActiveShare, sync.At(6*time.Hour).ActiveShare; b <= a+0.1 {
		t.Errorf("active share at 6h: defaults %.3f, every launch sync %.3f", a, b)
	}
}

func TestSimulateValidate(t *testing.T) {
	h := DefaultHabits()
	h.Segments[0].Share = 0.5
	h2 := DefaultHabits()
	h2.Networks[1].CheckFail = 2
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative clients", Config{Clients: -1}, "Clients"},
		{"negative duration", Config{Duration: -time.Hour}, "Duration"},
		{"long-unused above window", Config{Policy: updater.PolicyConfig{LongUnused: 8 * 24 * time.Hour}}, "LongUnused"},
		{"bad version", Config{Release: Release{To: "two"}}, "Release.To"},
		{"not newer", Config{Release: Release{From: "2.0.0"}}, "not newer"},
		{"min version unknown", Config{Release: Release{MinVersion: "0.5.0"}}, "Release.MinVersion"},
		{"rollout", Config{Release: Release{RolloutPercent: 101}}, "RolloutPercent"},
		{"shares", Config{Habits: h}, "Segments shares"},
		{"probability", Config{Habits: h2}, "Networks[1].CheckFail"},
		{"patch as large as the package", Config{PackageSize: 1000, PatchSize: 1000}, "PatchSize"},
		{"negative patch", Config{PatchSize: -1}, "PatchSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tt.want)
			}
			if _, err := Run(t.Context(), tt.cfg); err == nil {
				t.Fatal("Run accepted the bad config")
			}
		})
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
}

func TestSimulateCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Run(ctx, Config{Clients: testClients})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run with a canceled context: %v", err)
	}
}

func TestSimulateWriteSVG(t *testing.T) {
	r, err := Run(t.Context(), Config{Clients: 500, Seed: 1, Duration: 30 * time.Hour, Step: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	r.Name = `a & <b>`
	var buf bytes.Buffer
	if err := r.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	polylines, points := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			polylines++
			for _, a := range se.Attr {
				if a.Name.Local == "points" && polylines == 1 {
					points = len(strings.Fields(a.Value))
				}
			}
		}
	}
	if polylines != 5 || points != len(r.Curve) {
		t.Fatalf("%d polylines, first with %d points; want 5 and %d", polylines, points, len(r.Curve))
	}
	if err := r.WriteSVG(failingWriter{}); err == nil {
		t.Fatal("WriteSVG hid the writer's error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// Once a client has the new version installed and has opened the app, its
// cold starts open the new version at once: a completed download clears
// pending, so no cold start waits for a check again (A2, S6). In 48 hours
// no client that opened the app is long unused (S4).
func TestSimulateInstalledVersionOpensAsync(t *testing.T) {
	cfg := Config{Clients: testClients, Seed: 11, Duration: 48 * time.Hour}.WithDefaults()
	installed, opened := map[int]bool{}, map[int]bool{}
	var problems []string
	fail := func(args ...any) {
		if len(problems) < 10 {
			problems = append(problems, strings.TrimSpace(fmt.Sprintln(args...)))
		}
	}
	checked, reopened := 0, 0
	cfg.Observe = func(e Event) {
		ready := installed[e.Client] && opened[e.Client]
		switch e.Kind {
		case EventInstall:
			installed[e.Client] = true
		case EventCheck:
			if ready && e.Source == "launch-sync" {
				fail("client", e.Client, "at", e.T, "has", cfg.Release.To, "installed but its cold start waits for a check")
			}
			if ready {
				checked++
			}
		case EventOpen:
			opened[e.Client] = true
			if ready && e.Source == "launch" {
				reopened++
				if e.Version != cfg.Release.To {
					fail("client", e.Client, "at", e.T, "opened", e.Version, "with", cfg.Release.To, "installed")
				}
			}
		}
	}
	if _, err := Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if reopened < testClients/10 || checked == 0 {
		t.Errorf("%d cold starts and %d checks after an install and an open: want many", reopened, checked)
	}
}

// A variant's non-zero policy fields, the executor's timings included,
// replace the base's; its PeriodicFirst reaches the executor's.
func TestVariantApply(t *testing.T) {
	base := Config{Policy: updater.PolicyConfig{SyncTimeout: time.Second, RetryMax: time.Minute}}
	got := Variant{Policy: updater.PolicyConfig{RetryMin: 2 * time.Second, BackgroundTimeout: time.Minute,
		BackgroundAttempts: 5, PeriodicJitter: -1, PeriodicFirst: time.Minute}}.Apply(base).WithDefaults()
	p := got.Policy
	if p.SyncTimeout != time.Second || p.RetryMin != 2*time.Second || p.RetryMax != time.Minute ||
		p.BackgroundTimeout != time.Minute || p.BackgroundAttempts != 5 || p.PeriodicJitter != -1 {
		t.Errorf("applied policy %+v", p)
	}
	if got.PeriodicFirst != time.Minute || p.PeriodicFirst != time.Minute {
		t.Errorf("PeriodicFirst %v, policy's %v, want 1m", got.PeriodicFirst, p.PeriodicFirst)
	}
	if c := (Config{PeriodicFirst: 2 * time.Minute, Policy: updater.PolicyConfig{PeriodicFirst: time.Hour}}).WithDefaults(); c.Policy.PeriodicFirst != 2*time.Minute {
		t.Errorf("Config.PeriodicFirst did not replace the policy's: %v", c.Policy.PeriodicFirst)
	}
}

// TestSimulatePush: on the push path the hosts that are up hold one
// request each and learn of the release at once, so the new version
// reaches users sooner than with polling, for no more checks; without it
// (a static export) nothing is held.
func TestSimulatePush(t *testing.T) {
	base := Config{Clients: testClients, Seed: 11, Duration: 24 * time.Hour}
	rs, err := Sweep(t.Context(), base, []Variant{{Name: "push"}, {Name: "poll", NoPush: true}})
	if err != nil {
		t.Fatal(err)
	}
	push, poll := rs[0], rs[1]
	if a, b := push.At(3*time.Hour).InstalledShare, poll.At(3*time.Hour).InstalledShare; a <= b+0.1 {
		t.Errorf("installed at 3h: push %.3f, poll %.3f: want push well ahead", a, b)
	}
	if push.Totals.Checks > poll.Totals.Checks {
		t.Errorf("checks: push %d, poll %d: a held request stands for the polls of its wait, so push may not cost more", push.Totals.Checks, poll.Totals.Checks)
	}
	if held := push.At(2 * time.Hour).Held; held < testClients/10 {
		t.Errorf("push requests held at 2h: %d of %d clients, want the hosts that are up", held, testClients)
	}
	if held := poll.At(2 * time.Hour).Held; held != 0 {
		t.Errorf("push requests held without the push path: %d", held)
	}
}

// TestSimulatePatch: with a delta patch in the document, each download
// sends the patch's bytes, not the package's (the bytes served per
// release that issue 15 asks for), and nothing else about the release
// changes much: the patch is smaller, so installs come no later.
func TestSimulatePatch(t *testing.T) {
	const patch = 34 << 10 // samples/counter's one-line change: 1.6% of 2 MiB
	base := Config{Clients: testClients, Seed: 11, Duration: 24 * time.Hour}
	rs, err := Sweep(t.Context(), base, []Variant{{Name: "full"}})
	if err != nil {
		t.Fatal(err)
	}
	withPatch := base
	withPatch.PatchSize = patch
	p, err := Run(t.Context(), withPatch)
	if err != nil {
		t.Fatal(err)
	}
	full := rs[0]
	if full.Totals.Downloads == 0 || p.Totals.Downloads == 0 {
		t.Fatalf("downloads: %d full, %d with a patch; want some", full.Totals.Downloads, p.Totals.Downloads)
	}
	if got, most := p.Totals.DownloadBytes, int64(p.Totals.Downloads)*patch; got > most || got == 0 {
		t.Errorf("bytes served with a patch: %d for %d attempts, want at most %d (each the patch's)", got, p.Totals.Downloads, most)
	}
	if full.Totals.DownloadBytes <= int64(full.Totals.Downloads)*patch {
		t.Errorf("bytes served without a patch: %d for %d attempts, want the package's", full.Totals.DownloadBytes, full.Totals.Downloads)
	}
	if a, b := p.At(6*time.Hour).InstalledShare, full.At(6*time.Hour).InstalledShare; a+0.02 < b {
		t.Errorf("installed at 6h: %.3f with a patch, %.3f without: a smaller download may not install later", a, b)
	}
}
