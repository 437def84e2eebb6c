package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// benchGoal is a goal of issues 6, 14 and 18 on one figure.
type benchGoal struct {
	text   string
	figure string
	// check returns the value compared and whether the goal is met; ok is
	// false when the figures it needs are missing.
	check func(f *benchFigure, all map[string]*benchFigure) (value string, met, ok bool)
}

func ratioAtMost(limit float64) func(*benchFigure, map[string]*benchFigure) (string, bool, bool) {
	return func(f *benchFigure, _ map[string]*benchFigure) (string, bool, bool) {
		if f.Floor == nil {
			return "", false, false
		}
		return fmt.Sprintf("ratio %.2f", f.Ratio), f.Ratio <= limit, true
	}
}

// ratioToVariant compares ours with another variant of the same benchmark
// (its Ours median), as a ratio at most limit.
func ratioToVariant(variant string, limit float64) func(*benchFigure, map[string]*benchFigure) (string, bool, bool) {
	return func(f *benchFigure, all map[string]*benchFigure) (string, bool, bool) {
		v := all[f.Figure+"/"+variant]
		if v == nil || v.Unit != f.Unit || v.Ours.Median == 0 {
			return "", false, false
		}
		r := f.Ours.Median / v.Ours.Median
		return fmt.Sprintf("ratio %.2f", r), r <= limit, true
	}
}

// marginalRatio compares what ours costs over another variant of the
// same benchmark (its Ours median: the same work without the operation
// measured) with the floor, as a ratio at most limit.
func marginalRatio(variant string, limit float64) func(*benchFigure, map[string]*benchFigure) (string, bool, bool) {
	return func(f *benchFigure, all map[string]*benchFigure) (string, bool, bool) {
		if f.Floor == nil || f.Floor.Median == 0 {
			return "", false, false
		}
		v := all[f.Figure+"/"+variant]
		if v == nil || v.Unit != f.Unit {
			return variant + " not measured", false, true // never a silent pass
		}
		r := (f.Ours.Median - v.Ours.Median) / f.Floor.Median
		return fmt.Sprintf("ratio %.2f", r), r <= limit, true
	}
}

// medianAtMost compares ours, in unit, with limit (a time per operation
// when unit is ns/op: the value then reads as a duration).
func medianAtMost(limit float64, unit string) func(*benchFigure, map[string]*benchFigure) (string, bool, bool) {
	return func(f *benchFigure, _ map[string]*benchFigure) (string, bool, bool) {
		if f.Unit != unit {
			return "", false, false
		}
		v := formatBenchValue(f.Ours.Median, unit)
		if unit != "ns/op" {
			v += " " + unit
		}
		return v, f.Ours.Median <= limit, true
	}
}

var benchGoals = []benchGoal{
	{"cold launch, warm cache <= 1.2x floor", "ColdLaunchWarmCache", ratioAtMost(1.2)},
	{"cold launch, warm cache <= 0.8x the floor on the unmerged module", "ColdLaunchWarmCache", ratioToVariant("floor-unmerged", 0.8)},
	{"sync launch without update <= async cold launch + 1 ms", "SyncLaunch", func(f *benchFigure, all map[string]*benchFigure) (string, bool, bool) {
		async := all["SyncLaunch/async"]
		if async == nil || f.Unit != "ns/op" || async.Unit != "ns/op" {
			return "", false, false
		}
		d := f.Ours.Median - async.Ours.Median
		v := formatBenchValue(d, "ns/op")
		if d >= 0 {
			v = "+" + v
		}
		return v, d <= float64(time.Millisecond), true
	}},
	{"hot swap <= 1.5x floor", "HotSwap", ratioAtMost(1.5)},
	{"wx call (SDK get_storage) <= 1.5x floor", "WxCall", ratioAtMost(1.5)},
	{"wx call (SDK log) <= 1.5x floor", "WxLog", ratioAtMost(1.5)},
	{"wx call (raw import) <= 1.5x floor", "WxCallRaw", ratioAtMost(1.5)},
	{"RSS per app <= a Runtime per app in raw wazero + 0.5 MiB", "RSSPerApp", func(f *benchFigure, all map[string]*benchFigure) (string, bool, bool) {
		perApp := all["RSSPerApp/floor-runtime-per-app"]
		if perApp == nil || f.Unit != "MiB/app" || perApp.Unit != f.Unit {
			return "", false, false
		}
		d := f.Ours.Median - perApp.Ours.Median
		return fmt.Sprintf("%+.2f MiB/app", d), d <= 0.5, true
	}},
	{"JS cold launch, warm cache <= 300 ms (moonshot 100 ms)", "JSColdLaunch", medianAtMost(float64(300*time.Millisecond), "ns/op")},
	// The call, not the turn of goja's loop around it (JSWxCall/loop),
	// which a Go guest's loop does not pay: BENCHMARKS.md says why.
	{jsCallGoal, "JSWxCall", marginalRatio("loop", 3)},
	{"download and install <= 1.1x floor", "DownloadInstall", ratioAtMost(1.1)},
	{relaunchGoal, "RelaunchWarmPool", func(f *benchFigure, all map[string]*benchFigure) (string, bool, bool) {
		if f.Floor == nil {
			return "floor not measured", false, true
		}
		return ratioAtMost(1.3)(f, all)
	}},
	// Issue 15: delta updates, patch size as a share of the package.
	{"delta patch, one-line code change <= 25% of the package", "DeltaPatch/code", medianAtMost(25, "%pkg")},
	{"delta patch, asset-only change <= 5% of the package", "DeltaPatch/asset", medianAtMost(5, "%pkg")},
	{"delta patch, large change never larger than the package", "DeltaPatch/large", medianAtMost(100, "%pkg")},
	{"delta install <= 1.5x a full download and install", "DeltaInstall", ratioToVariant("full", 1.5)},
	{"document throughput >= 0.9x file server", "Document", func(f *benchFigure, _ map[string]*benchFigure) (string, bool, bool) {
		if f.Floor == nil || f.Unit != "req/s" {
			return "", false, false
		}
		return fmt.Sprintf("ratio %.2f", f.Ratio), f.Ratio >= 0.9, true
	}},
}

// jsCallGoal is issue 18's: a wx call from JavaScript against the same
// call from a Go guest.
const jsCallGoal = "wx call from JS, less its JS loop, <= 3x the same call from a Go guest"

// relaunchGoal is issue 14's: reopening a recently closed app costs an
// instantiate (runtime/pool.go).
const relaunchGoal = "relaunch in a running host <= 1.3x raw instantiate"

// requiredBenchGoals are goals that must not vanish from a run whose
// --bench matches their benchmark: missingBenchGoals lists them as missed
// when their figure is missing.
var requiredBenchGoals = map[string]string{"RelaunchWarmPool": relaunchGoal}

// missingBenchGoals returns, as missed, the required goals whose
// benchmark re selects (go test matches its first element against the
// top-level name) but whose figure rep lacks and whose benchmark did not
// fail (checkBenchGoals lists those).
func missingBenchGoals(rep *benchReport, re string) []benchGoalResult {
	var out []benchGoalResult
	for figure, goal := range requiredBenchGoals {
		top, _, _ := strings.Cut(re, "/")
		if ok, _ := regexp.MatchString(top, "Benchmark"+figure); !ok || slices.ContainsFunc(rep.Goals, func(g benchGoalResult) bool { return g.Goal == goal }) {
			continue
		}
		out = append(out, benchGoalResult{Goal: goal, Value: "not measured: benchmark " + figure + " reported no figure"})
	}
	return out
}

// checkBenchGoals checks each goal whose figure was measured; a goal whose
// benchmark failed is listed as missed, so that it never just vanishes
// from the table.
func checkBenchGoals(figs []*benchFigure, failed []benchFailure) []benchGoalResult {
	all := map[string]*benchFigure{}
	for _, f := range figs {
		all[f.Figure] = f
	}
	var out []benchGoalResult
	for _, g := range benchGoals {
		if i := slices.IndexFunc(failed, func(f benchFailure) bool {
			top, _, _ := strings.Cut(f.Benchmark, "/")
			return top == g.figure
		}); i >= 0 {
			out = append(out, benchGoalResult{Goal: g.text, Value: "benchmark failed: " + failed[i].Message})
			continue
		}
		f := all[g.figure]
		if f == nil {
			continue
		}
		if v, met, ok := g.check(f, all); ok {
			out = append(out, benchGoalResult{Goal: g.text, Value: v, Met: met})
		}
	}
	return out
}
