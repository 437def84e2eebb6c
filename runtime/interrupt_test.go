package runtime

import (
	goruntime "runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRewritesShared: Sandboxes compiling one module share its rewrite
// (made and hashed once); another table cap makes another; the Engine
// forgets a rewrite once no Module holds it.
func TestRewritesShared(t *testing.T) {
	e := testEngine(t, Config{})
	wasm := abiModule{tableMin: 1}.bytes()
	compile := func(cfg SandboxConfig) *Module {
		m, err := testSandbox(t, e, &testAPI{}, cfg).Compile(t.Context(), wasm)
		require.NoError(t, err)
		return m
	}
	a, b := compile(SandboxConfig{}), compile(SandboxConfig{})
	require.Same(t, a.rw, b.rw)
	c := compile(SandboxConfig{MaxTableElements: 100})
	require.NotSame(t, a.rw, c.rw)
	require.Equal(t, 2, e.rewrites.len())

	for _, m := range []*Module{a, b, c} {
		require.NoError(t, m.Close(t.Context()))
	}
	a, b, c = nil, nil, nil
	deadline := time.Now().Add(10 * time.Second)
	for e.rewrites.len() > 0 {
		require.True(t, time.Now().Before(deadline), "the Engine still holds %d rewrites of closed Modules", e.rewrites.len())
		goruntime.GC()
		goruntime.Gosched()
	}
}
