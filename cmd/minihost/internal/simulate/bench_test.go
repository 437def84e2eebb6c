package simulate

import (
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
)

// BenchmarkSimulate100k runs the default fleet (100,000 clients, 72
// simulated hours) with the default workers (GOMAXPROCS). Beside ns/op it
// reports the wall time per policy decision (a cold start or a periodic
// check), to compare with BenchmarkPolicyFloor, the cost of the policy
// calls alone.
func BenchmarkSimulate100k(b *testing.B) {
	b.ReportAllocs()
	var r *Result
	for b.Loop() {
		var err error
		if r, err = Run(b.Context(), Config{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	decisions := float64(r.Totals.Launches + r.Totals.PeriodicChecks)
	b.ReportMetric(decisions, "decisions/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/decisions, "ns/decision")
}

// BenchmarkPolicyFloor is the floor of BenchmarkSimulate100k: the policy
// calls of one async cold start that finds the update (updater.Decide and
// DecideAsync), on one goroutine, without the simulator around them.
func BenchmarkPolicyFloor(b *testing.B) {
	doc := &updater.Document{AppID: DefaultAppID, Sequence: 2, RolloutPercent: 100,
		Latest: release(DefaultAppID, DefaultTo, DefaultPackageSize)}
	st := updater.LocalState{Installed: []updater.InstalledVersion{{Version: DefaultFrom, Verified: true}},
		Active: DefaultFrom, LastUsed: DefaultStart().Add(-time.Hour)}
	cfg := updater.PolicyConfig{}
	b.ReportAllocs()
	for b.Loop() {
		p := updater.Decide(st, doc, cfg, DefaultStart())
		_ = updater.DecideAsync(p, st, updater.CheckResult{Doc: doc, ClientID: "client-1"})
	}
}
