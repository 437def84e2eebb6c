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
// the like in the data, import, export, code and name sections; and those
// that declare more entries than the caps allow, backed by their bytes:
// 2^20+1 element entries, 1 000 001 globals or functions, and so on.
// Compile and Validate refuse each with wasmbin's message and the
// runtime's sentinel, ErrMalformedWasm or ErrNotABI, and the Sandbox goes
// on.
//
// wazero takes the test binary down on each ("fatal error: out of
// memory", which no recover catches) unless wasmbin refuses it first, so
// every case checks that before it calls Compile.
func TestCompileRefusesHostileCounts(t *testing.T) {
	require.Equal(t, defaultMaxTableElements, wasmbintest.TableCap, "the table cap the cases assume")
	e := testEngine(t, Config{})
	sb := testSandbox(t, e, &testAPI{}, SandboxConfig{})
	attacks := 0
	for _, c := range wasmbintest.Cases() {
		if !c.Attack() {
			continue
		}
		attacks++
		t.Run(c.Name, func(t *testing.T) {
			if _, err := wasmbin.LimitTables(c.Wasm, defaultMaxTableElements); err == nil {
				t.Fatal("wasmbin accepts the module: compiling it would take the host down")
			}
			// The runtime's sentinel for wasmbin's, and never the other.
			want, other := ErrMalformedWasm, ErrNotABI
			if errors.Is(c.Err, wasmbin.ErrUnsupported) {
				want, other = ErrNotABI, ErrMalformedWasm
			}
			_, err := sb.Compile(t.Context(), c.Wasm)
			var ce *compileError
			t.Log(err)
			require.ErrorAs(t, err, &ce)
			require.ErrorIs(t, err, want)
			require.NotErrorIs(t, err, other)
			require.ErrorIs(t, err, c.Err)
			require.ErrorContains(t, err, c.Message)
			err = e.Validate(t.Context(), "test.validate", c.Wasm)
			require.ErrorIs(t, err, want, "Validate")
			require.ErrorContains(t, err, c.Message, "Validate")
		})
	}
	require.GreaterOrEqual(t, attacks, 78)

	// The Sandbox still compiles and runs a real guest.
	mod, err := sb.Compile(t.Context(), runtimetest.BuildWasm(t, "samples/counter"))
	require.NoError(t, err)
	inst, err := sb.Instantiate(t.Context(), mod, nil)
	require.NoError(t, err)
	require.NoError(t, inst.Close(t.Context()))
}

// TestValidateMalformedKeepsItsMessage checks the mapping of wasmbin's
// ErrMalformed: the message is wasmbin's, said once, and the error is
// ErrMalformedWasm, not ErrNotABI.
func TestValidateMalformedKeepsItsMessage(t *testing.T) {
	e := testEngine(t, Config{})
	// A section of 10 bytes in a module that ends after 1.
	err := e.Validate(t.Context(), "test.malformed", []byte("\x00asm\x01\x00\x00\x00\x04\x0a\x01"))
	require.ErrorIs(t, err, ErrMalformedWasm)
	require.NotErrorIs(t, err, ErrNotABI)
	require.EqualError(t, err, "compile test.malformed: malformed wasm module: section 0 (id 4) of 10 bytes at offset 8 runs past the end of the module")
}

// TestTableCapBoundsElementEntries compiles a module whose element
// segments hold one entry more than a configured table cap: refused,
// though the default cap would take it.
func TestTableCapBoundsElementEntries(t *testing.T) {
	e := testEngine(t, Config{})
	entries := func(n int) []byte {
		// A passive segment of n function indices 0.
		return wasmbintest.Module(wasmbintest.Section(9, []byte{1}, []byte{1, 0}, wasmbintest.VecOf(n, []byte{0})))
	}
	sb := testSandbox(t, e, &testAPI{}, SandboxConfig{MaxTableElements: 100})
	_, err := sb.Compile(t.Context(), entries(101))
	require.ErrorIs(t, err, ErrNotABI)
	require.ErrorContains(t, err, "element section: segment 0 brings the module's element entries to 101, more than the limit of 100")
	_, err = rewrite(entries(101), defaultMaxTableElements, 1)
	require.NoError(t, err, "the default cap")
	_, err = rewrite(entries(100), 100, 1)
	require.NoError(t, err, "at the cap")
}
