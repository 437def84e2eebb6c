package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestRunDecisionGolden runs `minihost run APPID --server` as a user
// would and compares the decision records of a first install and of the
// next (async) cold start with golden files; times are zeroed.
func TestRunDecisionGolden(t *testing.T) {
	// The CLI checks expiry against the real clock: start the kit's clock now.
	kit := updatertest.NewServer(t, updatertest.Config{Clock: updatertest.NewFakeClock(time.Now())})
	kit.Publish(t, runtimetest.BuildPackage(t, "samples/counter", "1.0.0"), 100)
	home := t.TempDir()
	args := []string{"--home", home, "--server", kit.URL, "--pubkey", updater.EncodePublicKey(kit.PublicKey),
		"--client-id", "golden", "--exit-after", "checkForUpdate"}
	tests := []struct {
		name    string
		publish string // published before this run
	}{
		{"first-install", ""},
		{"async-cold-start", "2.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.publish != "" {
				kit.Publish(t, runtimetest.BuildPackage(t, "samples/counter", tt.publish), 100)
			}
			evs := runJSON(t, append(args, "demo.counter")...)
			var d *host.Decision
			for _, ev := range evs {
				if ev.Event == host.EventDecision {
					d = ev.Decision
				}
			}
			require.NotNil(t, d, "no decision event")
			d.Duration = 0
			if d.Check != nil {
				d.Check.Duration = 0
			}
			if d.Download != nil {
				d.Download.Duration, d.Download.Bytes = 0, 0
			}
			got, err := json.MarshalIndent(d, "", "  ")
			require.NoError(t, err)
			golden := filepath.Join("testdata", "decision-"+tt.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run with -update to create it")
			require.Equal(t, string(bytes.TrimSpace(want)), string(got))
		})
	}
}

func TestRunUpdateUsage(t *testing.T) {
	testExits(t, []exitCase{
		{"server without pubkey", []string{"run", "--server", "http://127.0.0.1:1", "demo.counter"}, 2, "--server needs --pubkey"},
		{"pubkey without server", []string{"run", "--pubkey", "x", "demo.counter"}, 2, "need --server"},
		{"bad pubkey", []string{"run", "--server", "http://127.0.0.1:1", "--pubkey", "not-a-key", "demo.counter"}, 2, "--pubkey"},
		{"bad now", []string{"run", "--server", "http://127.0.0.1:1", "--pubkey", updater.EncodePublicKey(make([]byte, 32)), "--now", "tomorrow", "demo.counter"}, 2, "RFC 3339"},
		{"check without server", []string{"check"}, 2, "needs --server"},
	})
}

// TestDevSimulateUpdate runs `minihost dev` as an author would.
func TestDevSimulateUpdate(t *testing.T) {
	useTestCompileCache(t)
	tests := []struct {
		mode, want string
	}{
		{"success", host.EventUpdateReady},
		{"failure", host.EventUpdateFailed},
		{"fail", host.EventUpdateFailed}, // the older name
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), []string{"dev", "--simulate-update", tt.mode, "--events", "json", "--no", "--linger", "0s", "../../samples/counter"}, &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			var seen []string
			for _, line := range bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n")) {
				var ev host.Event
				require.NoError(t, json.Unmarshal(line, &ev))
				seen = append(seen, ev.Event)
			}
			require.Contains(t, seen, host.EventCheckForUpdate)
			require.Contains(t, seen, tt.want)
		})
	}
}

// TestDevConfirmsWithoutTerminal runs `minihost dev` with stdin a file,
// as in CI or an editor's task runner: the sample's "restart now?" modal
// is confirmed, not cancelled by the end of input, the output says so, and
// applyUpdate runs the new version.
func TestDevConfirmsWithoutTerminal(t *testing.T) {
	useTestCompileCache(t)
	in, err := os.Create(filepath.Join(t.TempDir(), "stdin")) // empty
	require.NoError(t, err)
	defer in.Close()
	saved := os.Stdin
	os.Stdin = in
	t.Cleanup(func() { os.Stdin = saved })

	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"dev", "../../samples/counter", "--simulate-update", "success", "--exit-after", host.EventApplyUpdate}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	require.Contains(t, stderr.String(), "stdin is not a terminal: modals are answered confirm")
	require.Contains(t, stdout.String(), "minihost dev: starting ../../samples/counter; exits after the applyUpdate event (--exit-after); press Ctrl-C to quit sooner\n")
	require.Contains(t, stdout.String(), "answered confirm")
	require.Contains(t, stdout.String(), "applyUpdate")
}

// TestRunSaysHowToQuit checks the first line of run's text output, for
// each way a run ends.
func TestRunSaysHowToQuit(t *testing.T) {
	useTestCompileCache(t)
	code, stdout, stderr := relRunBounded(t, "run", "../../samples/hello", "--exit-after", "show")
	require.Equal(t, 0, code, stderr)
	first, _, _ := strings.Cut(stdout, "\n")
	require.Equal(t, "minihost run: starting ../../samples/hello; exits after the show event (--exit-after); press Ctrl-C to quit sooner", first)
	tests := []struct {
		name   string
		stopOn exitAfter
		want   string
	}{
		{"no --exit-after", exitAfter{}, "press Ctrl-C to quit (or pass --exit-after EVENT|DURATION)"},
		{"duration", exitAfter{d: 30 * time.Second}, "exits after 30s (--exit-after); press Ctrl-C to quit sooner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, quitHint(tt.stopOn))
		})
	}
}

func TestDemo(t *testing.T) {
	useTestCompileCache(t)
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"demo"}, &stdout, &stderr), stderr.String())
	for _, want := range []string{
		"host decides: sync launch because no local version",
		"counter v1.0.0: launch #1 (reason launch)",
		"host decides: async launch because cold start",
		"onCheckForUpdate delivered: hasUpdate=true",
		"onUpdateReady delivered",
		"applyUpdate: the host swapped the running module to 2.0.0",
		"counter v2.0.0: launch #3 (reason update)",
	} {
		require.Contains(t, stdout.String(), want)
	}
}
