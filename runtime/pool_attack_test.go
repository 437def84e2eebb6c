package runtime

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Attacks on the warm pool (pool.go): what a reused Runtime must not
// carry from the closed app to the next one (RELIABILITY.md, the attack
// table).

// TestPoolAttackStaleInstance: an Instance of a closed Sandbox, kept by
// mistake, cannot run once its Runtime serves the app's next Sandbox:
// the call fails with ErrClosed and the new Sandbox's HostAPI sees none
// of it.
func TestPoolAttackStaleInstance(t *testing.T) {
	wasm := guestWasm(t, "basic")
	e := testEngine(t, Config{})
	old := &storeAPI{}
	sbA, mA, instA := openApp(t, e, "test.stale", old, wasm, SandboxConfig{})
	require.NoError(t, sbA.Close(t.Context()))
	api := &storeAPI{}
	sbB, _, _ := openApp(t, e, "test.stale", api, wasm, SandboxConfig{})
	require.Same(t, sbA.c, sbB.c, "reused")
	err := emit(t, instA, "storage-set", map[string]string{"key": "from-the-old-app", "value": "x"})
	require.ErrorIs(t, err, ErrClosed)
	_, err = sbB.Instantiate(t.Context(), mA, nil)
	require.Error(t, err, "a Module of the closed Sandbox instantiated in the new one")
	require.Empty(t, api.stored(), "the old instance reached the new app's HostAPI")
	require.Empty(t, old.stored())
}

// TestPoolAttackNoStateCarried: the next instance of a reused Runtime
// starts from nothing the closed one had: its globals (the guest's modal
// counter), its modal budget, and its mounted files.
func TestPoolAttackNoStateCarried(t *testing.T) {
	wasm := guestWasm(t, "basic")
	e := testEngine(t, Config{})
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("of the old app"), 0o644))
	cfg := SandboxConfig{AppID: "test.state", API: &testAPI{}, ModalBurst: 2, ModalsPerSecond: 1}
	sbA, err := e.NewSandboxWith(t.Context(), cfg)
	require.NoError(t, err)
	m, err := sbA.Compile(t.Context(), wasm)
	require.NoError(t, err)
	instA, err := sbA.Instantiate(t.Context(), m, os.DirFS(dir))
	require.NoError(t, err)
	oldAPI := cfg.API.(*testAPI)
	require.NoError(t, emit(t, instA, "readfile", map[string]string{"path": "/secret.txt"}))
	require.NoError(t, emit(t, instA, "modal", map[string]string{"title": "a"}))
	require.NoError(t, emit(t, instA, "modal", map[string]string{"title": "b"}))
	require.Equal(t, 1, oldAPI.count("read /secret.txt: 14 bytes"), oldAPI.dump())
	require.Equal(t, 1, oldAPI.count("modal 2: shown"), oldAPI.dump())
	require.NoError(t, sbA.Close(t.Context()))

	api := &testAPI{}
	sbB, _, instB := openApp(t, e, "test.state", api, wasm, SandboxConfig{ModalBurst: 2, ModalsPerSecond: 1})
	require.Same(t, sbA.c, sbB.c, "reused")
	require.NoError(t, emit(t, instB, "modal", map[string]string{"title": "c"}))
	require.Equal(t, 1, api.count("modal 1: shown"), "globals or modal budget carried over: %s", api.dump())
	require.NoError(t, emit(t, instB, "readfile", map[string]string{"path": "/secret.txt"}))
	require.Zero(t, api.count("14 bytes"), "the old app's mount is visible: %s", api.dump())
}

// TestPoolAttackSameLengthOtherBuild: another build of the app of the
// same length (one byte of its data changed) is not taken for the parked
// one: the match is on a seeded hash of all the bytes, not the length.
func TestPoolAttackSameLengthOtherBuild(t *testing.T) {
	wasm := guestWasm(t, "basic")
	i := bytes.Index(wasm, []byte("unknown event"))
	require.Positive(t, i, "the guest's data holds its log text")
	other := bytes.Clone(wasm)
	copy(other[i:], "UNKNOWN")
	e := testEngine(t, Config{})
	sbA, mA, _ := openApp(t, e, "test.build", &testAPI{}, wasm, SandboxConfig{})
	require.NoError(t, sbA.Close(t.Context()))
	api := &testAPI{}
	sbB, mB, instB := openApp(t, e, "test.build", api, other, SandboxConfig{})
	require.Same(t, sbA.c, sbB.c, "the Runtime is reused")
	require.NotSame(t, mA.compiled, mB.compiled, "the parked module was taken for another build")
	require.NoError(t, emit(t, instB, "nosuch", nil))
	require.Equal(t, 1, api.count("UNKNOWN event nosuch"), api.dump())
	require.NotEqual(t, e.sourceOf(wasm), e.sourceOf(other))
	// The seed is the Engine's: another Engine hashes the same bytes
	// differently, so no build can be made to match in advance.
	require.NotEqual(t, e.sourceOf(wasm), testEngine(t, Config{}).sourceOf(wasm))
}

// TestPoolAttackEngineCloseWhileParking: Engine.Close racing Sandboxes
// that park leaves no Runtime open and nothing counted in the pool,
// whichever wins. Run it with -race.
func TestPoolAttackEngineCloseWhileParking(t *testing.T) {
	wasm := guestWasm(t, "basic")
	e := testEngine(t, Config{})
	var sbs []*Sandbox
	for _, id := range []string{"test.race1", "test.race2", "test.race3", "test.race4"} {
		sb, _, _ := openApp(t, e, id, &testAPI{}, wasm, SandboxConfig{})
		sbs = append(sbs, sb)
	}
	var wg sync.WaitGroup
	for _, sb := range sbs {
		wg.Go(func() { require.NoError(t, sb.Close(context.Background())) })
	}
	require.NoError(t, e.Close(t.Context()))
	wg.Wait()
	for _, sb := range sbs {
		require.True(t, runtimeClosed(t, sb.c), "%s: its Runtime outlived Engine.Close", sb.cfg.AppID)
		require.Nil(t, sb.c.kept, "%s: its module outlived Engine.Close", sb.cfg.AppID)
	}
	require.Zero(t, e.pool.size())
}
