package runtimetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/minihost/minihost/runtime/internal/compilecache"
)

// CacheDir returns the wazero compilation cache folder shared by every
// test binary of the project, so each guest is compiled once per machine
// rather than once per test: test/wazero under the cache root (see
// runtime.CacheRoot), apart from the CLI's so that tests neither fill nor
// evict it. Tests that need a cold cache use tb.TempDir() instead.
func CacheDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(compilecache.Root(), "test", "wazero")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("create test compile cache: %v", err)
	}
	return dir
}
