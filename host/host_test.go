package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// events records every Event a host emits.
type events struct {
	mu  sync.Mutex
	all []host.Event
	ch  chan host.Event
}

func newEvents() *events { return &events{ch: make(chan host.Event, 4096)} }

func (e *events) add(ev host.Event) {
	if os.Getenv("MINIHOST_TEST_EVENTS") != "" {
		j, _ := json.Marshal(ev)
		os.Stderr.Write(append(j, '\n'))
	}
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.ch <- ev:
	default:
	}
}

// logged reports whether app logged a line containing sub.
func (e *events) logged(app, sub string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.all {
		if ev.App == app && ev.Event == host.EventLog && strings.Contains(ev.Message, sub) {
			return true
		}
	}
	return false
}

func (e *events) names(app string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if ev.App == app && ev.Event != host.EventLog {
			out = append(out, ev.Event)
		}
	}
	return out
}

func (e *events) dump() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		j, _ := json.Marshal(ev)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// waitFor waits (bounded) for an event of app matching ok.
func (e *events) waitFor(t *testing.T, ok func(host.Event) bool) host.Event {
	t.Helper()
	return e.waitWithin(t, 30*time.Second, ok)
}

// waitWithin is waitFor with its own deadline, for waits that include a
// guest's first compile (tens of seconds under -race on a busy machine).
func (e *events) waitWithin(t *testing.T, limit time.Duration, ok func(host.Event) bool) host.Event {
	t.Helper()
	e.mu.Lock()
	for _, ev := range e.all {
		if ok(ev) {
			e.mu.Unlock()
			return ev
		}
	}
	e.mu.Unlock()
	timeout := time.After(limit)
	for {
		select {
		case ev := <-e.ch:
			if ok(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("event not seen within %v; events:\n%s", limit, e.dump())
		}
	}
}

func newHost(t *testing.T, home string, cfg host.Config) (*host.Host, *events) {
	t.Helper()
	ev := newEvents()
	cfg.Home = home
	cfg.OnEvent = ev.add
	cfg.Runtime.CacheDir = runtimetest.CacheDir(t)
	h, err := host.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close(context.Background()) })
	return h, ev
}

// guestDir extracts the test guest name as app appID into a folder.
func guestDir(t *testing.T, name, appID string) string {
	t.Helper()
	pkg := runtimetest.BuildPackage(t, filepath.Join("runtime", "testdata", "guests", name), "1.0.0")
	p, err := mpk.OpenFile(pkg, mpk.Limits{})
	require.NoError(t, err)
	defer p.Close()
	dir := filepath.Join(t.TempDir(), appID)
	require.NoError(t, p.Extract(t.Context(), afero.NewOsFs(), dir))
	m := *p.Manifest
	m.AppID = appID
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, mpk.ManifestName), b, 0o644))
	return dir
}

func emit(t *testing.T, a *host.App, name string, data any) {
	t.Helper()
	raw, err := json.Marshal(data)
	require.NoError(t, err)
	require.NoError(t, a.Emit(t.Context(), name, raw))
}

func TestLaunchLifecycle(t *testing.T) {
	h, ev := newHost(t, t.TempDir(), host.Config{})
	a, err := h.LaunchPackage(t.Context(), runtimetest.BuildPackage(t, "samples/hello", "1.2.3"))
	require.NoError(t, err)
	require.Equal(t, "demo.hello", a.ID())
	require.Equal(t, "1.2.3", a.Version())
	require.NoError(t, a.Hide(t.Context()))
	require.NoError(t, a.Show(t.Context()))
	require.NoError(t, a.Close(t.Context()))
	require.Equal(t, []string{"launch", "show", "hide", "show", "hide", "exit"}, ev.names("demo.hello"))
	require.ErrorIs(t, a.Show(t.Context()), host.ErrClosed)
}

// TestShowHideAlternate: onShow and onHide alternate, as in WeChat. A
// launched app is shown, so Show delivers nothing; of concurrent Hides
// one delivers onHide; a second Hide in a row and Close of a hidden app
// deliver no second onHide.
func TestShowHideAlternate(t *testing.T) {
	h, ev := newHost(t, t.TempDir(), host.Config{})
	a, err := h.LaunchPackage(t.Context(), runtimetest.BuildPackage(t, "samples/hello", "1.2.3"))
	require.NoError(t, err)
	require.NoError(t, a.Show(t.Context()))
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range cap(errs) {
		wg.Go(func() { errs <- a.Hide(t.Context()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, a.Hide(t.Context()))
	require.NoError(t, a.Close(t.Context()))
	require.Equal(t, []string{"launch", "show", "hide", "exit"}, ev.names("demo.hello"))
}

// TestRelaunchIsNotAShow: an instance re-created after a crash gets
// onLaunch(relaunch) and then the call that re-created it, and no onShow
// of its own: a relaunch is the host's recovery, not the user bringing the
// app forward (RATIONALE.md, runtime). A Show that re-creates the instance
// is delivered once.
func TestRelaunchIsNotAShow(t *testing.T) {
	const id = "test.adversary"
	tests := []struct {
		name   string
		hidden bool                        // hidden before the crash
		next   func(*testing.T, *host.App) // the call that relaunches
		want   []string                    // its events, from the relaunch on
	}{
		{"shown, event", false, func(t *testing.T, a *host.App) { emit(t, a, "ping", nil) }, []string{"launch"}},
		{"hidden, event", true, func(t *testing.T, a *host.App) { emit(t, a, "ping", nil) }, []string{"launch"}},
		{"hidden, show", true, func(t *testing.T, a *host.App) { require.NoError(t, a.Show(t.Context())) }, []string{"launch", "show"}},
		{"shown, hide", false, func(t *testing.T, a *host.App) { require.NoError(t, a.Hide(t.Context())) }, []string{"launch", "hide"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ev := escHost(t, t.TempDir(), host.Config{})
			a := launchAs(t, h, ev, "adversary", id)
			if tt.hidden {
				require.NoError(t, a.Hide(t.Context()))
			}
			require.ErrorIs(t, a.Emit(t.Context(), "misbehave", json.RawMessage(`{"action":"panic"}`)), runtime.ErrTrap)
			before := len(ev.names(id))
			tt.next(t, a)
			got := ev.names(id)[before:]
			require.Equal(t, tt.want, got, ev.dump())
			require.Equal(t, abi.ReasonRelaunch, ev.waitCount(t, id, host.EventLaunch, "", 2).Reason)
		})
	}
}

func TestStorage(t *testing.T) {
	home := t.TempDir()
	dirA, dirB := guestDir(t, "basic", "test.a"), guestDir(t, "basic", "test.b")
	h, ev := newHost(t, home, host.Config{StorageQuota: 256})
	a, err := h.LaunchPackage(t.Context(), dirA)
	require.NoError(t, err)
	b, err := h.LaunchPackage(t.Context(), dirB)
	require.NoError(t, err)

	emit(t, a, "storage-set", map[string]string{"key": "secret", "value": "a's"})
	emit(t, b, "storage-get", map[string]string{"key": "secret"})
	require.True(t, ev.logged("test.a", "set secret: ok"), ev.dump())
	require.True(t, ev.logged("test.b", "get secret: "), ev.dump())
	require.False(t, ev.logged("test.b", "a's"), "app b read app a's storage")

	emit(t, a, "storage-set", map[string]string{"key": "big", "value": strings.Repeat("x", 300)})
	require.True(t, ev.logged("test.a", "set big: "), ev.dump())
	require.False(t, ev.logged("test.a", "set big: ok"), "over-quota write succeeded")
	require.NoError(t, h.Close(t.Context()))

	// A new host on the same home sees the value.
	h2, ev2 := newHost(t, home, host.Config{})
	a2, err := h2.LaunchPackage(t.Context(), dirA)
	require.NoError(t, err)
	emit(t, a2, "storage-get", map[string]string{"key": "secret"})
	require.True(t, ev2.logged("test.a", "get secret: a's"), ev2.dump())
}

// heldUI keeps modal answers until the test releases them.
type heldUI struct {
	answers chan func(bool)
}

func (u *heldUI) ShowModal(_ string, _ abi.Modal, answer func(bool)) { u.answers <- answer }

func TestModalOutlivesDeadline(t *testing.T) {
	ui := &heldUI{answers: make(chan func(bool), 1)}
	const deadline = 200 * time.Millisecond
	h, ev := newHost(t, t.TempDir(), host.Config{UI: ui, Runtime: runtime.Config{CallTimeout: deadline}})
	a, err := h.LaunchPackage(t.Context(), guestDir(t, "basic", "test.modal"))
	require.NoError(t, err)
	emit(t, a, "modal", nil) // returns at once: showModal never blocks
	answer := <-ui.answers
	time.Sleep(3 * deadline) // a person reading the dialog for longer than any deadline
	answer(true)
	ev.waitFor(t, func(e host.Event) bool {
		return e.Event == host.EventLog && strings.Contains(e.Message, "confirm=true")
	})
	for _, e := range ev.names("test.modal") {
		require.NotEqual(t, host.EventError, e, ev.dump())
	}
}

func TestGuestFailuresAreContained(t *testing.T) {
	h, ev := newHost(t, t.TempDir(), host.Config{Runtime: runtime.Config{CallTimeout: 3 * time.Second, MemoryLimitPages: 256}})
	bad, err := h.LaunchPackage(t.Context(), guestDir(t, "basic", "test.bad"))
	require.NoError(t, err)
	good, err := h.LaunchPackage(t.Context(), guestDir(t, "basic", "test.good"))
	require.NoError(t, err)
	tests := []struct {
		name, event string
		err         error // what EventError's Err wraps
	}{
		{"panic", "panic", runtime.ErrTrap},
		{"infinite loop", "loop", runtime.ErrTimeout},
		{"long sleep", "sleep", runtime.ErrTimeout},
		{"memory", "alloc", runtime.ErrMemoryLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, bad.Emit(t.Context(), tt.event, nil))
			ev.waitFor(t, func(e host.Event) bool {
				return e.App == "test.bad" && e.Event == host.EventError && errors.Is(e.Err, tt.err)
			})
			// The other app is served, and the failed one is re-created.
			emit(t, good, "echo", "still here "+tt.name)
			require.True(t, ev.logged("test.good", "still here "+tt.name))
			emit(t, bad, "echo", "back "+tt.name)
			require.True(t, ev.logged("test.bad", "back "+tt.name))
		})
	}
	ev.waitFor(t, func(e host.Event) bool {
		return e.App == "test.bad" && e.Event == host.EventLaunch && e.Reason == abi.ReasonRelaunch
	})
}

func TestLaunchRejectsBadPackage(t *testing.T) {
	h, _ := newHost(t, t.TempDir(), host.Config{})
	bad := filepath.Join(t.TempDir(), "bad.mpk")
	require.NoError(t, os.WriteFile(bad, []byte("not a zip"), 0o644))
	_, err := h.LaunchPackage(t.Context(), bad)
	require.ErrorIs(t, err, mpk.ErrInvalid)
	_, err = h.LaunchPackage(t.Context(), guestDir(t, "noabi", "test.noabi"))
	require.ErrorIs(t, err, runtime.ErrNotABI)
}

// errIsAny reports whether err wraps one of targets (errors.Is).
func errIsAny(err error, targets ...error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
