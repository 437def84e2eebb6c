package main

// The parsing half of "minihost bench": go test -bench output in, result
// lines and failed benchmarks out.

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// benchFailure is a benchmark that failed, with the first line it logged.
type benchFailure struct {
	Benchmark string `json:"benchmark"` // without "Benchmark", as "WxLog/minihost"
	Message   string `json:"message"`
}

// parseBenchFailures returns the benchmarks go test reports as failed,
// with the first line each logged. go test prints "--- FAIL: BenchmarkX"
// on a line of its own when the first run (b.N = 1) fails, and after the
// name on the result line ("BenchmarkX-2  --- FAIL: BenchmarkX-2") when a
// later one does. Only leaves are kept: a parent fails with its failed
// child and would repeat it.
func parseBenchFailures(out []byte) []benchFailure {
	var fails []benchFailure
	lines := strings.Split(string(out), "\n")
	for i, line := range lines {
		_, after, ok := strings.Cut(line, "--- FAIL: Benchmark")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSpace(after), " ") // drop a trailing "(0.00s)"
		f := benchFailure{Benchmark: procsSuffix.ReplaceAllString(name, ""), Message: "(no message)"}
		if i+1 < len(lines) {
			next := strings.TrimSpace(lines[i+1])
			indented := strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")
			if indented && next != "" && !strings.HasPrefix(next, "--- ") {
				f.Message = next
			}
		}
		if !slices.Contains(fails, f) {
			fails = append(fails, f)
		}
	}
	return slices.DeleteFunc(fails, func(parent benchFailure) bool {
		return slices.ContainsFunc(fails, func(f benchFailure) bool { return strings.HasPrefix(f.Benchmark, parent.Benchmark+"/") })
	})
}

// benchResult is one result line of go test -bench.
type benchResult struct {
	Package string             // import path from the "pkg:" line before it
	Name    string             // without "Benchmark" and the -GOMAXPROCS suffix
	N       int64              // iterations
	Metrics map[string]float64 // by unit: "ns/op", "B/op", "MiB/app", ...
}

// benchLine matches a result line: name, iterations, then value-unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S*)\s+(\d+)\s+(.+)$`)

// parseBenchOutput reads go test -bench output (several packages, any
// -count) and returns the result lines in order. A result whose numbers
// come on a later line than its name (the benchmark printed something in
// between) is joined up. Lines that are not results are skipped.
func parseBenchOutput(r io.Reader) ([]benchResult, error) {
	var (
		out     []benchResult
		raw     []string // names as printed, to strip the -P suffix below
		pkg     string
		pending string // a name printed alone, waiting for its numbers
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t")
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg, pending = strings.TrimSpace(p), ""
			continue
		}
		if strings.HasPrefix(line, "Benchmark") && !strings.ContainsAny(line, " \t") {
			pending = line
			continue
		}
		if pending != "" && strings.TrimSpace(line) != "" && (line[0] == ' ' || line[0] == '\t') {
			line = pending + line
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pending = ""
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse %q: iterations: %w", line, err)
		}
		fields := strings.Fields(m[3])
		if len(fields)%2 != 0 {
			return nil, fmt.Errorf("parse %q: values and units do not pair up", line)
		}
		metrics := map[string]float64{}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("parse %q: value %q: %w", line, fields[i], err)
			}
			metrics[fields[i+1]] = v
		}
		if _, ok := metrics["ns/op"]; !ok {
			return nil, fmt.Errorf("parse %q: no ns/op", line)
		}
		raw = append(raw, m[1])
		out = append(out, benchResult{Package: pkg, Name: strings.TrimPrefix(m[1], "Benchmark"), N: n, Metrics: metrics})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read benchmark output: %w", err)
	}
	// go test appends -GOMAXPROCS to every name when it is above 1. Strip
	// it only when every name carries the same one, so that a sub-benchmark
	// that ends in a number keeps it when GOMAXPROCS is 1.
	if suffix := commonProcsSuffix(raw); suffix != "" {
		for i := range out {
			out[i].Name = strings.TrimSuffix(out[i].Name, suffix)
		}
	}
	return out, nil
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

func commonProcsSuffix(names []string) string {
	suffix := ""
	for i, n := range names {
		s := procsSuffix.FindString(n)
		if s == "" || (i > 0 && s != suffix) {
			return ""
		}
		suffix = s
	}
	return suffix
}
