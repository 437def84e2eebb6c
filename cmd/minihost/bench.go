package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

const benchSynopsis = `[--count N] [--json] [--bench REGEXP] [--input FILE]

Runs the benchmarks of the runtime, host, updater and updater/release
packages N times with "go test -run '^$' -bench REGEXP -count 1", so that
run i of a figure and run i of its floor come from one run, seconds apart. It needs Go and the
minihost source tree: run it from inside the tree. It pairs each figure
(the "minihost" sub-benchmark, or another variant) with its floor (the
"floor" sub-benchmark: raw wazero or raw loopback HTTP doing the same
work) and prints one table: for ours and the floor the median of the N
runs and their spread (min-max), the ratio of the medians and the range
of the per-run ratios, the difference of the medians, and then the goals
met or missed. go test's own output goes to stderr as it runs. --json
prints the same for machines. --input parses saved "go test -bench"
output instead of running anything.`

// benchPackages are the packages whose benchmarks "minihost bench" runs.
var benchPackages = []string{"./runtime/", "./host/", "./updater/", "./updater/release/"}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", benchSynopsis, "minihost bench --count 5", stderr)
	count := fs.Int("count", 5, "runs of each benchmark (medians need at least 3)")
	asJSON := fs.Bool("json", false, "print JSON")
	re := fs.String("bench", ".", "run only the benchmarks matching this regular expression (as go test -bench)")
	input := fs.String("input", "", "parse this saved go test -bench output instead of running the benchmarks")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(fs, stderr, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if *count < 1 {
		return usageError(fs, stderr, fmt.Sprintf("--count %d: want at least 1", *count))
	}
	if *re == "" {
		return usageError(fs, stderr, "--bench is empty")
	}
	for _, part := range strings.Split(*re, "/") {
		if _, err := regexp.Compile(part); err != nil {
			return usageError(fs, stderr, fmt.Sprintf("--bench %q: %v", *re, err))
		}
	}

	var (
		out     []byte
		command []string // one run; the command runs it --count times
		runErr  error
	)
	if *input != "" {
		var err error
		if out, err = os.ReadFile(*input); err != nil {
			fmt.Fprintf(stderr, "minihost bench: %v\n", err)
			return 1
		}
	} else {
		root, err := moduleDir(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "minihost bench: the benchmarks need the source tree: %v\n", err)
			return 1
		}
		command = append([]string{"go", "test", "-run", "^$", "-bench", *re, "-count", "1", "-timeout", "0"}, benchPackages...)
		var buf bytes.Buffer
		for i := 1; i <= *count && runErr == nil; i++ {
			fmt.Fprintf(stderr, "minihost bench: run %d of %d, in %s: %s\n", i, *count, root, strings.Join(command, " "))
			cmd := exec.CommandContext(ctx, command[0], command[1:]...)
			cmd.Dir = root
			cmd.Stdout = io.MultiWriter(&buf, stderr)
			cmd.Stderr = stderr
			runErr = cmd.Run()
		}
		out = buf.Bytes()
	}

	results, err := parseBenchOutput(bytes.NewReader(out))
	if err != nil {
		fmt.Fprintf(stderr, "minihost bench: %v\n", err)
		return 1
	}
	rep := buildBenchReport(results, parseBenchFailures(out))
	rep.Command = command
	var missing []benchGoalResult
	if *input == "" {
		missing = missingBenchGoals(rep, *re)
		rep.Goals = append(rep.Goals, missing...)
	}
	if len(rep.Figures) == 0 && len(rep.Failed) == 0 {
		if runErr != nil {
			fmt.Fprintf(stderr, "minihost bench: go test: %v\n", runErr)
		} else {
			fmt.Fprintln(stderr, "minihost bench: no benchmark results (does --bench match any?)")
		}
		return 1
	}
	if *asJSON {
		if err := printJSON(stdout, rep); err != nil {
			fmt.Fprintf(stderr, "minihost bench: %v\n", err)
			return 1
		}
	} else {
		printBenchReport(stdout, rep)
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(stderr, "minihost bench: FAILED %s: %s\n", f.Benchmark, f.Message)
	}
	if len(rep.Failed) > 0 {
		fmt.Fprintf(stderr, "minihost bench: %d benchmark(s) failed (the table shows what finished)\n", len(rep.Failed))
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "minihost bench: go test: %v (the table shows what finished)\n", runErr)
	}
	for _, g := range missing {
		fmt.Fprintf(stderr, "minihost bench: MISSING %s: %s\n", g.Goal, g.Value)
	}
	if runErr != nil || len(rep.Failed) > 0 || len(missing) > 0 {
		return 1
	}
	return 0
}

// benchStats summarizes the runs of one benchmark in one unit.
type benchStats struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

func newBenchStats(runs []float64) *benchStats {
	s := slices.Clone(runs)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return &benchStats{Median: med, Min: s[0], Max: s[len(s)-1], Runs: runs}
}

// benchFigure is one row of the table: a figure of ours beside its floor.
type benchFigure struct {
	Figure  string      `json:"figure"` // "SyncLaunch", "SyncLaunch/async", ...
	Package string      `json:"package"`
	Unit    string      `json:"unit"`
	Ours    *benchStats `json:"ours"`
	Floor   *benchStats `json:"floor,omitempty"`
	// Ratio is Ours.Median / Floor.Median (for req/s, above 1 is better;
	// for every other unit, below 1 is).
	Ratio float64 `json:"ratio,omitempty"`
	// RatioMin and RatioMax bound the ratios of the runs paired in order
	// (run i of ours with run i of the floor: with "minihost bench" they
	// come from the same go test run, measured one after the other).
	RatioMin float64 `json:"ratioMin,omitempty"`
	RatioMax float64 `json:"ratioMax,omitempty"`
	// Delta is Ours.Median - Floor.Median, in Unit.
	Delta float64 `json:"delta,omitempty"`
}

// benchGoalResult is one goal of the issue, checked against the figures.
type benchGoalResult struct {
	Goal  string `json:"goal"`
	Value string `json:"value"`
	Met   bool   `json:"met"`
}

// benchReport is what "minihost bench" prints.
type benchReport struct {
	Command []string          `json:"command,omitempty"`
	Figures []*benchFigure    `json:"figures"`
	Failed  []benchFailure    `json:"failed,omitempty"`
	Goals   []benchGoalResult `json:"goals"`
}

// floorOf names top-level benchmarks that are the floor of another one,
// for benchmarks written before the "minihost"/"floor" sub-benchmark
// convention.
var floorOf = map[string]string{"DocumentFileServer": "Document"}

// standardUnits are the units go test itself reports; a figure is shown
// in the unit of the metric its benchmark reports itself (req/s, MiB/app;
// the alphabetically first when there are several), else in ns/op.
var standardUnits = map[string]bool{"ns/op": true, "B/op": true, "allocs/op": true, "MB/s": true}

// buildBenchReport groups results into figures and lists the failed
// benchmarks beside them: for a benchmark with a
// "floor" sub-benchmark, every other sub-benchmark is a figure against that
// floor ("minihost" is named after the benchmark alone); a top-level floor
// from floorOf pairs with its benchmark; the rest stand alone.
func buildBenchReport(results []benchResult, failed []benchFailure) *benchReport {
	type key struct{ pkg, top, sub string }
	runs := map[key][]benchResult{}
	var order []key
	for _, r := range results {
		top, sub, _ := strings.Cut(r.Name, "/")
		if target, ok := floorOf[top]; ok && sub == "" {
			top, sub = target, "floor"
		}
		k := key{r.Package, top, sub}
		if _, ok := runs[k]; !ok {
			order = append(order, k)
		}
		runs[k] = append(runs[k], r)
	}
	rep := &benchReport{Failed: failed}
	for _, k := range order {
		if k.sub == "floor" {
			continue
		}
		ours := runs[k]
		floor := runs[key{k.pkg, k.top, "floor"}]
		unit := "ns/op"
		for u := range ours[0].Metrics {
			if !standardUnits[u] && (unit == "ns/op" || u < unit) {
				unit = u // the custom unit; sorted for a stable pick among several
			}
		}
		f := &benchFigure{Figure: k.top, Package: k.pkg, Unit: unit, Ours: newBenchStats(values(ours, unit))}
		if k.sub != "" && k.sub != "minihost" {
			f.Figure = k.top + "/" + k.sub
		}
		if fv := values(floor, unit); len(fv) > 0 {
			f.Floor = newBenchStats(fv)
			f.Ratio = f.Ours.Median / f.Floor.Median
			f.Delta = f.Ours.Median - f.Floor.Median
			f.RatioMin, f.RatioMax = math.Inf(1), math.Inf(-1)
			for i := 0; i < len(f.Ours.Runs) && i < len(fv); i++ {
				r := f.Ours.Runs[i] / fv[i]
				f.RatioMin, f.RatioMax = min(f.RatioMin, r), max(f.RatioMax, r)
			}
		}
		rep.Figures = append(rep.Figures, f)
	}
	rep.Goals = checkBenchGoals(rep.Figures, failed)
	return rep
}

func values(rs []benchResult, unit string) []float64 {
	var vs []float64
	for _, r := range rs {
		if v, ok := r.Metrics[unit]; ok {
			vs = append(vs, v)
		}
	}
	return vs
}

func printBenchReport(w io.Writer, rep *benchReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tUNIT\tOURS\t(MIN-MAX)\tFLOOR\t(MIN-MAX)\tRATIO\t(PER RUN)\tDELTA\tRUNS")
	for _, f := range rep.Figures {
		floor, floorRange, ratio, ratioRange, delta := "-", "", "-", "", "-"
		if f.Floor != nil {
			floor = formatBenchValue(f.Floor.Median, f.Unit)
			floorRange = formatBenchRange(f.Floor, f.Unit)
			ratio = fmt.Sprintf("%.2f", f.Ratio)
			ratioRange = fmt.Sprintf("(%.2f-%.2f)", f.RatioMin, f.RatioMax)
			delta = formatBenchValue(f.Delta, f.Unit)
			if f.Delta >= 0 {
				delta = "+" + delta
			}
		}
		unit := f.Unit
		if unit == "ns/op" {
			unit = "time/op"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", f.Figure, unit,
			formatBenchValue(f.Ours.Median, f.Unit), formatBenchRange(f.Ours, f.Unit),
			floor, floorRange, ratio, ratioRange, delta, len(f.Ours.Runs))
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(tw, "%s\tFAILED: %s\n", f.Benchmark, f.Message)
	}
	tw.Flush()
	if len(rep.Goals) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GOAL\tVALUE\tMET")
	for _, g := range rep.Goals {
		met := "missed"
		if g.Met {
			met = "met"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Goal, g.Value, met)
	}
	tw.Flush()
}

func formatBenchRange(s *benchStats, unit string) string {
	return "(" + formatBenchValue(s.Min, unit) + "-" + formatBenchValue(s.Max, unit) + ")"
}

// formatBenchValue prints ns/op as a duration with three significant
// digits and other units as a number with three significant digits (or
// all the digits before the point), without the unit.
func formatBenchValue(v float64, unit string) string {
	if unit != "ns/op" {
		return strconv.FormatFloat(v, 'f', benchDecimals(v), 64)
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	for _, u := range []struct {
		name string
		ns   float64
	}{{"s", 1e9}, {"ms", 1e6}, {"µs", 1e3}} {
		if v >= u.ns {
			return sign + strconv.FormatFloat(v/u.ns, 'f', benchDecimals(v/u.ns), 64) + u.name
		}
	}
	return sign + strconv.FormatFloat(v, 'f', benchDecimals(v), 64) + "ns"
}

// benchDecimals gives three significant digits for numbers below 1000.
func benchDecimals(v float64) int {
	switch v = math.Abs(v); {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	default:
		return 2
	}
}
