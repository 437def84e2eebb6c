package host_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
	"github.com/minihost/minihost/updater/updatertest"
)

// The fault-injection suite: the real host and client against the
// updatertest kit on loopback, with one fault at a time. Each test is
// named after its fault and checks the behaviour RELIABILITY.md lists: the
// launch decision (what opened and why), what the guest was told, and
// that nothing was installed or half-written when it should not be.

const faultApp = "test.updater"

// deadlineSlack bounds how long past its own deadline a bounded operation
// may take on a loaded 2-core machine with -race; it only catches a
// deadline that is not honoured at all (a hang), it measures nothing.
const deadlineSlack = 20 * time.Second

// faultFixture is newUpdFixture with a kit configured by cfg.
func faultFixture(t *testing.T, cfg updatertest.Config) *updFixture {
	t.Helper()
	f := newUpdFixture(t)
	if cfg != (updatertest.Config{}) {
		f.kit = updatertest.NewServer(t, cfg)
		f.cfg.Server, f.cfg.PublicKey, f.cfg.Clock, f.cfg.Now = f.kit.URL, f.kit.PublicKey, f.kit.Clock, f.kit.Clock.Now
	}
	return f
}

// builtPackages caches package bytes by guest folder and version:
// packing compresses the module, which is slow under -race, and most
// tests publish the same few packages.
var builtPackages = struct {
	sync.Mutex
	m map[string][]byte
}{m: map[string][]byte{}}

// packageFile returns a fresh copy of the package of guest dir at version
// v, in a temp folder of t.
func packageFile(t *testing.T, dir, v string) string {
	t.Helper()
	builtPackages.Lock()
	b, ok := builtPackages.m[dir+"@"+v]
	builtPackages.Unlock()
	if !ok {
		var err error
		b, err = os.ReadFile(runtimetest.BuildPackage(t, dir, v))
		require.NoError(t, err)
		builtPackages.Lock()
		builtPackages.m[dir+"@"+v] = b
		builtPackages.Unlock()
	}
	p := filepath.Join(t.TempDir(), "pkg-"+v+".mpk")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// publishCached publishes guest dir at version v on the fixture's kit.
func (f *updFixture) publishCached(t *testing.T, dir, v string) *updater.Release {
	t.Helper()
	return f.kit.Publish(t, packageFile(t, dir, v), 100)
}

// install publishes 1.0.0 of dir and cold-starts it once (a first
// install), as installV1 does, from the package cache.
func (f *updFixture) install(t *testing.T, dir, appID string) {
	t.Helper()
	f.publishCached(t, dir, "1.0.0")
	a, _, h := f.coldStart(t, appID)
	stop(t, a, h)
}

// longUnused moves the clock past the long-unused threshold, so the next
// cold start is sync (rule S4).
func (f *updFixture) longUnused() { f.kit.Clock.Advance(8 * 24 * time.Hour) }

// packageRequests returns the kit's logged requests for version v's package.
func packageRequests(kit *updatertest.Server, v string) []updatertest.Request {
	var out []updatertest.Request
	for _, r := range kit.Requests() {
		if strings.HasSuffix(r.Path, "/packages/"+v+".mpk") {
			out = append(out, r)
		}
	}
	return out
}

// requireInstalled checks the store on disk: exactly versions installed,
// nothing of another version extracted or left downloading.
func requireInstalled(t *testing.T, f *updFixture, versions ...string) {
	t.Helper()
	st, err := f.store(t).Load(faultApp)
	require.NoError(t, err)
	var got []string
	for _, iv := range st.Installed {
		require.True(t, iv.Verified, "%+v", st.Installed)
		got = append(got, iv.Version)
	}
	require.ElementsMatch(t, versions, got)
	entries, err := os.ReadDir(filepath.Join(f.home, "apps", faultApp, "versions"))
	require.NoError(t, err)
	var dirs []string
	for _, e := range entries {
		dirs = append(dirs, e.Name())
	}
	require.ElementsMatch(t, versions, dirs, "extracted folders (a leftover .install-* is half-written)")
}

// requireNoPartial checks that no partial download of v is left.
func requireNoPartial(t *testing.T, f *updFixture, v string) {
	t.Helper()
	_, err := os.Stat(filepath.Join(f.home, "downloads", faultApp, v+".mpk.part"))
	require.ErrorIs(t, err, fs.ErrNotExist, "a partial download of %s is left", v)
}

func TestFaultRefuse(t *testing.T) {
	t.Run("installed", func(t *testing.T) {
		f := faultFixture(t, updatertest.Config{})
		f.install(t, guestUpdater, faultApp)
		f.publishCached(t, guestUpdater, "2.0.0")
		f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultRefuse})

		a, ev, h := f.coldStart(t, faultApp)
		require.Equal(t, "async", a.Decision().Mode)
		require.Equal(t, "1.0.0", a.Decision().Opened, "an async launch opens at once")
		ev.waitLog(t, faultApp, "check hasUpdate=false") // the background check failed
		stop(t, a, h)
		require.Zero(t, count(ev.names(faultApp), host.EventUpdateReady)+count(ev.names(faultApp), host.EventUpdateFailed))

		f.longUnused()
		a, ev, h = f.coldStart(t, faultApp)
		d := a.Decision()
		require.Equal(t, "sync", d.Mode)
		require.Equal(t, "failed", d.Check.Result, "%+v", d.Check)
		require.Contains(t, d.Check.Error, "connection refused")
		require.Equal(t, "1.0.0", d.Opened, "the sync launch falls back to the local version")
		require.Contains(t, d.Fallback, "check failed")
		ev.waitLog(t, faultApp, "check hasUpdate=false")
		stop(t, a, h)
		requireInstalled(t, f, "1.0.0")
	})
	t.Run("first install is blocked until the server is back", func(t *testing.T) {
		f := faultFixture(t, updatertest.Config{})
		f.publishCached(t, guestUpdater, "1.0.0")
		f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultRefuse})
		cfg := f.cfg
		h, ev := newHost(t, f.home, host.Config{Updates: &cfg})
		advanceTimers(t, f.kit.Clock, nil) // blocked: the backoffs pass
		type result struct {
			a   *host.App
			err error
		}
		done := make(chan result, 1)
		go func() {
			a, err := h.Launch(t.Context(), faultApp)
			done <- result{a, err}
		}()
		ev.waitFor(t, func(e host.Event) bool { return e.Event == host.EventBlocked && e.Attempt >= 2 })
		select {
		case r := <-done:
			t.Fatalf("a launch with nothing installed opened while the server refused: %v", r.err)
		default:
		}
		f.kit.SetFault(updatertest.Fault{})
		r := <-done
		require.NoError(t, r.err, ev.dump())
		d := r.a.Decision()
		require.Equal(t, "1.0.0", d.Opened)
		require.GreaterOrEqual(t, d.BlockedAttempts, 2)
		require.Equal(t, "ok", d.Download.Result)
	})
}

func TestFaultHang(t *testing.T) {
	f := faultFixture(t, updatertest.Config{})
	f.install(t, guestUpdater, faultApp)
	f.publishCached(t, guestUpdater, "2.0.0")
	f.cfg.Policy.SyncTimeout = 300 * time.Millisecond

	t.Run("async background check", func(t *testing.T) {
		f.kit.ResetRequests()
		f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultHang, Path: "/apps/*/release.json"})
		a, _, h := f.coldStart(t, faultApp)
		require.Equal(t, "async", a.Decision().Mode)
		require.Equal(t, "1.0.0", a.Decision().Opened, "an async launch does not wait for its check")
		require.NoError(t, f.kit.WaitForRequests(t.Context(), 1)) // the check is hanging now
		require.NoError(t, a.Hide(t.Context()), "the app answers while its check hangs")
		began := time.Now()
		stop(t, a, h)
		require.Less(t, time.Since(began), deadlineSlack, "Close waited for a hanging check")
	})
	tests := []struct {
		name     string
		path     string // the hanging requests' Fault.Path
		requests int    // when the hanging request has arrived
		check    func(t *testing.T, d *host.Decision)
	}{
		{"document", "/apps/*/release.json", 1, func(t *testing.T, d *host.Decision) {
			require.Equal(t, "timeout", d.Check.Result, "%+v", d.Check)
			require.Contains(t, d.Fallback, "check timeout")
			require.Nil(t, d.Download)
		}},
		{"package", "/apps/*/packages/*", 2, func(t *testing.T, d *host.Decision) {
			require.Equal(t, "ok", d.Check.Result, "%+v", d.Check)
			require.Equal(t, "2.0.0", d.Check.Latest)
			require.Equal(t, "timeout", d.Download.Result, "%+v", d.Download)
			require.Contains(t, d.Fallback, "timed out")
		}},
	}
	for _, tt := range tests {
		t.Run("sync "+tt.name, func(t *testing.T) {
			f.longUnused()
			f.kit.ResetRequests()
			f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultHang, Path: tt.path})
			// The sync deadline runs on the policy clock: it passes once
			// the request hangs.
			advanceTimers(t, f.kit.Clock, func(ctx context.Context) error { return f.kit.WaitForRequests(ctx, tt.requests) })
			began := time.Now()
			a, ev, h := f.coldStart(t, faultApp)
			require.Less(t, time.Since(began), f.cfg.Policy.SyncTimeout+deadlineSlack, "the sync timeout was not honoured")
			d := a.Decision()
			require.Equal(t, "sync", d.Mode)
			require.Equal(t, "1.0.0", d.Opened, "the sync launch falls back to the local version")
			tt.check(t, d)
			ev.waitEvent(t, faultApp, host.EventCheckForUpdate)
			// A background download may still hang: closing the host
			// cancels it and returns.
			began = time.Now()
			stop(t, a, h)
			require.Less(t, time.Since(began), deadlineSlack, "Close waited for a hanging request")
			requireInstalled(t, f, "1.0.0")
		})
	}
}

func TestFaultServerError(t *testing.T) {
	f := faultFixture(t, updatertest.Config{})
	f.install(t, guestUpdater, faultApp)
	f.publishCached(t, guestUpdater, "2.0.0")
	tests := []struct {
		status int
		target string // "document" or "package"
		path   string // Fault.Path for target
	}{
		{500, "document", "/apps/*/release.json"},
		{503, "document", "/apps/*/release.json"},
		{502, "package", "/apps/*/packages/*"},
		{503, "package", "/apps/*/packages/*"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %d", tt.target, tt.status), func(t *testing.T) {
			f.longUnused()
			f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultStatus, Status: tt.status, Path: tt.path})
			a, _, h := f.coldStart(t, faultApp)
			d := a.Decision()
			require.Equal(t, "sync", d.Mode)
			require.Equal(t, "1.0.0", d.Opened, "the sync launch falls back to the local version")
			if tt.target == "document" {
				require.Equal(t, "failed", d.Check.Result, "%+v", d.Check)
				require.Contains(t, d.Check.Error, strconv.Itoa(tt.status))
				require.Nil(t, d.Download)
			} else {
				require.Equal(t, "ok", d.Check.Result, "%+v", d.Check)
				require.Equal(t, "failed", d.Download.Result, "%+v", d.Download)
				require.Contains(t, d.Download.Error, strconv.Itoa(tt.status))
			}
			stop(t, a, h)
			requireInstalled(t, f, "1.0.0")
		})
	}
	t.Run("package 503 once, background retry succeeds", func(t *testing.T) {
		// Pending is set by now: the next cold start is sync. Use the
		// async path: a fresh fixture.
		f := faultFixture(t, updatertest.Config{})
		f.install(t, guestUpdater, faultApp)
		f.publishCached(t, guestUpdater, "2.0.0")
		f.kit.ResetRequests()
		f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultStatus, Status: 503, Path: "/apps/*/packages/*", Times: 1})
		a, ev, h := f.coldStart(t, faultApp)
		advanceTimers(t, f.kit.Clock, nil) // the background retry's backoff
		require.Equal(t, "async", a.Decision().Mode)
		ev.waitLog(t, faultApp, "ready")
		stop(t, a, h)
		reqs := packageRequests(f.kit, "2.0.0")
		require.Len(t, reqs, 2, "%+v", reqs)
		require.Equal(t, 503, reqs[0].Status)
		require.Equal(t, 200, reqs[1].Status)
		requireInstalled(t, f, "1.0.0", "2.0.0")
	})
}

func TestFaultCutDownloadResumes(t *testing.T) {
	t.Run("next cold start", func(t *testing.T) {
		f := faultFixture(t, updatertest.Config{})
		f.install(t, guestUpdater, faultApp)
		rel := f.publishCached(t, guestUpdater, "2.0.0")
		f.longUnused()
		f.kit.ResetRequests()
		half := rel.Size / 2
		f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultCut, Path: "/apps/*/packages/*", After: half, Times: 1})
		a, _, h := f.coldStart(t, faultApp)
		d := a.Decision()
		require.Equal(t, "1.0.0", d.Opened)
		require.Equal(t, "failed", d.Download.Result, "%+v", d.Download)
		require.Contains(t, d.Download.Error, "unexpected EOF")
		stop(t, a, h)
		requireInstalled(t, f, "1.0.0")

		a, _, _ = f.coldStart(t, faultApp) // pending: sync again
		d = a.Decision()
		require.Equal(t, "sync", d.Mode)
		require.Equal(t, "2.0.0", d.Opened, "%+v", d)
		require.Equal(t, rel.Size-half, d.Download.Bytes, "only the missing bytes were fetched")
		reqs := packageRequests(f.kit, "2.0.0")
		require.Len(t, reqs, 2, "%+v", reqs)
		require.Equal(t, "", reqs[0].Range)
		require.Equal(t, updatertest.FaultCut, reqs[0].Fault)
		require.Equal(t, half, reqs[0].Bytes)
		require.Equal(t, fmt.Sprintf("bytes=%d-", half), reqs[1].Range)
		require.Equal(t, http.StatusPartialContent, reqs[1].Status)
		require.Equal(t, rel.Size-half, reqs[1].Bytes)
		requireNoPartial(t, f, "2.0.0")
	})
	t.Run("background retry", func(t *testing.T) {
		f := faultFixture(t, updatertest.Config{})
		f.install(t, guestUpdater, faultApp)
		rel := f.publishCached(t, guestUpdater, "2.0.0")
		f.kit.ResetRequests()
		third := rel.Size / 3
		// Cut twice: the third attempt (the last one) finishes.
		f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultCut, Path: "/apps/*/packages/*", After: third, Times: 2})
		a, ev, h := f.coldStart(t, faultApp)
		advanceTimers(t, f.kit.Clock, nil) // the background retries' backoff
		ev.waitLog(t, faultApp, "ready")
		stop(t, a, h)
		reqs := packageRequests(f.kit, "2.0.0")
		require.Len(t, reqs, 3, "%+v", reqs)
		require.Equal(t, []string{"", fmt.Sprintf("bytes=%d-", third), fmt.Sprintf("bytes=%d-", 2*third)},
			[]string{reqs[0].Range, reqs[1].Range, reqs[2].Range})
		require.Equal(t, http.StatusPartialContent, reqs[2].Status)
		requireInstalled(t, f, "1.0.0", "2.0.0")
		requireNoPartial(t, f, "2.0.0")
	})
}

func TestFaultCorruptPackage(t *testing.T) {
	f := faultFixture(t, updatertest.Config{})
	f.install(t, guestUpdater, faultApp)
	f.publishCached(t, guestUpdater, "2.0.0")
	f.longUnused()
	f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultCorrupt, Path: "/apps/*/packages/*", After: 100})
	a, ev, h := f.coldStart(t, faultApp)
	advanceTimers(t, f.kit.Clock, nil) // the background retries' backoff
	d := a.Decision()
	require.Equal(t, "sync", d.Mode)
	require.Equal(t, "1.0.0", d.Opened)
	require.Equal(t, "failed", d.Download.Result, "%+v", d.Download)
	require.Contains(t, d.Download.Error, "sha256")
	ev.waitLog(t, faultApp, "check hasUpdate=true")
	// Rules U2 and U3: a download was started, so the cold start
	// ends with onUpdateReady or onUpdateFailed, also when the sync launch
	// fell back because the download failed before the timeout.
	failed := ev.waitEvent(t, faultApp, host.EventUpdateFailed)
	require.Contains(t, failed.Message, "sha256")
	ev.waitLog(t, faultApp, "failed")
	stop(t, a, h)
	requireInstalled(t, f, "1.0.0")
	requireNoPartial(t, f, "2.0.0")
}

// tamperProxy stands between the client and the kit on loopback and
// replaces what the kit answers: the release document (with another app's,
// an old or a saved one) or packages (with bytes past the signed size).
type tamperProxy struct {
	URL string

	mu       sync.Mutex
	document func(appID string) []byte // nil or a nil result: the kit's
	tail     []byte                    // appended to package bodies
}

func newTamperProxy(t *testing.T, kit *updatertest.Server) *tamperProxy {
	t.Helper()
	target, err := url.Parse(kit.URL)
	require.NoError(t, err)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	p := &tamperProxy{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		doc, tail := p.document, p.tail
		p.mu.Unlock()
		parts := strings.Split(r.URL.Path, "/") // "", "apps", app, ...
		if doc != nil && len(parts) == 4 && parts[3] == "release.json" {
			if body := doc(parts[2]); body != nil {
				w.Header().Set("Content-Type", "application/json")
				w.Write(body)
				return
			}
		}
		if tail != nil && len(parts) == 5 && parts[3] == "packages" {
			resp, err := (&http.Client{Transport: tr}).Get(kit.URL + r.URL.Path)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = append(body, tail...)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(resp.StatusCode)
			w.Write(body)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	p.URL = hs.URL
	return p
}

func (p *tamperProxy) setDocument(fn func(appID string) []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.document = fn
}

func (p *tamperProxy) setTail(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tail = b
}

// TestFaultBadDocument serves release documents the client must refuse:
// each sync launch falls back to the installed version, the check names
// the problem, nothing is downloaded or installed, and the saved document
// is not replaced.
func TestFaultBadDocument(t *testing.T) {
	// Documents live 30 days here, so that only the expiry case expires.
	f := faultFixture(t, updatertest.Config{DocumentLifetime: 30 * 24 * time.Hour})
	p := newTamperProxy(t, f.kit)
	f.cfg.Server = p.URL
	f.install(t, guestUpdater, faultApp)
	// document is what the kit's release server answers for appID's
	// release document now, asked directly (not through the fault layer).
	document := func(appID string) []byte {
		rec := httptest.NewRecorder()
		f.kit.Release.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/apps/"+appID+"/release.json", nil))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return rec.Body.Bytes()
	}
	old := document(faultApp)                                                  // sequence 1
	f.kit.SetSettings(t, faultApp, release.Settings{MinVersion: new("1.0.0")}) // sequence 2
	a, ev, h := f.coldStart(t, faultApp)                                       // the client sees sequence 2
	ev.waitEvent(t, faultApp, host.EventCheckForUpdate)
	stop(t, a, h)
	f.publishCached(t, guestUpdater, "2.0.0") // sequence 3, never seen by the client
	other := updatertest.NewServer(t, updatertest.Config{Clock: f.kit.Clock})
	other.Publish(t, packageFile(t, guestUpdater, "9.0.0"), 100)
	f.kit.Publish(t, packageFile(t, "runtime/testdata/guests/basic", "9.0.0"), 100)
	good := f.cfg

	tests := []struct {
		name  string
		setup func(cfg *host.UpdateConfig) // points the client at the fault
		doc   func(appID string) []byte    // what the proxy serves (nil: the kit's)
		after time.Duration                // how far the clock moves first
		want  string                       // in the check's error
	}{
		// First, while the old document has not expired.
		{"older sequence replayed", nil,
			func(string) []byte { return old }, 8 * 24 * time.Hour, "older than one already seen"},
		{"wrong signature: a client holding another key",
			func(cfg *host.UpdateConfig) { cfg.PublicKey = other.PublicKey }, nil, 8 * 24 * time.Hour, "signature is bad"},
		{"wrong signature: another server's document",
			func(cfg *host.UpdateConfig) { cfg.Server = other.URL }, nil, 8 * 24 * time.Hour, "signature is bad"},
		{"another app's document", nil,
			func(string) []byte { return document("test.basic") }, 8 * 24 * time.Hour, "for another app"},
		{"expired: a copy served after its lifetime", nil,
			func(string) []byte { return old }, 31 * 24 * time.Hour, "has expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.cfg = good
			if tt.setup != nil {
				tt.setup(&f.cfg)
			}
			p.setDocument(tt.doc)
			defer p.setDocument(nil)
			before, err := f.store(t).Load(faultApp)
			require.NoError(t, err)
			f.kit.Clock.Advance(tt.after) // long unused: sync
			f.kit.ResetRequests()
			other.ResetRequests()

			a, ev, h := f.coldStart(t, faultApp)
			d := a.Decision()
			require.Equal(t, "sync", d.Mode)
			require.Equal(t, "failed", d.Check.Result, "%+v", d.Check)
			require.Contains(t, d.Check.Error, tt.want)
			require.Equal(t, "1.0.0", d.Opened)
			require.Nil(t, d.Download)
			ev.waitLog(t, faultApp, "check hasUpdate=false")
			stop(t, a, h)
			require.Empty(t, packageRequests(f.kit, "2.0.0"), "a package was fetched on a refused document")
			require.Empty(t, packageRequests(other, "9.0.0"), "a package was fetched on a refused document")
			after, err := f.store(t).Load(faultApp)
			require.NoError(t, err)
			require.EqualValues(t, 2, after.LastSequence)
			require.Equal(t, before.LastDocument, after.LastDocument, "a refused document was saved")
			requireInstalled(t, f, "1.0.0")
		})
	}
}

// TestFaultOversizedPackage serves a package with more bytes than the
// signed size: the client reads exactly the signed size, the hash
// matches, and the version installs.
func TestFaultOversizedPackage(t *testing.T) {
	f := faultFixture(t, updatertest.Config{})
	p := newTamperProxy(t, f.kit)
	f.cfg.Server = p.URL
	f.install(t, guestUpdater, faultApp)
	rel := f.publishCached(t, guestUpdater, "2.0.0")
	p.setTail(bytes.Repeat([]byte("x"), 4<<20))
	f.longUnused()
	a, _, _ := f.coldStart(t, faultApp)
	d := a.Decision()
	require.Equal(t, "2.0.0", d.Opened, "%+v", d)
	require.Equal(t, rel.Size, d.Download.Bytes, "reading stops at the signed size")
	requireInstalled(t, f, "1.0.0", "2.0.0")
}

// readOnlyFs is an afero.Fs on which every write fails with EROFS, as on
// a home folder on a read-only or failing disk (root ignores file modes,
// so chmod cannot make one). Reads pass through.
type readOnlyFs struct{ afero.Fs }

func denied(op, name string) error { return &fs.PathError{Op: op, Path: name, Err: syscall.EROFS} }

func (f readOnlyFs) Create(name string) (afero.File, error) { return nil, denied("open", name) }
func (f readOnlyFs) Mkdir(name string, _ os.FileMode) error { return denied("mkdir", name) }
func (f readOnlyFs) Remove(name string) error               { return denied("remove", name) }
func (f readOnlyFs) RemoveAll(path string) error            { return denied("remove", path) }
func (f readOnlyFs) Rename(o, _ string) error               { return denied("rename", o) }
func (f readOnlyFs) Chmod(name string, _ os.FileMode) error { return denied("chmod", name) }
func (f readOnlyFs) Chown(name string, _, _ int) error      { return denied("chown", name) }
func (f readOnlyFs) Chtimes(name string, _, _ time.Time) error {
	return denied("chtimes", name)
}

func (f readOnlyFs) MkdirAll(path string, perm os.FileMode) error {
	if fi, err := f.Fs.Stat(path); err == nil && fi.IsDir() {
		return nil
	}
	return denied("mkdir", path)
}

func (f readOnlyFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, denied("open", name)
	}
	return f.Fs.OpenFile(name, flag, perm)
}

// logBuffer collects the host's log (slog text) for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestFaultHomeNotWritable(t *testing.T) {
	t.Run("home under a regular file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
		home := filepath.Join(file, "home")
		_, err := host.New(host.Config{Home: home, Runtime: runtime.Config{CacheDir: runtimetest.CacheDir(t)}})
		require.Error(t, err)
		require.Contains(t, err.Error(), "create home "+home)
		require.ErrorIs(t, err, syscall.ENOTDIR)
	})
	// A home on a failing disk (every write fails) and a compile cache
	// that cannot be created: the installed version still opens, in
	// memory, and each failure is reported.
	t.Run("failing filesystem and compile cache", func(t *testing.T) {
		f := faultFixture(t, updatertest.Config{})
		f.install(t, guestUpdater, faultApp)
		f.publishCached(t, guestUpdater, "2.0.0")
		f.longUnused()
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
		logs := &logBuffer{}
		cfg := f.cfg
		ev := newEvents()
		h, err := host.New(host.Config{
			Home: f.home, Fs: readOnlyFs{afero.NewOsFs()}, OnEvent: ev.add, Updates: &cfg,
			Runtime: runtime.Config{CacheDir: filepath.Join(file, "cache")},
			Logger:  slog.New(slog.NewTextHandler(logs, nil)),
		})
		require.NoError(t, err, "an unwritable home and compile cache do not stop the host")
		t.Cleanup(func() { h.Close(context.Background()) })
		require.Contains(t, logs.String(), "compilation cache not writable; using memory", "the compile cache falls back to memory")
		require.Contains(t, logs.String(), "not a directory")

		a, err := h.Launch(t.Context(), faultApp)
		require.NoError(t, err, ev.dump())
		d := a.Decision()
		require.Equal(t, "1.0.0", d.Opened, "%+v", d)
		require.Equal(t, "ok", d.Check.Result, "%+v", d.Check)
		require.Equal(t, "failed", d.Download.Result, "%+v", d.Download)
		require.Contains(t, d.Download.Error, "read-only file system")
		ev.waitLog(t, faultApp, "check hasUpdate=true")
		require.NoError(t, a.Emit(t.Context(), "apply", nil))
		ev.waitLog(t, faultApp, "apply: wx apply_update: no update is ready")
		require.NoError(t, a.Close(t.Context()))
		require.NoError(t, h.Close(t.Context()))
		// The host said what it could not record, and nothing changed on disk.
		require.Contains(t, logs.String(), "record open")
		require.Contains(t, logs.String(), "read-only file system")
		requireInstalled(t, f, "1.0.0")
		requireNoPartial(t, f, "2.0.0")
		st, err := f.store(t).Load(faultApp)
		require.NoError(t, err)
		require.Equal(t, "1.0.0", st.Active)
	})
}

// TestFailuresAreVisible: a failed check is never silent. A dead server in
// an async cold start gives the guest hasUpdate=false and the embedder a
// checkFailed event naming the error; a wrong public key on a first
// install says so on every blocked attempt.
func TestFailuresAreVisible(t *testing.T) {
	t.Run("dead server, async", func(t *testing.T) {
		f := newUpdFixture(t)
		f.installV1(t, guestUpdater, "test.updater")
		f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultRefuse})
		a, ev, _ := f.coldStart(t, "test.updater")
		require.Equal(t, "async", a.Decision().Mode)
		failed := ev.waitEvent(t, "test.updater", host.EventCheckFailed)
		require.Contains(t, failed.Message, "launch-async check")
		ev.waitLog(t, "test.updater", "check hasUpdate=false")
	})
	t.Run("wrong public key, first install", func(t *testing.T) {
		f := newUpdFixture(t)
		f.publish(t, guestUpdater, "1.0.0")
		other := updatertest.NewServer(t, updatertest.Config{})
		f.cfg.PublicKey = other.PublicKey
		cfg := f.cfg
		h, ev := newHost(t, f.home, host.Config{UI: f.ui, Updates: &cfg})
		advanceTimers(t, f.kit.Clock, nil) // blocked: the backoffs pass
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := h.Launch(ctx, "test.updater")
			done <- err
		}()
		b := ev.waitFor(t, func(e host.Event) bool { return e.Event == host.EventBlocked && e.Attempt >= 2 })
		require.Contains(t, b.Message, "--pubkey", "the blocked attempt names the likely fix")
		require.Contains(t, ev.waitEvent(t, "test.updater", host.EventCheckFailed).Message, "signature")
		cancel()
		select {
		case err := <-done:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(30 * time.Second):
			t.Fatal("Launch did not return within 30 s of its context's end")
		}
	})
}
