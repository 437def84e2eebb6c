package mpk

import (
	"io/fs"
	"os"
	"testing"
)

// AddKnownPermission makes name a known permission until t ends. It
// changes package state, so tests that call it must not be parallel.
func AddKnownPermission(t testing.TB, name string) {
	t.Helper()
	knownPermissions[name] = true
	t.Cleanup(func() { delete(knownPermissions, name) })
}

// OpenChecked opens path as OpenRegular does once it has found path to be
// st: the tests swap the file between the two.
func OpenChecked(path string, st fs.FileInfo) (*os.File, error) {
	f, _, err := openChecked(path, st)
	return f, err
}
