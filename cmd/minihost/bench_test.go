package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The bench command is tested on captured output (testdata/bench.txt,
// through --input): no test here runs a benchmark.

func TestBenchReportFromCapturedOutput(t *testing.T) {
	code, stdout, stderr := relRun(t, "bench", "--json", "--input", filepath.Join("testdata", "bench.txt"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("decode %q: %v", stdout, err)
	}
	figs := map[string]*benchFigure{}
	var names []string
	for _, f := range rep.Figures {
		figs[f.Figure] = f
		names = append(names, f.Figure)
	}
	wantNames := []string{
		"ColdLaunchWarmCache", "ColdLaunchSingleCompile", "Dispatch", "Dispatch/floor-no-deadline", "WxCallRaw",
		"CompileWorkers/workers=1", "CompileWorkers/workers=2",
		"SyncLaunch", "SyncLaunch/async", "RSSPerApp", "DownloadInstall", "Document",
	}
	if strings.Join(names, " ") != strings.Join(wantNames, " ") {
		t.Fatalf("figures %q, want %q", names, wantNames)
	}

	tests := []struct {
		name                  string
		unit                  string
		ours, floor           float64 // medians; floor 0 for none
		runs                  int
		ratioMin, ratioMax    float64 // 0: not checked
		floorMin, floorMaxRun float64 // 0: not checked
	}{
		// Three runs: the median is the middle one, the ratio range pairs runs in order.
		{name: "ColdLaunchWarmCache", unit: "ns/op", ours: 76058717, floor: 100000000, runs: 3,
			ratioMin: 76058717.0 / 142483797, ratioMax: 90000000.0 / 75000000, floorMin: 75000000, floorMaxRun: 142483797},
		{name: "ColdLaunchSingleCompile", unit: "ns/op", ours: 66000000, floor: 50000000, runs: 3},
		// Two runs: the median is the mean of both.
		{name: "Dispatch", unit: "ns/op", ours: 5937, floor: 5148.5, runs: 2},
		{name: "Dispatch/floor-no-deadline", unit: "ns/op", ours: 1245, floor: 5148.5, runs: 2},
		{name: "WxCallRaw", unit: "ns/op", ours: 167.8, floor: 100, runs: 3},
		{name: "CompileWorkers/workers=1", unit: "ns/op", ours: 2152000000, runs: 2},
		{name: "SyncLaunch/async", unit: "ns/op", ours: (64739007 + 80500000) / 2.0, floor: (45571681 + 50000000) / 2.0, runs: 2},
		// A custom metric wins over ns/op; the split result line counts.
		{name: "RSSPerApp", unit: "MiB/app", ours: (13.48 + 13.00) / 2, floor: (4.272 + 4.0) / 2, runs: 2},
		// MB/s is go test's own unit: ns/op stays.
		{name: "DownloadInstall", unit: "ns/op", ours: (29961080 + 33000000) / 2.0, floor: (30666084 + 30000000) / 2.0, runs: 2},
		// A top-level floor benchmark (floorOf) pairs with its figure.
		{name: "Document", unit: "req/s", ours: (18529 + 20000) / 2.0, floor: (14142 + 15000) / 2.0, runs: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := figs[tt.name]
			if f.Unit != tt.unit || len(f.Ours.Runs) != tt.runs || !near(f.Ours.Median, tt.ours) {
				t.Fatalf("unit %s, runs %v, median %v; want %s, %d runs, %v", f.Unit, f.Ours.Runs, f.Ours.Median, tt.unit, tt.runs, tt.ours)
			}
			if tt.floor == 0 {
				if f.Floor != nil || f.Ratio != 0 {
					t.Fatalf("a floor where there is none: %+v", f.Floor)
				}
				return
			}
			if f.Floor == nil || !near(f.Floor.Median, tt.floor) || !near(f.Ratio, tt.ours/tt.floor) || !near(f.Delta, tt.ours-tt.floor) {
				t.Fatalf("floor %+v, ratio %v, delta %v; want floor %v", f.Floor, f.Ratio, f.Delta, tt.floor)
			}
			if tt.ratioMin != 0 && (!near(f.RatioMin, tt.ratioMin) || !near(f.RatioMax, tt.ratioMax)) {
				t.Fatalf("ratio range %v-%v, want %v-%v", f.RatioMin, f.RatioMax, tt.ratioMin, tt.ratioMax)
			}
			if tt.floorMin != 0 && (f.Floor.Min != tt.floorMin || f.Floor.Max != tt.floorMaxRun) {
				t.Fatalf("floor spread %v-%v, want %v-%v", f.Floor.Min, f.Floor.Max, tt.floorMin, tt.floorMaxRun)
			}
		})
	}

	goals := map[string]benchGoalResult{}
	for _, g := range rep.Goals {
		goals[g.Goal] = g
	}
	for goal, met := range map[string]bool{
		"cold launch, warm cache <= 1.2x floor":                  true,  // 0.76
		"sync launch without update <= async cold launch + 1 ms": false, // +7.83ms
		"wx call (raw import) <= 1.5x floor":                     false, // 1.68
		"download and install <= 1.1x floor":                     true,  // 1.04
		"document throughput >= 0.9x file server":                true,  // 1.32
	} {
		g, ok := goals[goal]
		if !ok || g.Met != met {
			t.Errorf("goal %q: %+v (present %t), want met=%t", goal, g, ok, met)
		}
	}
	if g := goals["sync launch without update <= async cold launch + 1 ms"]; g.Value != "+7.83ms" {
		t.Errorf("sync launch goal value %q, want +7.83ms", g.Value)
	}
	// Not measured in the capture: the hot swap, the unmerged floor and
	// the Runtime-per-app floor.
	for _, goal := range []string{"hot swap <= 1.5x floor", "cold launch, warm cache <= 0.8x the floor on the unmerged module",
		"RSS per app <= a Runtime per app in raw wazero + 0.5 MiB"} {
		if _, ok := goals[goal]; ok {
			t.Errorf("goal %q reported for a figure that was not measured", goal)
		}
	}
}

// withFloor gives f a floor of one run at median.
func withFloor(f *benchFigure, median float64) *benchFigure {
	f.Floor = newBenchStats([]float64{median})
	f.Ratio = f.Ours.Median / median
	return f
}

// TestBenchMissingRequiredGoal: a run whose --bench selects
// BenchmarkRelaunchWarmPool but that reports no figure of it lists the
// relaunch goal as missed; a run that does not select it, or that has
// the goal, lists nothing.
func TestBenchMissingRequiredGoal(t *testing.T) {
	measured := &benchReport{Goals: []benchGoalResult{{Goal: relaunchGoal, Value: "ratio 1.10", Met: true}}}
	tests := []struct {
		name string
		rep  *benchReport
		re   string
		want int
	}{
		{"all benchmarks, no figure", &benchReport{}, ".", 1},
		{"selected by name, no figure", &benchReport{}, "Relaunch|HotSwap/minihost", 1},
		{"not selected", &benchReport{}, "HotSwap", 0},
		{"measured", measured, ".", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := missingBenchGoals(tt.rep, tt.re)
			if len(got) != tt.want || (tt.want > 0 && (got[0].Goal != relaunchGoal || got[0].Met)) {
				t.Fatalf("missing goals %+v, want %d of %q, missed", got, tt.want, relaunchGoal)
			}
		})
	}
}

// TestBenchGoalsAgainstVariants: the goals that compare ours with another
// variant of the same benchmark (the unmerged floor, a Runtime per app).
func TestBenchGoalsAgainstVariants(t *testing.T) {
	fig := func(name, unit string, median float64) *benchFigure {
		return &benchFigure{Figure: name, Unit: unit, Ours: newBenchStats([]float64{median})}
	}
	tests := []struct {
		name  string
		figs  []*benchFigure
		goal  string
		value string
		met   bool
	}{
		{"warm launch at 0.8 of the unmerged floor", []*benchFigure{fig("ColdLaunchWarmCache", "ns/op", 40e6), fig("ColdLaunchWarmCache/floor-unmerged", "ns/op", 50e6)},
			"cold launch, warm cache <= 0.8x the floor on the unmerged module", "ratio 0.80", true},
		{"warm launch above it", []*benchFigure{fig("ColdLaunchWarmCache", "ns/op", 45e6), fig("ColdLaunchWarmCache/floor-unmerged", "ns/op", 50e6)},
			"cold launch, warm cache <= 0.8x the floor on the unmerged module", "ratio 0.90", false},
		{"RSS within 0.5 MiB of a Runtime per app", []*benchFigure{fig("RSSPerApp", "MiB/app", 8.6), fig("RSSPerApp/floor-runtime-per-app", "MiB/app", 8.2)},
			"RSS per app <= a Runtime per app in raw wazero + 0.5 MiB", "+0.40 MiB/app", true},
		{"RSS past it", []*benchFigure{fig("RSSPerApp", "MiB/app", 9.2), fig("RSSPerApp/floor-runtime-per-app", "MiB/app", 8.2)},
			"RSS per app <= a Runtime per app in raw wazero + 0.5 MiB", "+1.00 MiB/app", false},
		{"relaunch within 1.3x of a raw instantiate", []*benchFigure{withFloor(fig("RelaunchWarmPool", "ns/op", 3.0e6), 2.5e6)},
			relaunchGoal, "ratio 1.20", true},
		{"relaunch past it", []*benchFigure{withFloor(fig("RelaunchWarmPool", "ns/op", 3.5e6), 2.5e6)},
			relaunchGoal, "ratio 1.40", false},
		{"relaunch without its floor", []*benchFigure{fig("RelaunchWarmPool", "ns/op", 3.0e6)},
			relaunchGoal, "floor not measured", false},
		// Issue 18: a wx call from JS less its loop's turn, against the Go guest's.
		{"JS call within 3x of the Go guest's", []*benchFigure{withFloor(fig("JSWxCall", "ns/op", 4400), 1200), fig("JSWxCall/loop", "ns/op", 1600)},
			jsCallGoal, "ratio 2.33", true},
		{"JS call past it", []*benchFigure{withFloor(fig("JSWxCall", "ns/op", 5400), 1200), fig("JSWxCall/loop", "ns/op", 1600)},
			jsCallGoal, "ratio 3.17", false},
		{"JS call without its loop", []*benchFigure{withFloor(fig("JSWxCall", "ns/op", 4400), 1200)},
			jsCallGoal, "loop not measured", false},
		// Issue 15: the patch share of the package, and the patch install
		// against the full one.
		{"code patch within a quarter", []*benchFigure{fig("DeltaPatch/code", "%pkg", 1.6)},
			"delta patch, one-line code change <= 25% of the package", "1.60 %pkg", true},
		{"code patch over it", []*benchFigure{fig("DeltaPatch/code", "%pkg", 30)},
			"delta patch, one-line code change <= 25% of the package", "30.0 %pkg", false},
		{"asset patch over 5%", []*benchFigure{fig("DeltaPatch/asset", "%pkg", 6)},
			"delta patch, asset-only change <= 5% of the package", "6.00 %pkg", false},
		{"large patch larger than the package", []*benchFigure{fig("DeltaPatch/large", "%pkg", 101)},
			"delta patch, large change never larger than the package", "101 %pkg", false},
		{"patch install within 1.5x of the full one", []*benchFigure{fig("DeltaInstall", "ns/op", 27e6), fig("DeltaInstall/full", "ns/op", 37e6)},
			"delta install <= 1.5x a full download and install", "ratio 0.73", true},
		{"patch install past it", []*benchFigure{fig("DeltaInstall", "ns/op", 60e6), fig("DeltaInstall/full", "ns/op", 37e6)},
			"delta install <= 1.5x a full download and install", "ratio 1.62", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *benchGoalResult
			for _, g := range checkBenchGoals(tt.figs, nil) {
				if g.Goal == tt.goal {
					got = &g
				}
			}
			if got == nil || got.Value != tt.value || got.Met != tt.met {
				t.Fatalf("goal %q: %+v, want value %s met=%t", tt.goal, got, tt.value, tt.met)
			}
		})
	}
}

func TestBenchGoalSyncLaunch(t *testing.T) {
	fig := func(name string, median float64) *benchFigure {
		return &benchFigure{Figure: name, Unit: "ns/op", Ours: newBenchStats([]float64{median})}
	}
	tests := []struct {
		name        string
		sync, async float64
		value       string
		met         bool
	}{
		{"slower by more than 1 ms", 80e6, 72e6, "+8.00ms", false},
		{"slower by 1 ms", 73e6, 72e6, "+1.00ms", true},
		{"faster (noise)", 63.1e6, 72e6, "-8.90ms", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			goals := checkBenchGoals([]*benchFigure{fig("SyncLaunch", tt.sync), fig("SyncLaunch/async", tt.async)}, nil)
			if len(goals) != 1 || goals[0].Value != tt.value || goals[0].Met != tt.met {
				t.Fatalf("goals %+v, want value %s met=%t", goals, tt.value, tt.met)
			}
		})
	}
	if goals := checkBenchGoals([]*benchFigure{fig("SyncLaunch", 80e6)}, nil); len(goals) != 0 {
		t.Fatalf("a sync launch goal without the async figure: %+v", goals)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

func TestBenchTable(t *testing.T) {
	code, stdout, stderr := relRun(t, "bench", "--input", filepath.Join("testdata", "bench.txt"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Compare with the columns' padding collapsed to one space.
	var lines []string
	for line := range strings.Lines(stdout) {
		lines = append(lines, strings.Join(strings.Fields(line), " "))
	}
	for _, want := range []string{
		"FIGURE UNIT OURS (MIN-MAX) FLOOR (MIN-MAX) RATIO (PER RUN) DELTA RUNS",
		"ColdLaunchWarmCache time/op 76.1ms (70.0ms-90.0ms) 100ms (75.0ms-142ms) 0.76 (0.53-1.20) -23.9ms 3",
		"WxCallRaw time/op 168ns (150ns-170ns) 100ns (100ns-110ns) 1.68 (1.50-1.70) +67.8ns 3",
		"RSSPerApp MiB/app 13.2 (13.0-13.5) 4.14 (4.00-4.27) 3.20 (3.16-3.25) +9.10 2",
		"Document req/s 19264 (18529-20000) 14571 (14142-15000) 1.32 (1.31-1.33) +4694 2",
		"CompileWorkers/workers=1 time/op 2.15s (2.10s-2.20s) - - - 2",
		"GOAL VALUE MET",
		"download and install <= 1.1x floor ratio 1.04 met",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q in:\n%s", want, stdout)
		}
	}
}

func TestParseBenchOutputProcsSuffix(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"GOMAXPROCS 2", "BenchmarkA/minihost-2 \t 10\t 5 ns/op\nBenchmarkA/floor-2 \t 10\t 4 ns/op\n", []string{"A/minihost", "A/floor"}},
		// With GOMAXPROCS 1 go test adds no suffix: a sub-benchmark's own number stays.
		{"GOMAXPROCS 1", "BenchmarkW/workers-1 \t 1\t 5 ns/op\nBenchmarkW/workers-2 \t 1\t 4 ns/op\n", []string{"W/workers-1", "W/workers-2"}},
		{"not results", "BenchmarkX\nok  \tpkg\t1s\n--- FAIL: BenchmarkY\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := parseBenchOutput(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.Name)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("names %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseBenchOutputErrors(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"unpaired", "BenchmarkA-2 \t 10\t 5 ns/op 7\n", "do not pair up"},
		{"bad value", "BenchmarkA-2 \t 10\t five ns/op\n", `value "five"`},
		{"no ns/op", "BenchmarkA-2 \t 10\t 5 MiB/app\n", "no ns/op"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBenchOutput(strings.NewReader(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestBenchUsage(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.txt")
	if err := os.WriteFile(empty, []byte("PASS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"help", []string{"-h"}, 0, "usage: minihost bench"},
		{"count zero", []string{"--count", "0"}, 2, "--count 0: want at least 1"},
		{"count not a number", []string{"--count", "many"}, 2, "invalid value"},
		{"argument", []string{"runtime"}, 2, `unexpected argument "runtime"`},
		{"empty regexp", []string{"--bench", ""}, 2, "--bench is empty"},
		{"bad regexp", []string{"--bench", "Sync(/floor"}, 2, "missing closing )"},
		{"unknown flag", []string{"--benchtime", "1s"}, 2, "flag provided but not defined"},
		{"missing input", []string{"--input", filepath.Join(t.TempDir(), "none.txt")}, 1, "no such file"},
		{"no results", []string{"--input", empty}, 1, "no benchmark results"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := relRun(t, append([]string{"bench"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
		})
	}
}

// TestBenchFailedFigure: a benchmark that fails is named, its goal is
// listed as missed instead of vanishing, and bench exits non-zero.
func TestBenchFailedFigure(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%t", asJSON), func(t *testing.T) {
			args := []string{"bench", "--input", filepath.Join("testdata", "bench-failed.txt")}
			if asJSON {
				args = append(args, "--json")
			}
			code, stdout, stderr := relRun(t, args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
			}
			want := "FAILED WxLog/minihost: bench_wx_test.go:141: guest made 1010 wx calls, want 10000"
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not name the failed figure (%q):\n%s", want, stderr)
			}
			if asJSON {
				var rep benchReport
				if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
					t.Fatal(err)
				}
				want := []benchFailure{
					{"WxLog/minihost", "bench_wx_test.go:141: guest made 1010 wx calls, want 10000"},
					{"HotSwap/minihost", "bench_internal_test.go:60: compile: module closed"},
				}
				if !slices.Equal(rep.Failed, want) {
					t.Errorf("failed = %+v, want %+v", rep.Failed, want)
				}
				for _, goal := range []string{"SDK log", "hot swap"} {
					i := slices.IndexFunc(rep.Goals, func(g benchGoalResult) bool { return strings.Contains(g.Goal, goal) })
					if i < 0 || rep.Goals[i].Met || !strings.Contains(rep.Goals[i].Value, "benchmark failed") {
						t.Errorf("the %q goal is not listed as failed: %+v", goal, rep.Goals)
					}
				}
				return
			}
			if !strings.Contains(strings.Join(strings.Fields(stdout), " "), "WxLog/minihost FAILED: bench_wx_test.go:141") {
				t.Errorf("the table has no row for the failed figure:\n%s", stdout)
			}
		})
	}
}
