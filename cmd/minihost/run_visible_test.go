package main

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

// TestRunNamesCheckFailures: a dead server, a wrong public key and an
// expired release document each print a text line that names the problem
// and its likely fix, both on a first install (the launch is blocked) and
// on the cold start of an installed app (async: the guest still gets
// hasUpdate=false).
func TestRunNamesCheckFailures(t *testing.T) {
	other, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	tests := []struct {
		name string
		// setup returns the --server and --pubkey to run with, and the
		// --exit-after event; it may install the app in home first.
		setup func(t *testing.T, home string) (server, pubkey, exitAfter string)
		want  []string
	}{
		{"dead server, first install", func(t *testing.T, home string) (string, string, string) {
			return deadServer(t), updater.EncodePublicKey(other), "blocked"
		}, []string{"blocked (attempt 1)", "checkFailed: blocked check:", "cannot be reached: check --server"}},
		{"wrong public key, first install", func(t *testing.T, home string) (string, string, string) {
			kit := liveKit(t)
			return kit.URL, updater.EncodePublicKey(other), "blocked"
		}, []string{"checkFailed: blocked check:", "signature", "check --pubkey"}},
		{"dead server, installed", func(t *testing.T, home string) (string, string, string) {
			kit := liveKit(t)
			install(t, home, kit)
			kit.Close()
			return kit.URL, updater.EncodePublicKey(kit.PublicKey), "checkForUpdate"
		}, []string{"checkFailed: launch-async check:", "cannot be reached", "checkForUpdate hasUpdate=false"}},
		{"expired document, installed", func(t *testing.T, home string) (string, string, string) {
			kit := liveKit(t)
			install(t, home, kit)
			// A release signed three hours ago with a one-hour lifetime, as
			// a stale static export would serve it.
			kit.Clock.Advance(-3 * time.Hour)
			kit.Publish(t, runtimetest.BuildPackage(t, "samples/counter", "2.0.0"), 100)
			return kit.URL, updater.EncodePublicKey(kit.PublicKey), "checkForUpdate"
		}, []string{"checkFailed: launch-async check:", "expired", "static export refreshed", "checkForUpdate hasUpdate=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			server, pubkey, exitAfter := tt.setup(t, home)
			code, stdout, stderr := runBounded(t, 60*time.Second, "run", "--home", home, "--server", server,
				"--pubkey", pubkey, "--exit-after", exitAfter, "demo.counter")
			require.Equal(t, 0, code, stderr)
			for _, w := range tt.want {
				require.Contains(t, stdout, w, "stderr:\n%s", stderr)
			}
		})
	}
}

// liveKit is a release server whose clock starts at the real time: the
// CLI checks document expiry against the real clock.
func liveKit(t *testing.T) *updatertest.Server {
	kit := updatertest.NewServer(t, updatertest.Config{Clock: updatertest.NewFakeClock(time.Now())})
	kit.Publish(t, runtimetest.BuildPackage(t, "samples/counter", "1.0.0"), 100)
	return kit
}

// install runs the app once from kit, so home holds 1.0.0.
func install(t *testing.T, home string, kit *updatertest.Server) {
	code, _, stderr := runBounded(t, 60*time.Second, "run", "--home", home, "--server", kit.URL,
		"--pubkey", updater.EncodePublicKey(kit.PublicKey), "--exit-after", "checkForUpdate", "demo.counter")
	require.Equal(t, 0, code, stderr)
}

// TestRunUnknownAppEnds: a run of an app the server has never heard of,
// with nothing installed, ends at once with exit code 1 and says so (rule
// F2): it used to retry the 404 with backoff until interrupted.
func TestRunUnknownAppEnds(t *testing.T) {
	kit := liveKit(t)
	code, stdout, stderr := runBounded(t, 60*time.Second, "run", "--home", t.TempDir(), "--server", kit.URL,
		"--pubkey", updater.EncodePublicKey(kit.PublicKey), "nosuch.app")
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "the release server has no such app")
	require.Contains(t, stderr, "check the app id and --server", "the last line names the fix too")
	require.NotContains(t, stdout, "blocked (attempt", "an unknown app is not a blocked launch")
}
