package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/cmd/minihost/internal/simulate"
)

func TestSimulateCommand(t *testing.T) {
	code, stdout, stderr := relRun(t, "simulate", "--clients", "2000", "--hours", "48")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"2000 clients, 48h after a release, seed 1",
		"policy: periodic 6h (first round ~1m after the host starts), push (held 12h, prefetch within 10m), recent window 7d, long-unused 7d, sync timeout 5s",
		"ACTIVE USERS", "active users (opened since the release)", "whole fleet",
		"checks (release documents)", "downloads (packages)",
		"opens of a version the policy forbids: 0",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(stdout, "\n") {
		if f := strings.Fields(line); len(f) == 7 && strings.HasSuffix(f[1], "%") {
			rows[f[0]] = true
		}
	}
	if !rows["1"] || !rows["24"] || !rows["48"] || rows["60"] {
		t.Errorf("coverage rows %v: want 1 to 48 hours, none after", rows)
	}
}

func TestSimulateCommandJSONAndSVG(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "cov.svg")
	code, stdout, stderr := relRun(t, "simulate", "--clients", "2000", "--hours", "48", "--seed", "3",
		"--periodic", "3h", "--json", "--svg", svg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r simulate.Result
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("output is not a Result: %v\n%s", err, stdout)
	}
	if r.Config.Clients != 2000 || r.Config.Seed != 3 || r.Config.Policy.PeriodicInterval != 3*time.Hour {
		t.Errorf("config %+v does not match the flags", r.Config)
	}
	if len(r.Curve) != 48*4+1 || len(r.RequestsPerHour) != 48 || r.Totals.Checks == 0 {
		t.Errorf("curve %d points, %d hours, %d checks", len(r.Curve), len(r.RequestsPerHour), r.Totals.Checks)
	}
	data, err := os.ReadFile(svg)
	if err != nil || !strings.HasPrefix(string(data), "<svg ") || !strings.Contains(string(data), "</svg>") {
		t.Fatalf("chart: %v, %.40q", err, data)
	}
}

func TestSimulateCommandSweep(t *testing.T) {
	code, stdout, stderr := relRun(t, "simulate", "--clients", "300", "--hours", "24", "--sweep", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rs []simulate.Result
	if err := json.Unmarshal([]byte(stdout), &rs); err != nil {
		t.Fatal(err)
	}
	vs := simulate.DefaultVariants()
	if len(rs) != len(vs) {
		t.Fatalf("%d results, want %d", len(rs), len(vs))
	}
	for i, r := range rs {
		if r.Name != vs[i].Name || r.Config.Clients != 300 {
			t.Errorf("result %d: %q with %d clients, want %q with 300", i, r.Name, r.Config.Clients, vs[i].Name)
		}
	}
	code, stdout, _ = relRun(t, "simulate", "--clients", "300", "--hours", "24", "--sweep")
	if code != 0 || !strings.Contains(stdout, "VARIANT") || !strings.Contains(stdout, "periodic 1h") {
		t.Fatalf("exit %d, table:\n%s", code, stdout)
	}
}

func TestSimulateCommandUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no clients", []string{"--clients", "0"}, "--clients 0"},
		{"no hours", []string{"--hours", "-1"}, "--hours -1"},
		{"zero periodic", []string{"--periodic", "0s"}, "--periodic 0s"},
		{"long-unused above window", []string{"--long-unused", "200h"}, "LongUnused"},
		{"bad duration", []string{"--sync-timeout", "soon"}, "sync-timeout"},
		{"argument", []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := relRun(t, append([]string{"simulate"}, tt.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
			for _, want := range []string{tt.want, "usage: minihost simulate", "example:"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// TestSimulateInterrupted: Ctrl-C (here, a context already over) ends the
// simulation with one line saying so, not a "context canceled" per worker.
func TestSimulateInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr strings.Builder
	code := run(ctx, []string{"simulate", "--clients", "2000", "--hours", "2", "--workers", "2"}, &stdout, &stderr)
	if code != 1 || stderr.String() != "minihost simulate: interrupted; nothing printed\n" {
		t.Fatalf("exit %d, want 1 with one line saying it was interrupted; stderr:\n%s", code, stderr.String())
	}
}
