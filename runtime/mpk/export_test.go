package mpk

import "testing"

// AddKnownPermission makes name a known permission until t ends. It
// changes package state, so tests that call it must not be parallel.
func AddKnownPermission(t testing.TB, name string) {
	t.Helper()
	knownPermissions[name] = true
	t.Cleanup(func() { delete(knownPermissions, name) })
}
