package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
)

// runBounded runs the CLI and fails the test if it does not return within
// limit: every case here is a run that used to go on until killed.
func runBounded(t *testing.T, limit time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	done := make(chan int, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { done <- run(ctx, args, &out, &errOut) }()
	select {
	case code = <-done:
	case <-time.After(limit):
		cancel()
		<-done
		t.Fatalf("minihost %s did not return within %v; stderr:\n%s", strings.Join(args, " "), limit, errOut.String())
	}
	return code, out.String(), errOut.String()
}

// deadServer returns the URL of a loopback port that refuses connections.
func deadServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	return url
}

// TestRunExitAfterBoundsBlockedLaunch: a first install from a server that
// is down blocks the launch (nothing may open yet); --exit-after DURATION
// must end the run anyway, with a message that says the app never opened.
func TestRunExitAfterBoundsBlockedLaunch(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	code, _, stderr := runBounded(t, 30*time.Second, "run", "--home", t.TempDir(),
		"--server", deadServer(t), "--pubkey", updater.EncodePublicKey(pub),
		"--exit-after", "500ms", "--events", "json", "demo.counter")
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "demo.counter did not open within --exit-after 500ms")
}

// TestRunExitAfterBoundsCallback: a guest sleeping in onLaunch holds the
// launch for the whole callback deadline (5s). --exit-after must abort the
// callback rather than wait for that deadline: no callback may end in a
// timeout during the run.
func TestRunExitAfterBoundsCallback(t *testing.T) {
	pkg := runtimetest.BuildPackage(t, "runtime/testdata/guests/sleepinit", "1.0.0")
	code, stdout, stderr := runBounded(t, 30*time.Second, "run", "--home", t.TempDir(),
		"--exit-after", "1s", "--events", "json", pkg)
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "did not open within --exit-after 1s")
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if line == "" {
			continue
		}
		var ev host.Event
		require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
		if ev.Event == host.EventError {
			require.NotEqual(t, host.ErrorTimeout, ev.Reason,
				"the run waited for the callback deadline instead of ending at --exit-after: %s", line)
		}
	}
}
