package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/runtimetest"
)

// fillCache writes files of the given sizes under root/rel.
func fillCache(t *testing.T, root, rel string, sizes map[string]int) {
	t.Helper()
	for name, size := range sizes {
		p := filepath.Join(root, filepath.FromSlash(rel), filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, make([]byte, size), 0o644))
	}
}

func cacheJSON(t *testing.T, args ...string) cacheReport {
	t.Helper()
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(t.Context(), append([]string{"cache", "--json"}, args...), &stdout, &stderr), "stderr:\n%s", stderr.String())
	var rep cacheReport
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), stdout.String())
	return rep
}

// TestCacheShowsAndCleans fills a cache root with files laid out as the
// engine and the test kit lay them out, then shows and cleans it.
func TestCacheShowsAndCleans(t *testing.T) {
	root := t.TempDir()
	t.Setenv("MINIHOST_CACHE", root)
	fillCache(t, root, "wazero", map[string]int{"wazero-v1.12.0-amd64-linux/aa": 100, "wazero-v1.12.0-amd64-linux/bb": 50, ".lru/ref": 3})
	fillCache(t, root, "test/guests", map[string]int{"k.wasm": 7})

	rep := cacheJSON(t)
	require.Equal(t, root, rep.Root)
	got := map[string][2]int64{}
	for _, c := range rep.Caches {
		got[c.Name] = [2]int64{int64(c.Entries), c.Bytes}
	}
	want := map[string][2]int64{"compile": {2, 153}, "test-compile": {0, 0}, "test-guests": {1, 7}}
	require.Equal(t, want, got, "the ref file is bookkeeping: counted in bytes, not entries")

	rep = cacheJSON(t, "clean") // the subcommand after the flag
	require.True(t, rep.Cleaned)
	require.Equal(t, int64(153), rep.Caches[0].Bytes, "clean says what it removed")
	require.DirExists(t, filepath.Join(root, "wazero", "wazero-v1.12.0-amd64-linux"), "a running host's cache folder stays")
	for _, c := range cacheJSON(t).Caches {
		require.Zero(t, c.Entries, c.Name)
		require.Zero(t, c.Bytes, c.Name)
	}

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"cache"}, &stdout, &stderr))
	require.Contains(t, stdout.String(), "cache root: "+root)
}

func TestCacheUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown argument", []string{"cache", "purge"}, 2, `unknown arguments "purge"`},
		{"too many", []string{"cache", "clean", "now"}, 2, "unknown arguments"},
		{"help", []string{"cache", "-h"}, 0, "example:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MINIHOST_CACHE", t.TempDir())
			var stdout, stderr bytes.Buffer
			require.Equal(t, tt.code, run(t.Context(), tt.args, &stdout, &stderr))
			require.Contains(t, stderr.String(), tt.want)
		})
	}
}

// TestCacheKnowsTheTestKit keeps cache's folders those the engine and
// runtimetest use.
func TestCacheKnowsTheTestKit(t *testing.T) {
	root := t.TempDir()
	t.Setenv("MINIHOST_CACHE", root)
	dirs := map[string]string{}
	for _, c := range knownCaches(root) {
		dirs[c.Name] = c.Dir
	}
	require.Equal(t, runtimetest.CacheDir(t), dirs["test-compile"])
	require.Equal(t, filepath.Join(root, "wazero"), dirs["compile"], "runtime.Config's default CacheDir")
	runtimetest.BuildWasm(t, "runtime/mpk/testdata/tiny")
	guests, err := filepath.Glob(filepath.Join(dirs["test-guests"], "*.wasm"))
	require.NoError(t, err)
	require.Len(t, guests, 1, "BuildWasm caches into test-guests")
}
