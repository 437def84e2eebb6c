package hosttest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

// defaultWait bounds a Kit's waits, cold starts and builds whose ctx has
// no deadline: long enough for a module's first compile under -race on a
// loaded machine, short enough that a lost event fails the test instead of
// hanging it.
const defaultWait = 3 * time.Minute

// clientID places the kit's host in staged rollouts: fixed, so a rollout
// test gets the same bucket on every run.
const clientID = "hosttest-client"

// Config configures New. The zero value is ready to use; zero fields take
// defaults.
type Config struct {
	// UI answers modals. nil: host.AutoAnswer(false), so a guest's own
	// "restart?" modal is declined and the test decides, with ApplyUpdate.
	UI host.UI
	// Policy configures the launch policy (updater.PolicyConfig; its zero
	// fields take updater's defaults). Its timers run on the kit's clock.
	Policy updater.PolicyConfig
	// Server configures the release server (updatertest.Config).
	Server updatertest.Config
	// Runtime configures the hosts' sandbox engine (compile cache, limits).
	Runtime runtime.Config
	// Wait bounds a wait whose ctx has no deadline; 0: 3 minutes, long
	// enough for a first compile under -race on a loaded machine.
	Wait time.Duration
}

// Kit is a release server, its fake clock and the host of the current
// cold start, all sharing one home folder across cold starts (a new Host
// per ColdStart, as a new process). Create one with New. Its methods are
// for the test's goroutine (they stop the test on error); the events it
// records arrive from the hosts' goroutines. Close, which New registers
// with tb.Cleanup, closes the app, the host and the server.
type Kit struct {
	// Server is the release server: Publish and SetSettings through it
	// for rollouts and settings, SetFault for network faults.
	Server *updatertest.Server
	// Clock is Server.Clock: the launch policy's and the documents' one
	// clock. Advance it to make time pass (weeks of disuse, backoffs).
	Clock *updatertest.FakeClock
	// Home is the host's home folder, kept across cold starts.
	Home string

	tb    testing.TB // nil: failures panic
	cfg   Config
	dir   string // scratch folder: packages, builds
	owned bool   // dir is the kit's to remove (no tb)

	h    *host.Host
	app  *host.App
	base string // the extracted base library, once a JS sample is built

	mu      sync.Mutex // guards the fields below
	events  []host.Event
	start   int           // the index of the cold start's first event
	cursor  int           // WaitEvent looks from here
	changed chan struct{} // closed and replaced when events grows
}

// New starts a Kit: a release server on loopback with a fresh key, a
// fake clock and an empty home. With a tb it keeps its folders in
// tb.TempDir(), stops the test on error and registers Close with
// tb.Cleanup. With a nil tb (an Example, a TestMain) it panics on error
// and the caller must call Close, which removes its folders.
func New(tb testing.TB, cfg Config) *Kit {
	if tb != nil {
		tb.Helper()
	}
	if cfg.UI == nil {
		cfg.UI = host.AutoAnswer(false)
	}
	if cfg.Wait <= 0 {
		cfg.Wait = defaultWait
	}
	k := &Kit{tb: tb, cfg: cfg, changed: make(chan struct{})}
	s := updatertest.NewServer(tb, cfg.Server)
	if tb != nil {
		k.dir = tb.TempDir()
	} else {
		var err error
		if k.dir, err = os.MkdirTemp("", "hosttest-"); err != nil {
			s.Close()
			k.fatalf("start: %v", err)
		}
		k.owned = true
	}
	k.Server, k.Clock, k.Home = s, s.Clock, filepath.Join(k.dir, "home")
	if tb != nil {
		tb.Cleanup(func() { k.Close(context.Background()) })
	}
	return k
}

// Close closes the app, its host and the server, and removes the kit's
// folders when New had no tb. It is safe to call more than once.
func (k *Kit) Close(ctx context.Context) error {
	err := k.closeHost(ctx)
	if k.Server != nil {
		k.Server.Close()
	}
	if k.owned {
		os.RemoveAll(k.dir)
		k.owned = false
	}
	return err
}

func (k *Kit) closeHost(ctx context.Context) error {
	var err error
	if k.app != nil {
		err = k.app.Close(ctx)
		k.app = nil
	}
	if k.h != nil {
		if herr := k.h.Close(ctx); err == nil {
			err = herr
		}
		k.h = nil
	}
	return err
}

// Package builds sample at version (once per test process) and returns
// the path of its package file in the kit's folder. sample is one of this
// module's samples ("counter", "hello"), an import path, or a folder.
func (k *Kit) Package(ctx context.Context, sample, version string) string {
	path, _ := k.pkg(ctx, sample, version)
	return path
}

func (k *Kit) pkg(ctx context.Context, sample, version string) (path, appID string) {
	if k.tb != nil {
		k.tb.Helper()
	}
	ctx, cancel := k.bound(ctx)
	defer cancel()
	b, err := buildSample(ctx, k.dir, sample, version)
	if err == nil && b.js {
		err = k.baseLibrary(ctx)
	}
	if err != nil {
		k.fatalf("%v", err)
	}
	appID, data := b.appID, b.data
	path = filepath.Join(k.dir, fmt.Sprintf("%s-%s.mpk", appID, version))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		k.fatalf("write package: %v", err)
	}
	return path, appID
}

// Publish builds sample at version (see Package) and publishes it as its
// app's latest version, fully released, and returns the release. For a
// staged rollout, publish Package's file with Server.Publish.
func (k *Kit) Publish(ctx context.Context, sample, version string) *updater.Release {
	if k.tb != nil {
		k.tb.Helper()
	}
	path, appID := k.pkg(ctx, sample, version)
	f, err := os.Open(path)
	if err != nil {
		k.fatalf("publish: %v", err)
	}
	defer f.Close()
	rel, err := k.Server.Release.Publish(ctx, appID, f, 100)
	if err != nil {
		k.fatalf("publish %s %s: %v", appID, version, err)
	}
	return rel
}

// ColdStart closes the running app and its host, if any, starts a new
// host on the same home (a new process, as far as the app can tell) and
// launches appID with updates, as host.Host.Launch: it returns once a
// version is open, which for a sync or blocked launch is after its check
// and download. WaitEvent then sees this cold start's events only. The
// App it returns is the running app until the next ColdStart (an update
// swaps its version in place): use it for Hide, Show, Emit, Decision,
// WaitUpdate and ApplyUpdate (what a shell's "restart to update" button
// calls).
func (k *Kit) ColdStart(ctx context.Context, appID string) *host.App {
	if k.tb != nil {
		k.tb.Helper()
	}
	if err := k.closeHost(ctx); err != nil {
		k.fatalf("close the previous cold start: %v", err)
	}
	k.mu.Lock()
	k.start, k.cursor = len(k.events), len(k.events)
	k.mu.Unlock()
	h, err := host.New(host.Config{
		Home: k.Home, UI: k.cfg.UI, OnEvent: k.record, Runtime: k.cfg.Runtime, BaseLibrary: k.base,
		Updates: &host.UpdateConfig{
			Server: k.Server.URL, PublicKey: k.Server.PublicKey, ClientID: clientID, Policy: k.cfg.Policy,
			Clock: k.Clock, Now: k.Clock.Now, // the one clock: see the package doc
		},
	})
	if err != nil {
		k.fatalf("cold start %s: %v", appID, err)
	}
	k.h = h
	lctx, cancel := k.bound(ctx)
	defer cancel()
	a, err := h.Launch(lctx, appID)
	if err != nil {
		k.fatalf("cold start %s: %v\nevents:\n%s", appID, err, k.since(-1))
	}
	k.app = a
	return a
}

// record is every host's Config.OnEvent.
func (k *Kit) record(ev host.Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.events = append(k.events, ev)
	close(k.changed)
	k.changed = make(chan struct{})
}

// bound gives ctx the kit's default deadline when it has none.
func (k *Kit) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, k.cfg.Wait)
}

func (k *Kit) fatalf(format string, args ...any) {
	msg := "hosttest: " + fmt.Sprintf(format, args...)
	if k.tb == nil {
		panic(msg)
	}
	k.tb.Helper()
	k.tb.Fatal(msg)
}

// since lists the events from index from on (-1: this cold start's),
// one a line, for failure messages; a line repeated (download progress)
// is shown once with its count.
func (k *Kit) since(from int) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if from < 0 {
		from = k.start
	}
	var b bytes.Buffer
	var last string
	repeat := 0
	flush := func() {
		if repeat > 1 {
			fmt.Fprintf(&b, "  %s (x%d)\n", last, repeat)
		} else if repeat == 1 {
			fmt.Fprintf(&b, "  %s\n", last)
		}
	}
	for _, ev := range k.events[from:] {
		if line := describe(ev); line == last {
			repeat++
		} else {
			flush()
			last, repeat = line, 1
		}
	}
	flush()
	if from == len(k.events) {
		b.WriteString("  (none)\n")
	}
	return b.String()
}
