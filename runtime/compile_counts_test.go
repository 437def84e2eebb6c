package runtime

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
	"github.com/minihost/minihost/runtime/internal/wasmbin/wasmbintest"
	"github.com/minihost/minihost/runtime/runtimetest"
)

// TestCompileRefusesHostileCounts compiles the modules of wasmbintest that
// declare a count wazero v1.12 allocates by with no bytes (or, for
// locals, no cap) behind it: an element vector of 2^32-1 entries, a
// function type of 2^32-1 parameters, a function of 2^32-1 locals, and
// the like in the data, import, export, code and name sections. Compile
// and Validate refuse each with wasmbin's error, and the Sandbox goes on.
//
// wazero takes the test binary down on each ("fatal error: out of
// memory", which no recover catches) unless wasmbin refuses it first, so
// every case checks that before it calls Compile.
func TestCompileRefusesHostileCounts(t *testing.T) {
	e := testEngine(t, Config{})
	sb := testSandbox(t, e, &testAPI{}, SandboxConfig{})
	attacks := 0
	for _, c := range wasmbintest.Cases() {
		if !c.Attack() {
			continue
		}
		attacks++
		t.Run(c.Name, func(t *testing.T) {
			if _, err := wasmbin.LimitTables(c.Wasm, DefaultMaxTableElements); err == nil {
				t.Fatal("wasmbin accepts the module: compiling it would take the host down")
			}
			_, err := sb.Compile(t.Context(), c.Wasm)
			var ce *CompileError
			t.Log(err)
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, c.Err)
			require.ErrorContains(t, err, c.Message)
			if errors.Is(c.Err, wasmbin.ErrUnsupported) {
				require.ErrorIs(t, err, ErrNotABI, "the runtime's sentinel for what wasmbin does not support")
			}
			err = e.Validate(t.Context(), "test.validate", c.Wasm)
			require.ErrorIs(t, err, c.Err, "Validate")
			require.ErrorContains(t, err, c.Message, "Validate")
		})
	}
	require.GreaterOrEqual(t, attacks, 55)

	// The Sandbox still compiles and runs a real guest.
	mod, err := sb.Compile(t.Context(), runtimetest.BuildWasm(t, "samples/counter"))
	require.NoError(t, err)
	inst, err := sb.Instantiate(t.Context(), mod, nil)
	require.NoError(t, err)
	require.NoError(t, inst.Close(t.Context()))
}
