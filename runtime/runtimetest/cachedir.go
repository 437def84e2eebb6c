package runtimetest

import (
	"os"
	"path/filepath"
	"testing"
)

// CacheDir returns the wazero compilation cache folder shared by every
// test binary of the project, so each guest is compiled once per machine
// rather than once per test. Tests that need a cold cache use
// tb.TempDir() instead.
func CacheDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	dir = filepath.Join(dir, "minihost-test", "wazero")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("create test compile cache: %v", err)
	}
	return dir
}
