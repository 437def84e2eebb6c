package wasmbin_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/internal/wasmbin"
	"github.com/minihost/minihost/runtime/runtimetest"
)

// TestLimitTablesGoGuest limits the table of a real Go guest: Go's linker
// declares one funcref table with no maximum, sized to its functions.
func TestLimitTablesGoGuest(t *testing.T) {
	wasm := runtimetest.BuildWasm(t, "runtime/testdata/guests/basic")
	before, err := wasmbin.Tables(wasm)
	require.NoError(t, err)
	require.Len(t, before, 1)
	require.False(t, before[0].HasMax)
	out, err := wasmbin.LimitTables(wasm, 1<<20)
	require.NoError(t, err)
	after, err := wasmbin.Tables(out)
	require.NoError(t, err)
	require.Equal(t, []wasmbin.Table{{before[0].Min, 1 << 20, true}}, after)
	// Go's linker pads its LEB128s; the new table section is minimal.
	require.InDelta(t, len(wasm), len(out), 16, "only the table section changes")
	wasmbin.RequireCompiles(t, wasm, out)
}

// BenchmarkParse measures the scan alone (sections, tables and every
// count wazero allocates by), on a real Go guest.
func BenchmarkParse(b *testing.B) {
	wasm := runtimetest.BuildWasm(b, "runtime/testdata/guests/basic")
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, err := wasmbin.Parse(wasm, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLimitTables measures the scan and the rewrite every launch
// pays, on a real Go guest.
func BenchmarkLimitTables(b *testing.B) {
	wasm := runtimetest.BuildWasm(b, "runtime/testdata/guests/basic")
	b.SetBytes(int64(len(wasm)))
	for b.Loop() {
		if _, err := wasmbin.LimitTables(wasm, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// goGuests returns the folders of every Go guest of the module, relative
// to its root: the runtime's test guests and the samples (but the SDK).
func goGuests(t testing.TB) []string {
	t.Helper()
	guests := runtimetest.GoGuests(t)
	require.GreaterOrEqual(t, len(guests), 13, "guests found: %v", guests)
	return guests
}

// TestGoGuestsPass scans every Go guest we build: each passes, with its
// counts well within the caps.
func TestGoGuestsPass(t *testing.T) {
	const tableCap = 1 << 20 // runtime.Config.MaxTableElements' default
	most := map[string]uint64{}
	for _, guest := range goGuests(t) {
		wasm := runtimetest.BuildWasm(t, guest)
		counts, err := wasmbin.Counts(wasm, tableCap)
		require.NoError(t, err, guest)
		_, err = wasmbin.LimitTables(wasm, tableCap)
		require.NoError(t, err, guest)
		t.Logf("%s: %d bytes; %v", guest, len(wasm), counts)
		for k, v := range counts {
			most[k] = max(most[k], v)
		}
	}
	// Room for a Go program many times larger than ours.
	for what, limit := range map[string]uint64{
		"types": wasmbin.MaxTypes, "imports": wasmbin.MaxImports, "functions": wasmbin.MaxFunctions,
		"body size": wasmbin.MaxFunctionSize, "exports": wasmbin.MaxExports, "globals": wasmbin.MaxGlobals,
		"tags": wasmbin.MaxTags, "element segments": wasmbin.MaxElementSegments, "element entries": tableCap,
		"function names": wasmbin.MaxFunctions, "functions with local names": wasmbin.MaxFunctions,
		"local names": wasmbin.MaxLocalNames, "locals in a function": wasmbin.MaxLocals,
		"locals in all": wasmbin.MaxModuleLocals, "parameters": wasmbin.MaxParams, "results": wasmbin.MaxResults,
		// Go's linker merges data segments rather than emit more than
		// 100 000 (cmd/link/internal/wasm, maxNumSegments), and the build
		// merges them further: no Go guest comes near the cap.
		"data segments": wasmbin.MaxDataSegments,
	} {
		t.Logf("at most %d %s, limit %d", most[what], what, limit)
		require.Less(t, most[what]*10, limit, what)
	}
}

// TestGoGuestsCompile validates every Go guest we build through a
// default Engine on the tests' compile cache (Engine.Validate: compile,
// ABI check, start code): each compiles, whatever its start code then
// does (the adversary guests trap, exit or time out there on purpose).
// .ci/run runs it without -race before the race-enabled suite, so that
// suite finds every guest in the cache: wazero's compiler under the race
// detector takes seconds per guest (a minute for the JS base library),
// and each test binary would pay it.
func TestGoGuestsCompile(t *testing.T) {
	e, err := runtime.NewEngine(runtime.Config{CacheDir: runtimetest.CacheDir(t)})
	require.NoError(t, err)
	defer e.Close(t.Context())
	for _, guest := range goGuests(t) {
		err := e.Validate(t.Context(), "test.compile", runtimetest.BuildWasm(t, guest))
		require.False(t, errors.Is(err, runtime.ErrMalformedWasm), "%s does not compile: %v", guest, err)
		t.Logf("%s: %v", guest, err)
	}
}

// BenchmarkAddInterrupts measures the countdown's rewrite every launch
// pays, on a real Go guest and on the JS base library.
func BenchmarkAddInterrupts(b *testing.B) {
	for _, guest := range []string{"runtime/testdata/guests/basic", "samples/jsbase"} {
		wasm := runtimetest.BuildWasm(b, guest)
		b.Run(filepath.Base(guest), func(b *testing.B) {
			b.SetBytes(int64(len(wasm)))
			for b.Loop() {
				if _, err := wasmbin.AddInterrupts(wasm, wasmbin.Interrupt{Module: "wx", Name: "i", Every: 1 << 13, Workers: 2}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRewriteGoGuest: on a real Go guest, Rewrite is LimitTables then
// AddInterrupts, and the rewrite compiles.
func TestRewriteGoGuest(t *testing.T) {
	wasm := runtimetest.BuildWasm(t, "runtime/testdata/guests/basic")
	imp := wasmbin.Interrupt{Module: "wx", Name: "minihost_interrupt", Every: 1 << 13, Workers: 2}
	limited, err := wasmbin.LimitTables(wasm, 1<<20)
	require.NoError(t, err)
	want, err := wasmbin.AddInterrupts(limited, imp)
	require.NoError(t, err)
	got, err := wasmbin.Rewrite(wasm, 1<<20, imp)
	require.NoError(t, err)
	require.Equal(t, want, got)
	wasmbin.RequireCompiles(t, wasm, got)
}
