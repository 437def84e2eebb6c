package runtime

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// storeAPI is a testAPI whose SetStorage records the keys it is given,
// under the testAPI's mutex.
type storeAPI struct {
	testAPI
	keys []string
}

func (a *storeAPI) SetStorage(key string, _ []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keys = append(a.keys, key)
	return nil
}

func (a *storeAPI) stored() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.keys...)
}

func guestWasm(t *testing.T, name string) []byte {
	t.Helper()
	return runtimetest.BuildWasm(t, filepath.Join("runtime", "testdata", "guests", name))
}

// openApp opens a Sandbox of appID on e serving api, compiles wasm in it
// and instantiates it, as the host opens an app.
func openApp(t *testing.T, e *Engine, appID string, api HostAPI, wasm []byte, cfg SandboxConfig) (*Sandbox, *Module, *Instance) {
	t.Helper()
	cfg.AppID, cfg.API = appID, api
	sb, err := e.NewSandboxWith(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { sb.Close(context.Background()) })
	m, err := sb.Compile(t.Context(), wasm)
	require.NoError(t, err)
	inst, err := sb.Instantiate(t.Context(), m, nil)
	require.NoError(t, err)
	return sb, m, inst
}

// emit delivers custom event name with data to inst.
func emit(t *testing.T, inst *Instance, name string, data any) error {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"name": name, "data": data})
	require.NoError(t, err)
	return inst.OnEvent(t.Context(), abi.EventCustom, raw)
}

// runtimeClosed reports whether c's wazero Runtime is closed: it has
// forgotten its wx module (compiling in a closed Runtime panics in wazero).
func runtimeClosed(t *testing.T, c *core) bool {
	t.Helper()
	return c.rt.Module(hostModule) == nil
}

// TestPoolReusesClosedSandbox: an app closed and opened again gets its
// Runtime back, and Compile of the same bytes returns the compiled module
// kept with it, compiling nothing; the new Sandbox's wx calls reach its
// own HostAPI, never the closed app's.
func TestPoolReusesClosedSandbox(t *testing.T) {
	e := testEngine(t, Config{})
	wasm := guestWasm(t, "basic")
	old := &storeAPI{}
	sb1, m1, inst1 := openApp(t, e, "test.pool", old, wasm, SandboxConfig{})
	require.NoError(t, emit(t, inst1, "storage-set", map[string]string{"key": "before", "value": "1"}))
	c1, compiled := sb1.c, m1.compiled
	require.NoError(t, sb1.Close(t.Context()))
	require.Positive(t, e.pool.size(), "parked")
	require.False(t, runtimeClosed(t, c1), "a parked Runtime is open")
	require.Nil(t, c1.rt.Module(inst1.mod.Name()), "its instances are closed")
	require.Same(t, parkedAPI, c1.api.Load(), "the parked Runtime keeps no pointer to the closed app's HostAPI")

	api := &storeAPI{}
	sb2, m2, inst2 := openApp(t, e, "test.pool", api, wasm, SandboxConfig{})
	require.Same(t, c1, sb2.c, "the Runtime is reused")
	require.Same(t, compiled, m2.compiled, "the compiled module is reused")
	require.Zero(t, e.pool.size(), "taken out of the pool")
	require.NoError(t, emit(t, inst2, "storage-set", map[string]string{"key": "after", "value": "2"}))
	require.Equal(t, []string{"after"}, api.stored(), "the new HostAPI serves the reused Runtime")
	require.Equal(t, 1, api.count("set after: ok"), api.dump())
	require.Equal(t, []string{"before"}, old.stored(), "the closed app's HostAPI gets nothing more")
	require.Zero(t, old.count("after"), old.dump())

	// The old app's handles stay closed.
	_, err := sb1.Instantiate(t.Context(), m1, nil)
	require.ErrorIs(t, err, ErrClosed)
	require.Error(t, emit(t, inst1, "echo", "x"))
}

// TestPoolMisses: a different module in the reused Runtime compiles anew
// (the kept one is released), and different limits or app ids never
// share a Runtime.
func TestPoolMisses(t *testing.T) {
	basic, crashy := guestWasm(t, "basic"), guestWasm(t, "crashy")
	tests := []struct {
		name         string
		appID        string
		cfg          SandboxConfig
		wasm         []byte
		sameRuntime  bool
		sameCompiled bool
	}{
		{"same app, same module", "test.miss", SandboxConfig{}, basic, true, true},
		{"same app, another module", "test.miss", SandboxConfig{}, crashy, true, false},
		{"another app", "test.other", SandboxConfig{}, basic, false, false},
		{"another memory limit", "test.miss", SandboxConfig{MemoryLimitPages: 1024}, basic, false, false},
		{"another table limit", "test.miss", SandboxConfig{MaxTableElements: 1 << 16}, basic, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEngine(t, Config{})
			sb1, m1, _ := openApp(t, e, "test.miss", &testAPI{}, basic, SandboxConfig{})
			c1, compiled := sb1.c, m1.compiled
			require.NoError(t, sb1.Close(t.Context()))
			sb2, m2, inst := openApp(t, e, tt.appID, &testAPI{}, tt.wasm, tt.cfg)
			require.Equal(t, tt.sameRuntime, sb2.c == c1, "same Runtime")
			require.Equal(t, tt.sameCompiled, m2.compiled == compiled, "same compiled module")
			require.Nil(t, sb2.c.kept, "nothing left kept once Compile ran")
			require.NoError(t, inst.OnShow(t.Context()))
		})
	}
}

// TestPoolEvictsByBudget: with room for one app, parking a second (of
// another module) evicts the first, least recently closed, whose Runtime
// is closed; a Sandbox bigger than the whole budget is not parked.
func TestPoolEvictsByBudget(t *testing.T) {
	wasm, other := guestWasm(t, "basic"), guestWasm(t, "crashy")
	largest := estimateBytes(max(len(wasm), len(other)))
	one := largest + largest/2 // a table rewrite may grow a module a little
	e := testEngine(t, Config{IdleBytes: one})
	sbA, _, _ := openApp(t, e, "test.a", &testAPI{}, wasm, SandboxConfig{})
	sbB, _, _ := openApp(t, e, "test.b", &testAPI{}, other, SandboxConfig{})
	cA, cB := sbA.c, sbB.c
	require.NoError(t, sbA.Close(t.Context()))
	require.False(t, runtimeClosed(t, cA), "A parked")
	require.NoError(t, sbB.Close(t.Context()))
	require.True(t, runtimeClosed(t, cA), "A evicted and closed")
	require.Nil(t, cA.kept, "A's compiled module released")
	require.False(t, runtimeClosed(t, cB), "B parked")
	require.Equal(t, estimateBytes(cB.kept.size), e.pool.size())

	small := testEngine(t, Config{IdleBytes: 1})
	sb, _, _ := openApp(t, small, "test.big", &testAPI{}, wasm, SandboxConfig{})
	c := sb.c
	require.NoError(t, sb.Close(t.Context()))
	require.True(t, runtimeClosed(t, c), "too big for the pool: closed")
	require.Zero(t, small.pool.size())
}

// TestPoolCountsSharedCodeOnce: apps that run the same module (every JS
// app runs the base library) share its compiled code in wazero, so the
// pool counts the code once and each app's decoded module: a budget that
// holds one app's whole cost and a decoded module more holds two such
// apps, not three; the code stays counted while any of them is parked.
func TestPoolCountsSharedCodeOnce(t *testing.T) {
	wasm := guestWasm(t, "basic")
	e := testEngine(t, Config{})
	probe, _, _ := openApp(t, e, "test.probe", &testAPI{}, wasm, SandboxConfig{})
	require.NoError(t, probe.Close(t.Context()))
	size := probe.c.kept.size // the bytes compiled, after the table rewrite
	full, decoded := estimateBytes(size), decodedBytes(size)

	e = testEngine(t, Config{IdleBytes: full + decoded + decoded/2})
	var cores []*core
	for _, id := range []string{"test.a", "test.b", "test.c"} {
		sb, _, _ := openApp(t, e, id, &testAPI{}, wasm, SandboxConfig{})
		require.NoError(t, sb.Close(t.Context()))
		cores = append(cores, sb.c)
	}
	require.True(t, runtimeClosed(t, cores[0]), "the third app evicts the first")
	require.False(t, runtimeClosed(t, cores[1]), "B parked")
	require.False(t, runtimeClosed(t, cores[2]), "C parked")
	require.Equal(t, full+decoded, e.pool.size(), "the code of B and C counted once")

	_, _, _ = openApp(t, e, "test.b", &testAPI{}, wasm, SandboxConfig{})
	require.Equal(t, full, e.pool.size(), "B taken back: C alone holds the code")
}

// TestPoolCloses: Engine.Close closes the parked Runtimes; a negative
// IdleBytes, a failed instance and Validate's Sandboxes park nothing.
func TestPoolCloses(t *testing.T) {
	wasm := guestWasm(t, "basic")
	t.Run("engine close", func(t *testing.T) {
		e := testEngine(t, Config{})
		sb, _, _ := openApp(t, e, "test.close", &testAPI{}, wasm, SandboxConfig{})
		c := sb.c
		require.NoError(t, sb.Close(t.Context()))
		require.False(t, runtimeClosed(t, c))
		require.NoError(t, e.Close(t.Context()))
		require.True(t, runtimeClosed(t, c), "Engine.Close closes parked Runtimes")
		require.Nil(t, c.kept)
	})
	tests := []struct {
		name  string
		cfg   Config
		event string // run before the close; "" for none
	}{
		{"reuse off", Config{IdleBytes: -1}, ""},
		{"trapped", Config{}, "panic"},
		{"timed out", Config{CallTimeout: 200 * time.Millisecond}, "loop"},
		{"memory limit", Config{MemoryLimitPages: 512}, "alloc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEngine(t, tt.cfg)
			sb, _, inst := openApp(t, e, "test.noreuse", &testAPI{}, wasm, SandboxConfig{})
			if tt.event != "" {
				require.Error(t, emit(t, inst, tt.event, nil))
			}
			c := sb.c
			require.NoError(t, sb.Close(t.Context()))
			require.True(t, runtimeClosed(t, c), "not parked: closed")
			require.Zero(t, e.pool.size())
			sb2, _, _ := openApp(t, e, "test.noreuse", &testAPI{}, wasm, SandboxConfig{})
			require.NotSame(t, c, sb2.c)
		})
	}
	t.Run("validate", func(t *testing.T) {
		e := testEngine(t, Config{})
		sb, _, _ := openApp(t, e, "test.validate", &testAPI{}, wasm, SandboxConfig{})
		require.NoError(t, sb.Close(t.Context()))
		parked := e.pool.size()
		require.NoError(t, e.Validate(t.Context(), "test.validate", wasm))
		require.Equal(t, parked, e.pool.size(), "Validate neither takes nor parks")
	})
}

// TestPoolKeepsLimits: a reused Runtime enforces the new Sandbox's
// limits: its call deadline (not part of the pool's key), the memory cap,
// and fresh output budgets.
func TestPoolKeepsLimits(t *testing.T) {
	wasm := guestWasm(t, "basic")
	e := testEngine(t, Config{MemoryLimitPages: 512})
	park := func() *core {
		sb, _, inst := openApp(t, e, "test.limits", &testAPI{}, wasm, SandboxConfig{LogBurst: 3, LogLinesPerSecond: 1})
		for range 5 {
			require.NoError(t, emit(t, inst, "echo", "x"))
		}
		c := sb.c
		require.NoError(t, sb.Close(t.Context()))
		return c
	}
	tests := []struct {
		name  string
		cfg   SandboxConfig
		event string
		want  error
	}{
		{"deadline", SandboxConfig{CallTimeout: 200 * time.Millisecond}, "loop", ErrTimeout},
		{"memory", SandboxConfig{}, "alloc", ErrMemoryLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := park()
			api := &testAPI{}
			tt.cfg.LogBurst, tt.cfg.LogLinesPerSecond = 3, 1
			sb, _, inst := openApp(t, e, "test.limits", api, wasm, tt.cfg)
			require.Same(t, c, sb.c, "reused")
			// The budget is the new Sandbox's: the old one spent its burst.
			require.NoError(t, emit(t, inst, "echo", "y"))
			require.Equal(t, 1, api.count("echo"), api.dump())
			err := emit(t, inst, tt.event, nil)
			require.ErrorIs(t, err, tt.want)
			require.NoError(t, sb.Close(t.Context()))
			require.True(t, runtimeClosed(t, c), "a Runtime whose instance failed is not parked again")
		})
	}
}

// TestPoolAfterHotSwap: the module parked is the one running at close,
// the old one of a hot swap is released when it closes.
func TestPoolAfterHotSwap(t *testing.T) {
	basic, crashy := guestWasm(t, "basic"), guestWasm(t, "crashy")
	e := testEngine(t, Config{})
	sb, m1, inst1 := openApp(t, e, "test.swap", &testAPI{}, basic, SandboxConfig{})
	m2, err := sb.Compile(t.Context(), crashy)
	require.NoError(t, err)
	inst2, err := sb.Instantiate(t.Context(), m2, nil)
	require.NoError(t, err)
	require.NoError(t, inst1.Close(t.Context()))
	require.NoError(t, m1.Close(t.Context()))
	require.NoError(t, inst2.OnShow(t.Context()))
	require.NoError(t, sb.Close(t.Context()))
	sb2, err := e.NewSandbox(t.Context(), "test.swap", &testAPI{})
	require.NoError(t, err)
	defer sb2.Close(context.Background())
	require.Same(t, sb.c, sb2.c)
	m, err := sb2.Compile(t.Context(), crashy)
	require.NoError(t, err)
	require.Same(t, m2.compiled, m.compiled, "the module running at close was kept")
}

// TestPoolSecondWindow: a second Sandbox of an app that is open gets a
// Runtime of its own (the first one's is in use); once both close, the
// pool keeps one Runtime per app, the last closed, and closes the other.
func TestPoolSecondWindow(t *testing.T) {
	wasm := guestWasm(t, "basic")
	e := testEngine(t, Config{})
	sb1, m1, _ := openApp(t, e, "test.window", &testAPI{}, wasm, SandboxConfig{})
	sb2, m2, _ := openApp(t, e, "test.window", &testAPI{}, wasm, SandboxConfig{})
	require.NotSame(t, sb1.c, sb2.c)
	require.NotSame(t, m1.compiled, m2.compiled, "a compile of its own")
	require.NoError(t, sb1.Close(t.Context()))
	require.NoError(t, sb2.Close(t.Context()))
	require.True(t, runtimeClosed(t, sb1.c), "replaced by the later one")
	require.False(t, runtimeClosed(t, sb2.c))
	require.Equal(t, estimateBytes(sb2.c.kept.size), e.pool.size())
}
