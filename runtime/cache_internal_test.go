package runtime

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cacheFiles returns the size of each compile cache file in dir.
func cacheFiles(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "wazero-*", "*"))
	require.NoError(t, err)
	out := map[string]int64{}
	for _, p := range paths {
		if strings.HasSuffix(p, ".tmp") {
			continue
		}
		info, err := os.Stat(p)
		require.NoError(t, err)
		out[filepath.Base(p)] = info.Size()
	}
	return out
}

// TestCompileCacheEvictsLeastRecentlyUsed compiles two real guests into
// a fresh cache folder whose bound holds one: the entry of a Module still
// open stays, and the older one goes once its Module is closed.
func TestCompileCacheEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	// The clock of uses: the rewrite cache writes (and so reads it) on a
	// goroutine of its own while the test moves it.
	var clockMu sync.Mutex
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	engine := func(max int64) *Engine {
		e, err := NewEngine(Config{CacheDir: dir, CacheMaxBytes: max})
		require.NoError(t, err)
		t.Cleanup(func() { e.Close(context.Background()) })
		require.NotNil(t, e.lru, "the cache is on disk")
		e.lru.Now = func() time.Time {
			clockMu.Lock()
			defer clockMu.Unlock()
			return clock
		}
		return e
	}
	// Hand-written ABI modules that differ in their data only: entries
	// of one size, each compiled in milliseconds where a Go guest takes
	// seconds under the race detector.
	compile := func(e *Engine, name string) *Module {
		t.Helper()
		clockMu.Lock()
		clock = clock.Add(time.Hour)
		clockMu.Unlock()
		sb := testSandbox(t, e, &fuzzAPI{}, SandboxConfig{})
		m, err := sb.Compile(t.Context(), abiModule{tableMin: 1, data: []byte(name)}.bytes())
		require.NoError(t, err)
		return m
	}

	a := compile(engine(DefaultCacheMaxBytes), "a")
	files := cacheFiles(t, dir)
	require.Len(t, files, 1, "the first compile wrote one entry")
	var sizeA int64
	old := map[string]bool{}
	for name, size := range files {
		sizeA, old[name] = size, true
	}

	// A second Engine (a later process) whose bound fits about one entry.
	e := engine(sizeA + sizeA/2)
	b := compile(e, "b")
	files = cacheFiles(t, dir)
	require.Len(t, files, 2, "both entries stay while both Modules are open")
	for name := range files {
		old[name] = true
	}
	require.NoError(t, a.Close(t.Context()))
	require.NoError(t, b.Close(t.Context()))

	c := compile(e, "c")
	defer c.Close(t.Context())
	after := cacheFiles(t, dir)
	require.Len(t, after, 1, "the bound evicted the older entries once their Modules closed: %v", after)
	for name := range after {
		require.False(t, old[name], "the newest compile's entry is the one kept")
	}
}
