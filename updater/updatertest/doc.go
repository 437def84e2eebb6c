// Package updatertest is the test kit for restart-to-update, in the spirit
// of net/http/httptest: a real release server ([release.Server]) on a
// loopback listener with a fresh signing key and data folder, a controllable
// clock ([FakeClock]) and network faults (refused connections, hangs, error
// statuses, cut, slow or corrupt bodies) injected in front of the real
// handler. Users write integration tests of their hosts and mini programs
// with it; the project's own end-to-end tests use it too.
//
// # One clock
//
// The kit's server signs release documents at its clock's time, and a
// document expires DocumentLifetime later (one hour by default). A client
// that checks expiry against the real wall clock would see the kit's
// documents as expired (or not yet valid) whenever the kit clock is far from
// real time, so every client in a test must use the same clock as the
// server: pass Server.Clock.Now as updater.ClientConfig.Now, and
// [Server.Clock] (an updater.Clock) to whatever waits on time (periodic
// checks, backoff). Advance that one clock to move time for everyone.
// Without Config.Clock the kit starts a FakeClock at 2026-01-01T00:00:00Z.
//
// # Usage
//
//	func TestUpdate(t *testing.T) {
//		s := updatertest.NewServer(t, updatertest.Config{})
//		s.Publish(t, runtimetest.BuildPackage(t, "samples/hello", "1.0.0"), 100)
//		c, err := updater.NewClient(updater.ClientConfig{
//			BaseURL: s.URL, PublicKey: s.PublicKey, Now: s.Clock.Now,
//		})
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer c.Close(t.Context())
//
//		// The next package download dies after 1000 bytes, once.
//		s.SetFault(updatertest.Fault{
//			Kind: updatertest.FaultCut, Path: "/apps/*/packages/*", After: 1000, Times: 1,
//		})
//		// ... run the code under test against s.URL, advance s.Clock ...
//		for _, r := range s.Requests() {
//			t.Log(r.Method, r.Path, r.Range, r.Status, r.Bytes)
//		}
//	}
//
// # Fault targets
//
// Fault.Path is a path.Match pattern on the URL path of the public
// requests a fault applies to ("" for all of them):
//
//	/apps/*/release.json    release documents
//	/apps/*/packages/*      packages, such as /apps/demo.hello/packages/1.0.0.mpk
//	/apps/*/patches/*/*     delta patches, /apps/{app}/patches/{to}/{from}.mpd
//
// Name an app or a version in place of a * to fault that one alone.
//
// # Delta updates
//
// With Config.Patches, publishes build delta patches (release.Config's
// PatchBases) and the document lists them; a fault on "/apps/*/patches/*/*"
// hits the patch URLs alone, to test a client's fallback to the package.
// Without it the kit publishes packages only, so a fault on
// "/apps/*/packages/*" always meets the download.
//
// The kit keeps no global state: every Server owns its listener, key, data
// folder and goroutines, and Close (registered with tb.Cleanup by
// NewServer) stops them all.
package updatertest
