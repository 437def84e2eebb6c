package host_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
	"github.com/minihost/minihost/updater/updatertest"
)

// TestBadReleaseNeverBricks is issue 12's end-to-end promise: a broken
// release that got past validation (here: a release server that does not
// validate, reached through its admin API over HTTP, or a static export
// of its data served by a plain file server) leaves the client on a good
// version within two cold starts of opening it, and a fixed release
// published afterwards reaches the client at the next cold start.
func TestBadReleaseNeverBricks(t *testing.T) {
	covers(t, "B1")
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rand.Uint32())
	}
	bad := []struct {
		name string
		pkg  func(t *testing.T) string
		// deterministic failures roll back in the first cold start that
		// opens the version; the others reach the crash-loop limit (2).
		deterministic bool
		// static also runs the case from a static export. The client
		// reads both channels with the same code, so one failure of each
		// kind (deterministic, crash loop) covers it there.
		static bool
	}{
		{"garbage wasm", func(t *testing.T) string {
			return packAs(t, crashyApp, "2.0.0", append([]byte("\x00asm\x01\x00\x00\x00"), garbage...))
		}, true, true},
		{"start loop", func(t *testing.T) string {
			return packAs(t, crashyApp, "2.0.0", runtimetest.BuildWasm(t, "runtime/testdata/guests/startloop"))
		}, false, false},
		{"onLaunch crash", func(t *testing.T) string { return runtimetest.BuildPackage(t, crashyGuest, "2.0.0") }, false, true},
		{"onLaunch loop", func(t *testing.T) string {
			return packAs(t, crashyApp, "2.0.0", runtimetest.BuildWasm(t, "runtime/testdata/guests/loopinit"))
		}, false, false},
	}
	for _, channel := range []string{"admin API", "static export"} {
		for _, b := range bad {
			if channel == "static export" && !b.static {
				continue
			}
			t.Run(channel+"/"+b.name, func(t *testing.T) {
				t.Parallel()
				f := newReleaseFixture(t, channel == "static export")
				f.publish(t, runtimetest.BuildPackage(t, crashyGuest, "1.0.0"))
				a, ev, h := f.coldStart(t, crashyApp)
				require.Equal(t, "1.0.0", a.Version(), ev.dump())
				stop(t, a, h)

				f.clock.Advance(time.Hour) // past the recent window: async cold starts
				f.publish(t, b.pkg(t))
				// The cold start that finds 2.0.0 keeps 1.0.0 and downloads it.
				a, ev, h = f.coldStart(t, crashyApp)
				require.Equal(t, "1.0.0", a.Version())
				// Preparing 2.0.0 is its first compile: give it time.
				ev.waitWithin(t, 3*time.Minute, func(e host.Event) bool {
					return e.Event == host.EventUpdateReady || e.Event == host.EventUpdateFailed
				})
				stop(t, a, h)

				// The next cold starts open 2.0.0: within two, the client
				// runs 1.0.0 again and 2.0.0 is marked bad.
				starts := 0
				for starts < 2 {
					starts++
					a, ev, h = f.coldStart(t, crashyApp)
					if a.Version() == "1.0.0" {
						require.Equal(t, 1, ev.countEvents(crashyApp, host.EventRollback, ""), ev.dump())
						break
					}
					stop(t, a, h)
				}
				require.Equal(t, "1.0.0", a.Version(), "still not on a good version after %d cold starts:\n%s", starts, ev.dump())
				require.Contains(t, a.Decision().Rollback, "2.0.0")
				if b.deterministic {
					require.Equal(t, 1, starts, "a deterministic failure rolls back in the first cold start")
				}
				st, err := f.store(t).Load(crashyApp)
				require.NoError(t, err)
				require.Equal(t, []string{"2.0.0"}, st.Bad)
				stop(t, a, h)

				// A fixed release reaches the client at the next cold start.
				f.publish(t, runtimetest.BuildPackage(t, crashyGuest, "3.0.0"))
				requireFixArrives(t, f, crashyApp, "3.0.0")
				t.Logf("back on 1.0.0 after %d cold start(s) on 2.0.0", starts)
			})
		}
	}
}

// packAs packs wasm as version v of appID, the way an attacker with the
// admin token could upload it.
func packAs(t *testing.T, appID, v string, wasm []byte) string {
	t.Helper()
	stage := t.TempDir()
	manifest := `{"appId": "` + appID + `", "version": "` + v + `", "abi": 1, "entry": "app.wasm"}`
	require.NoError(t, os.WriteFile(filepath.Join(stage, mpk.ManifestName), []byte(manifest), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(stage, "app.wasm"), wasm, 0o644))
	pkg := filepath.Join(t.TempDir(), "app.mpk")
	require.NoError(t, mpk.Pack(t.Context(), stage, pkg))
	return pkg
}

// releaseFixture is a real release server that skips validation, driven
// through its admin API on loopback; with static set, clients read a
// static export of its data from a plain file server instead.
type releaseFixture struct {
	clock  *updatertest.FakeClock
	srv    *release.Server
	admin  release.Admin
	key    ed25519.PrivateKey
	data   string
	static string // export folder, "" when clients use the server
	url    string
	home   string
}

func newReleaseFixture(t *testing.T, static bool) *releaseFixture {
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	f := &releaseFixture{clock: updatertest.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		key: key, data: t.TempDir(), home: t.TempDir()}
	f.srv, err = release.New(release.Config{DataDir: f.data, Key: key, Validator: release.NoValidation(),
		Tokens: []string{"brick-token-8d1e2f3a"}, Now: f.clock.Now,
		// No delta patches: these releases are about what a bad version
		// does, not how it arrives (TestDeltaUpdate covers patches), and
		// building them at zstd's best level under -race, in every
		// parallel case at once, made publishes outlast the admin
		// client's response deadline on a loaded 2-core machine.
		PatchBases: -1})
	require.NoError(t, err)
	hs := httptest.NewServer(f.srv.Handler())
	f.admin, err = release.NewAdminClient(release.AdminClientConfig{BaseURL: hs.URL, Token: "brick-token-8d1e2f3a"})
	require.NoError(t, err)
	f.url = hs.URL
	if static {
		f.static = t.TempDir()
		fs := httptest.NewServer(http.FileServer(http.Dir(f.static)))
		t.Cleanup(fs.Close)
		f.url = fs.URL
	}
	t.Cleanup(func() {
		f.admin.Close(context.Background())
		hs.Close()
		require.NoError(t, f.srv.Close(context.Background()))
	})
	return f
}

// publish uploads pkg through the admin API and, for a static fixture,
// exports the server's data again.
func (f *releaseFixture) publish(t *testing.T, pkg string) {
	t.Helper()
	b, err := os.ReadFile(pkg)
	require.NoError(t, err)
	_, err = f.admin.Publish(t.Context(), "test.crashy", bytes.NewReader(b), 100)
	require.NoError(t, err)
	if f.static != "" {
		_, err := release.Export(t.Context(), release.ExportConfig{DataDir: f.data, OutDir: f.static, Key: f.key, Now: f.clock.Now})
		require.NoError(t, err)
	}
}

func (f *releaseFixture) coldStart(t *testing.T, appID string) (*host.App, *events, *host.Host) {
	t.Helper()
	h, ev := newHost(t, f.home, host.Config{
		// Long enough for a good guest under -race on a busy machine; the
		// loops spin this long per attempt.
		Runtime: runtime.Config{CallTimeout: time.Second},
		UI:      host.AutoAnswer(false),
		Updates: &host.UpdateConfig{
			Server: f.url, PublicKey: f.srv.PublicKey(), Clock: f.clock, Now: f.clock.Now, ClientID: "brick-client",
			Policy: updater.PolicyConfig{RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond},
		},
	})
	a, err := h.Launch(t.Context(), appID)
	require.NoError(t, err, ev.dump())
	return a, ev, h
}

func (f *releaseFixture) store(t *testing.T) *updater.Store {
	s, err := updater.OpenStore(updater.StoreConfig{Dir: f.home})
	require.NoError(t, err)
	return s
}
