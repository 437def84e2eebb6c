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

// The rules ErrInvalid covers, the structured error and the bounds, for
// the tests of package mpk_test that tell them apart.
const (
	ErrNotZip          = errNotZip
	ErrInvalidManifest = errInvalidManifest
	ErrUnsafePath      = errUnsafePath
	ErrNotWasm         = errNotWasm
	ErrNoManifest      = errNoManifest
	ErrNoEntry         = errNoEntry
	ErrInvalidVersion  = errInvalidVersion

	MaxVersionLen         = maxVersionLen
	DefaultMaxPackageSize = defaultMaxPackageSize
	DefaultMaxFileSize    = defaultMaxFileSize
	DefaultMaxTotalSize   = defaultMaxTotalSize
	DefaultMaxFiles       = defaultMaxFiles
	DefaultMaxRatio       = defaultMaxRatio
	DefaultMaxTotalRatio  = defaultMaxTotalRatio
)

type Error = pkgError
