package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// runJSON runs `minihost run` with JSON events and returns them.
// useTestCompileCache points the CLI's cache root at the test kits'
// (root/test) until the test ends, so that runs compile into, and reuse,
// root/test/wazero, which .ci/run warms without -race
// (TestGoGuestsCompile) before the race suite: compiling a guest under the
// race detector takes seconds. runtimetest's own caches sit under the
// root too: call it after the test's last runtimetest build.
func useTestCompileCache(t *testing.T) {
	t.Setenv("MINIHOST_CACHE", filepath.Dir(runtimetest.CacheDir(t)))
}

func runJSON(t *testing.T, args ...string) []host.Event {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), append([]string{"run", "--events", "json"}, args...), &stdout, &stderr)
	require.Equal(t, 0, code, "stderr:\n%s", stderr.String())
	var evs []host.Event
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var ev host.Event
		require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
		require.NotEmpty(t, ev.Event)
		require.NotEmpty(t, ev.App)
		require.False(t, ev.Time.IsZero())
		evs = append(evs, ev)
	}
	return evs
}

func logs(evs []host.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Event == host.EventLog {
			out = append(out, ev.Message)
		}
	}
	return out
}

// TestSamples runs each sample as its README says.
func TestSamples(t *testing.T) {
	useTestCompileCache(t)
	home := t.TempDir()
	tests := []struct {
		name string
		dir  string
		want [][]string // the log lines of each successive run
	}{
		{"hello", "../../samples/hello", [][]string{{"hello v1.0.0: onLaunch (reason launch)", "hello v1.0.0: onShow", "hello v1.0.0: onHide"}}},
		{"counter", "../../samples/counter", [][]string{
			{"counter v1.0.0: launch #1 (reason launch)", "counter: onShow", "counter: onHide"},
			{"counter v1.0.0: launch #2 (reason launch)", "counter: onShow", "counter: onHide"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, want := range tt.want {
				evs := runJSON(t, "--home", home, "--exit-after", "show", tt.dir)
				require.Equal(t, want, logs(evs))
				require.Equal(t, host.EventExit, evs[len(evs)-1].Event)
			}
		})
	}
}

// A JavaScript package runs on this module's samples/jsbase, which run
// builds as its base library.
func TestRunJSPackage(t *testing.T) {
	// Compiling the 19 MB base library under the race detector takes a
	// minute.
	useTestCompileCache(t)
	evs := runJSON(t, "--home", t.TempDir(), "--exit-after", "show", "../../samples/seed-js")
	require.Equal(t, "seed-js v1.0.0: onLaunch (reason launch) launch #1", logs(evs)[0])
	require.Equal(t, host.EventExit, evs[len(evs)-1].Event)
}

// TestRunJSPackageOutsideTheModule: outside a minihost checkout there is
// no base library to build, so a JS package cannot open; the error says
// what the app needs and how to give the host a base library.
func TestRunJSPackageOutsideTheModule(t *testing.T) {
	seed, err := filepath.Abs("../../samples/seed-js")
	require.NoError(t, err)
	t.Chdir(t.TempDir()) // no go.mod here or above: go list finds no minihost module
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"run", "--home", t.TempDir(), "--exit-after", "show", seed}, &stdout, &stderr)
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.Contains(t, stderr.String(), "needs JS base library of any version, this host has none")
	require.Contains(t, stderr.String(), "pass --base-library")
	require.Contains(t, stderr.String(), "--server")
}

// TestDemoOutsideTheSourceTree: demo needs samples/counter's sources and
// says where to run it from.
func TestDemoOutsideTheSourceTree(t *testing.T) {
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, run(t.Context(), []string{"demo", "--home", t.TempDir()}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "minihost demo: find samples/counter: find the minihost source tree: run from inside a clone of it")
}

func TestRunUsage(t *testing.T) {
	testExits(t, []exitCase{
		{"no target", []string{"run"}, 2, "missing TARGET"},
		{"bad events", []string{"run", "--events", "xml", "x"}, 2, "--events"},
		{"yes and no", []string{"run", "--yes", "--no", "x"}, 2, "exclude"},
		{"bad exit-after", []string{"run", "--exit-after", "-1s", "x"}, 2, "positive"},
		{"unknown exit-after event", []string{"run", "--exit-after", "bogus", "x"}, 2, `--exit-after "bogus": want a duration`},
		{"flags after the target", []string{"run", "/no/such/dir", "--exit-after", "bogus"}, 2, `--exit-after "bogus"`},
		{"missing target", []string{"run", "--home", "HOME", "/no/such/dir"}, 1, "no such file"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
	})
}

// TestGuestTextCannotForgeHostLines: a guest's log line or modal text
// cannot start a line of its own, drive the terminal, or read as a host
// line.
func TestGuestTextCannotForgeHostLines(t *testing.T) {
	forged := "hi\n[demo.counter 9.9.9] decision: sync opened 9.9.9\x1b[2J\x1b]0;pwned\x07\u202eevil"
	for _, tc := range []struct {
		name string
		ev   host.Event
	}{
		{"log", host.Event{Event: host.EventLog, App: "demo.counter", Version: "1.0.0", Message: forged}},
		{"modal", host.Event{Event: host.EventModal, App: "demo.counter", Version: "1.0.0", Modal: &abi.Modal{Title: forged, Content: forged}}},
		{"error", host.Event{Event: host.EventError, App: "demo.counter", Version: "1.0.0", Callback: "onShow", Message: forged}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := formatEvent(tc.ev)
			if strings.ContainsAny(line, "\n\r\x1b\x07\u202e") {
				t.Fatalf("control characters reach the terminal: %q", line)
			}
			if !strings.HasPrefix(line, "[demo.counter 1.0.0] ") {
				t.Fatalf("line %q does not start with the host's tag", line)
			}
			require.Contains(t, line, `\n[demo.counter 9.9.9]`, "the forged line is shown escaped, inside the guest's line")
		})
	}
	require.Equal(t, "plain text, ünïcode", guestText("plain text, ünïcode"))
}
