package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net"
	"strings"
	"sync"
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
// is down blocks the launch (nothing may open yet). --exit-after DURATION
// must end the run anyway, saying the app never opened; --exit-after
// blocked must end it once the launch reports being blocked.
func TestRunExitAfterBoundsBlockedLaunch(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	tests := []struct {
		name      string
		exitAfter string
		code      int
		want      string // in stderr
	}{
		{"duration", "500ms", 1, "demo.counter did not open within --exit-after 500ms"},
		{"event before the app opens", "blocked", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBounded(t, 30*time.Second, "run", "--home", t.TempDir(),
				"--server", deadServer(t), "--pubkey", updater.EncodePublicKey(pub),
				"--exit-after", tt.exitAfter, "--events", "json", "demo.counter")
			require.Equal(t, tt.code, code, stderr)
			require.Contains(t, stderr, tt.want)
			require.Contains(t, stdout, `"event":"blocked"`, "the launch never reported being blocked")
		})
	}
}

// TestRunExitAfterBoundsCallback: a guest sleeping in onLaunch holds the
// launch for the whole callback deadline (5s). --exit-after must abort the
// callback rather than wait for that deadline: no callback may end in a
// timeout during the run, and the guest must have started sleeping (else
// the run proved nothing: it ended before onLaunch).
func TestRunExitAfterBoundsCallback(t *testing.T) {
	pkg := runtimetest.BuildPackage(t, "runtime/testdata/guests/sleepinit", "1.0.0")
	useTestCompileCache(t)
	// A first run compiles the guest into the shared compile cache and ends
	// after onLaunch's deadline, so later runs reach onLaunch quickly.
	runBounded(t, 2*time.Minute, "run", "--home", t.TempDir(), "--exit-after", "error", pkg)
	// On a loaded machine even a cached launch may outlast a short
	// duration: try longer ones, all below the 5s callback deadline.
	for _, d := range []string{"2s", "3s", "4s"} {
		code, stdout, stderr := runBounded(t, 30*time.Second, "run", "--home", t.TempDir(),
			"--exit-after", d, "--events", "json", pkg)
		require.Equal(t, 1, code, stderr)
		require.Contains(t, stderr, "did not open within --exit-after "+d)
		slept := false
		for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
			if line == "" {
				continue
			}
			var ev host.Event
			require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
			slept = slept || (ev.Event == host.EventLog && ev.Message == "sleepinit: sleeping")
			if ev.Event == host.EventError {
				// "timeout": the JSON stream's kind of a runtime.ErrTimeout.
				require.NotEqual(t, "timeout", ev.Reason,
					"the run waited for the callback deadline instead of ending at --exit-after %s: %s", d, line)
			}
		}
		if slept {
			return
		}
		t.Logf("--exit-after %s ended the run before onLaunch; trying a longer one", d)
	}
	t.Fatal("the guest never reached its sleep in onLaunch within 4s of a cached launch")
}

// signalWriter collects output and closes seen once it holds want.
type signalWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// TestRunInterruptedWhileBlocked: Ctrl-C during a blocked first install
// says the app never opened, not "context canceled", and the text tag of
// an event without a version has no dangling space ("[demo.counter]").
func TestRunInterruptedWhileBlocked(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	out := &signalWriter{want: "blocked (attempt", seen: make(chan struct{})}
	var stderr bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "--home", t.TempDir(), "--server", deadServer(t),
			"--pubkey", updater.EncodePublicKey(pub), "demo.counter"}, out, &stderr)
	}()
	select {
	case <-out.seen:
	case <-time.After(30 * time.Second):
		t.Fatalf("no blocked event within 30s; stdout:\n%s", out.buf.String())
	}
	cancel()
	select {
	case code := <-done:
		require.Equal(t, 1, code)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return within 30s of the interrupt")
	}
	require.Contains(t, stderr.String(), "minihost run: interrupted before demo.counter opened")
	require.NotContains(t, stderr.String(), "context canceled")
	out.mu.Lock()
	defer out.mu.Unlock()
	require.Contains(t, out.buf.String(), "[demo.counter] blocked (attempt 1)")
}

// TestRunEndsWhenOnLaunchFails: a package whose onLaunch crashes opens
// with no working instance, and nothing in a run would call it again:
// run says so and exits 1 instead of waiting forever (also with
// --exit-after show, whose event never comes). A version that launches
// runs as usual.
func TestRunEndsWhenOnLaunchFails(t *testing.T) {
	useTestCompileCache(t)
	for _, tt := range []struct {
		name, version string
		code          int
		says          string
	}{
		{"onLaunch panics", "2.0.0", 1, "test.crashy 2.0.0 opened, but its onLaunch failed (trap): nothing runs"},
		{"onLaunch works", "1.0.0", 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pkg := runtimetest.BuildPackage(t, "runtime/testdata/guests/crashy", tt.version)
			code, _, stderr := runBounded(t, 2*time.Minute, "run", "--home", t.TempDir(), "--exit-after", "show", pkg)
			require.Equal(t, tt.code, code, stderr)
			require.Contains(t, stderr, tt.says)
		})
	}
}
