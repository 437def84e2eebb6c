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

// BenchmarkPolicyFloor is the floor of BenchmarkSimulate100k: the
// executor's work for one async cold start that finds the update (the
// Launch's Start, Opened and Checked), on one goroutine, without the
// simulator around it.
func BenchmarkPolicyFloor(b *testing.B) {
	doc := &updater.Document{AppID: DefaultAppID, Sequence: 2, RolloutPercent: 100,
		Latest: release(DefaultAppID, DefaultTo, DefaultPackageSize)}
	st := updater.AppState{AppID: DefaultAppID, Installed: []updater.InstalledVersion{{Version: DefaultFrom, Verified: true}},
		Active: DefaultFrom, LastUsed: DefaultStart().Add(-time.Hour)}
	exec, err := updater.NewExecutor(updater.PolicyConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var r nopRunner
	now := DefaultStart()
	b.ReportAllocs()
	for b.Loop() {
		l := exec.NewLaunch(updater.LaunchInput{State: st, Last: doc, ClientID: "client-1"})
		l.Start(now, r)
		l.Handle(now, updater.Opened{Version: DefaultFrom}, r)
		l.Handle(now, updater.Checked{Result: updater.CheckResult{Doc: doc, ClientID: "client-1"}}, r)
	}
}

// nopRunner asks the Launch for nothing back.
type nopRunner struct{}

func (nopRunner) Check(time.Duration, string)        {}
func (nopRunner) Download(*updater.Release, string)  {}
func (nopRunner) Open(string, updater.Trace)         {}
func (nopRunner) Prepare(string)                     {}
func (nopRunner) PromptRestart(string)               {}
func (nopRunner) Restart(string)                     {}
func (nopRunner) NotifyCheck(bool)                   {}
func (nopRunner) NotifyFailed(string)                {}
func (nopRunner) RecordOpen(string, time.Time)       {}
func (nopRunner) RecordLaunch(updater.LaunchRecord)  {}
func (nopRunner) Blocked(int, string, string)        {}
func (nopRunner) RolledBack(string, string)          {}
func (nopRunner) Unavailable(error)                  {}
func (nopRunner) Sleep(updater.Alarm, time.Duration) {}
