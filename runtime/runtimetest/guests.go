package runtimetest

import (
	"os"
	"path/filepath"
	"testing"
)

// GoGuests returns the folders of every Go guest of the module, relative
// to its root, for tests that build or check them all: the folders of
// runtime/testdata/guests and samples that hold Go files, but the guest
// SDK (samples/wx, a library) and the JavaScript packages (no Go files).
// It fails the test when a parent folder cannot be read.
func GoGuests(tb testing.TB) []string {
	tb.Helper()
	root := ModuleRoot(tb)
	var guests []string
	for _, parent := range []string{"runtime/testdata/guests", "samples"} {
		entries, err := os.ReadDir(filepath.Join(root, parent))
		if err != nil {
			tb.Fatalf("runtimetest: list guests: %v", err)
		}
		for _, e := range entries {
			dir := parent + "/" + e.Name()
			if !e.IsDir() || dir == sdkDir {
				continue
			}
			if gos, _ := filepath.Glob(filepath.Join(root, dir, "*.go")); len(gos) == 0 {
				continue // a JavaScript package (samples/seed-js): no Go guest
			}
			guests = append(guests, dir)
		}
	}
	return guests
}
