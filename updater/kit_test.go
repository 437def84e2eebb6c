package updater_test

import (
	"crypto/ed25519"
	"net/http"
	"testing"
	"time"

	"github.com/minihost/minihost/updater/internal/testpkg"
	"github.com/minihost/minihost/updater/updatertest"
)

// Helpers of this package's tests, over the ones it shares with the
// release package's tests (updater/internal/testpkg).

// testKey returns a fixed signing key, so failures are reproducible.
func testKey() ed25519.PrivateKey { return testpkg.Key() }

// newTestClock returns a clock the test moves by hand, at a fixed start.
func newTestClock() *updatertest.FakeClock {
	return updatertest.NewFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// testPackage returns the bytes of a real package of a sample app at
// version (testpkg.Sample).
func testPackage(t testing.TB, appID, version string) []byte {
	return testpkg.Sample(t, appID, version)
}

func manifestJSON(appID, version string) string { return testpkg.Manifest(appID, version) }

// craftPackage zips files (testpkg.Zip), for broken packages.
func craftPackage(t testing.TB, files map[string]string) []byte { return testpkg.Zip(t, files) }

// listFiles returns the files under dir, relative (testpkg.ListFiles).
func listFiles(t testing.TB, dir string) []string { return testpkg.ListFiles(t, dir) }

type ed25519PublicKey = ed25519.PublicKey

// httptestServer serves h on loopback for the test and returns its URL.
func httptestServer(t testing.TB, h http.Handler) string { return testpkg.Serve(t, h) }
