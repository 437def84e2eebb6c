package wasmbin

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// loopModule is a module that uses every place a function index lives:
//
//	import 0 env.h (i32) -> i32, which the host makes x+1
//	func 1 "count" (n i32) -> i32: a loop of n turns calling h, then n
//	func 2 "run" () -> i32: count(1000) + call_indirect table[0](5) + g
//	func 3 "init" (the start function): g = 7
//	table 0 = [count] (an active element segment)
//	exports run, count; a name section naming funcs 0-3.
func loopModule() []byte {
	types := sec(sectionType, uleb(3),
		[]byte{typeFunc, 1, 0x7f, 1, 0x7f}, // 0: (i32) -> i32
		[]byte{typeFunc, 0, 1, 0x7f},       // 1: () -> i32
		[]byte{typeFunc, 0, 0})             // 2: () -> ()
	count := []byte{
		0x01, 0x01, 0x7f, // a local i32: i
		0x02, 0x40, // block
		0x03, 0x40, // loop
		0x20, 0x01, 0x20, 0x00, 0x4e, 0x0d, 0x01, // local.get i, local.get n, i32.ge_s, br_if 1
		0x20, 0x01, 0x10, 0x00, 0x21, 0x01, // i = h(i)
		0x0c, 0x00, // br 0
		0x0b, 0x0b, // end loop, end block
		0x20, 0x00, 0x0b, // n
	}
	run := []byte{0x00,
		0x41, 0xe8, 0x07, 0x10, 0x01, // count(1000)
		0x41, 0x05, 0x41, 0x00, 0x11, 0x00, 0x00, // call_indirect type 0 table 0 (5, index 0)
		0x6a,
		0x23, 0x00, 0x6a, // + g
		0x0b}
	initG := []byte{0x00, 0x41, 0x07, 0x24, 0x00, 0x0b}
	body := func(b []byte) []byte { return append(uleb(uint32(len(b))), b...) }
	names := sec(sectionCustom, name("name"), func() []byte {
		m := []byte{nameFunctions}
		entries := [][]byte{uleb(4)}
		for i, n := range []string{"h", "count", "run", "init"} {
			entries = append(entries, append(uleb(uint32(i)), name(n)...))
		}
		p := []byte{}
		for _, e := range entries {
			p = append(p, e...)
		}
		return append(append(m, uleb(uint32(len(p)))...), p...)
	}())
	return module(types,
		imports(imp("env", "h", importFunc, 0x00)),
		sec(sectionFunction, uleb(3), uleb(0), uleb(1), uleb(2)),
		tables(funcref(1, 1)),
		sec(sectionGlobal, uleb(1), []byte{0x7f, 0x01, 0x41, 0x00, 0x0b}),
		sec(sectionExport, uleb(2), name("run"), []byte{importFunc}, uleb(2), name("count"), []byte{importFunc}, uleb(1)),
		sec(sectionStart, uleb(3)),
		sec(sectionElement, uleb(1), []byte{0x00, 0x41, 0x00, 0x0b}, uleb(1), uleb(1)),
		sec(sectionCode, uleb(3), body(count), body(run), body(initG)),
		names)
}

// runLoopModule instantiates wasm with env.h and wx.tick (counting its
// calls) and returns run()'s result and the name of export count.
func runLoopModule(t *testing.T, wasm []byte) (result uint32, countName string, ticks int) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	_, err := rt.NewHostModuleBuilder("env").NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(_ context.Context, s []uint64) { s[0]++ }), []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).
		Export("h").Instantiate(ctx)
	require.NoError(t, err)
	instantiateTick(t, rt, &ticks)
	compiled, err := rt.CompileModule(ctx, wasm)
	require.NoError(t, err)
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig())
	require.NoError(t, err)
	res, err := mod.ExportedFunction("run").Call(ctx)
	require.NoError(t, err)
	return uint32(res[0]), compiled.ExportedFunctions()["count"].Name(), ticks
}

// instantiateTick instantiates the host module wx with tick, the
// interrupt, which counts its calls in ticks.
func instantiateTick(t *testing.T, rt wazero.Runtime, ticks *int) {
	_, err := rt.NewHostModuleBuilder("wx").NewFunctionBuilder().
		WithGoFunction(api.GoFunc(func(context.Context, []uint64) { *ticks++ }), nil, nil).
		Export("tick").Instantiate(context.Background())
	require.NoError(t, err)
}

// TestAddInterrupts: the rewritten module computes what the original
// does (every call, table entry, export, start function and name follows
// the shifted indices) and calls the import once every Every turns of a
// loop.
func TestAddInterrupts(t *testing.T) {
	in := loopModule()
	want, wantName, _ := runLoopModule(t, in)
	require.Equal(t, uint32(1000+5+7), want)
	require.Equal(t, "count", wantName)

	out, err := AddInterrupts(in, Interrupt{Module: "wx", Name: "tick", Every: 100, Workers: 2})
	require.NoError(t, err)
	got, gotName, ticks := runLoopModule(t, out)
	require.Equal(t, want, got)
	require.Equal(t, wantName, gotName, "the name section follows the shift")
	// 1000 + 5 turns of the loop, each past its head once, plus the
	// final head of each call: 1007 heads, every 100th calls.
	require.Equal(t, 1007/100, ticks)

	// A module without loops is returned as it is.
	noLoop := module(typeSection, sec(sectionFunction, uleb(1), uleb(0)), sec(sectionCode, uleb(1), []byte{2, 0, 0x0b}))
	same, err := AddInterrupts(noLoop, Interrupt{Module: "wx", Name: "tick", Every: 1})
	require.NoError(t, err)
	require.Equal(t, noLoop, same)
}

// TestAddInterruptsWithoutSections: a module with no import or global
// section gets both, in their place.
func TestAddInterruptsWithoutSections(t *testing.T) {
	loop := []byte{0x00, 0x03, 0x40, 0x0b, 0x0b} // loop end: one turn
	in := module(typeSection, sec(sectionFunction, uleb(1), uleb(0)),
		sec(sectionExport, uleb(1), name("f"), []byte{importFunc}, uleb(0)),
		sec(sectionCode, uleb(1), append(uleb(uint32(len(loop))), loop...)))
	out, err := AddInterrupts(in, Interrupt{Module: "wx", Name: "tick", Every: 1})
	require.NoError(t, err)
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	ticks := 0
	instantiateTick(t, rt, &ticks)
	mod, err := rt.Instantiate(ctx, out)
	require.NoError(t, err)
	_, err = mod.ExportedFunction("f").Call(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, ticks)
}

func TestAddInterruptsRefuses(t *testing.T) {
	body := func(b ...byte) []byte {
		b = append([]byte{0x00, 0x03, 0x40, 0x0b}, b...) // a loop, then b
		return module(typeSection, sec(sectionFunction, uleb(1), uleb(0)), sec(sectionCode, uleb(1), append(uleb(uint32(len(b))), b...)))
	}
	tests := []struct {
		name    string
		wasm    []byte
		every   uint32
		want    error
		message string
	}{
		{"every zero", loopModule(), 0, nil, "Every 0"},
		{"the import taken", module(typeSection, imports(imp("wx", "tick", importFunc, 0x00)),
			sec(sectionFunction, uleb(1), uleb(0)), sec(sectionCode, uleb(1), []byte{5, 0, 0x03, 0x40, 0x0b, 0x0b})), 8, ErrUnsupported, "imports wx.tick itself"},
		{"unknown opcode", body(0x27, 0x0b), 8, ErrMalformed, "function 0: offset 4: malformed wasm module: opcode 0x27"},
		{"unknown 0xfc opcode", body(0xfc, 0x20, 0x0b), 8, ErrMalformed, "opcode 0xfc 32"},
		{"cut immediate", body(0x41), 8, ErrMalformed, "runs past the body"},
		{"cut memarg", body(0x28), 8, ErrMalformed, "runs past the body"},
		{"not a module", []byte("\x00asm"), 8, ErrMalformed, "header"},
		{"too many loops in a function", body(bytes.Repeat([]byte{0x03, 0x40, 0x0b}, MaxCountdowns)...), 8, ErrUnsupported, "function 0: unsupported wasm construct: 129 loops and calls outside loops, above 128"},
		{"too many calls outside loops", body(append(bytes.Repeat([]byte{0x10, 0x00}, MaxCountdowns), 0x0b)...), 8, ErrUnsupported, "129 loops and calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AddInterrupts(tt.wasm, Interrupt{Module: "wx", Name: "tick", Every: tt.every})
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			}
			require.Contains(t, err.Error(), tt.message)
		})
	}
}

// FuzzAddInterrupts: whatever the bytes, AddInterrupts refuses them or
// returns a module wazero compiles whenever it compiles the input.
func FuzzAddInterrupts(f *testing.F) {
	f.Add(loopModule())
	for _, m := range hidingModules() {
		f.Add(m.wasm)
	}
	f.Add(module(typeSection, sec(sectionFunction, uleb(1), uleb(0)), sec(sectionCode, uleb(1), []byte{5, 0, 0x03, 0x40, 0x0b, 0x0b})))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := AddInterrupts(in, Interrupt{Module: "wx", Name: "tick", Every: 3, Workers: 2})
		if err != nil {
			return
		}
		requireCompiles(t, in, out)
	})
}

// TestRewrite: Rewrite is LimitTables then AddInterrupts, byte for byte,
// for a module with loops and tables, one with a table and no loop (the
// tables alone change) and one with neither (returned as is).
func TestRewrite(t *testing.T) {
	imp := Interrupt{Module: "wx", Name: "tick", Every: 100, Workers: 2}
	noLoop := sec(sectionCode, uleb(1), []byte{2, 0, 0x0b})
	for name, in := range map[string][]byte{
		"loops and a table":       loopModule(),
		"a table without a max":   module(typeSection, sec(sectionFunction, uleb(1), uleb(0)), tables(funcref(3, -1)), noLoop),
		"neither loop nor change": module(typeSection, sec(sectionFunction, uleb(1), uleb(0)), noLoop),
	} {
		t.Run(name, func(t *testing.T) {
			limited, err := LimitTables(in, 1000)
			require.NoError(t, err)
			want, err := AddInterrupts(limited, imp)
			require.NoError(t, err)
			got, err := Rewrite(in, 1000, imp)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
	_, err := Rewrite(module(tables(funcref(1001, -1))), 1000, imp)
	require.ErrorIs(t, err, ErrTableLimit)
}
