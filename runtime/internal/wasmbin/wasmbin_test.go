package wasmbin

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// module returns a wasm module made of sections.
func module(sections ...[]byte) []byte {
	return bytes.Join(append([][]byte{header}, sections...), nil)
}

// sec returns a section of id with payload.
func sec(id byte, payload ...[]byte) []byte {
	p := bytes.Join(payload, nil)
	return append(AppendULEB128([]byte{id}, uint32(len(p))), p...)
}

func uleb(v uint32) []byte { return AppendULEB128(nil, v) }

func name(s string) []byte { return append(uleb(uint32(len(s))), s...) }

// tables returns a table section with entries.
func tables(entries ...[]byte) []byte {
	return sec(sectionTable, append([][]byte{uleb(uint32(len(entries)))}, entries...)...)
}

// funcref returns a funcref table type with min and, when max >= 0, max.
func funcref(min uint32, max int64) []byte {
	if max < 0 {
		return AppendULEB128([]byte{refFuncref, limitsMin}, min)
	}
	return AppendULEB128(AppendULEB128([]byte{refFuncref, limitsMinMax}, min), uint32(max))
}

// imports returns an import section with entries.
func imports(entries ...[]byte) []byte {
	return sec(sectionImport, append([][]byte{uleb(uint32(len(entries)))}, entries...)...)
}

func imp(mod, field string, desc ...byte) []byte {
	return append(append(name(mod), name(field)...), desc...)
}

var (
	typeSection   = sec(1, []byte{0x01, 0x60, 0x00, 0x00}) // one type: () -> ()
	customSection = sec(0, name("note"), []byte("anything"))
	importFunc0   = imp("wasi_snapshot_preview1", "proc_exit", importFunc, 0x00)
	allImports    = imports(importFunc0, imp("env", "mem", importMemory, limitsMinMax, 1, 2),
		imp("env", "g", importGlobal, 0x7f, 0x00), imp("env", "r", importGlobal, refNullable, 0x70, 0x01),
		imp("env", "tag", importTag, 0x00, 0x00))
)

func TestLimitTables(t *testing.T) {
	const limit = 100
	manyTables := make([][]byte, MaxTables+1)
	for i := range manyTables {
		manyTables[i] = funcref(0, -1)
	}
	tests := []struct {
		name    string
		wasm    []byte
		want    []Table // the tables after the rewrite
		same    bool    // the input comes back as is
		err     error
		message string // part of the error
	}{
		{name: "no tables", wasm: module(typeSection, customSection), same: true},
		{name: "empty module", wasm: module(), same: true},
		{name: "no max gets the cap", wasm: module(tables(funcref(5, -1))), want: []Table{{5, limit, true}}},
		{name: "lower max kept", wasm: module(tables(funcref(5, 50))), want: []Table{{5, 50, true}}, same: true},
		{name: "max at the cap kept", wasm: module(tables(funcref(5, limit))), want: []Table{{5, limit, true}}, same: true},
		{name: "higher max lowered", wasm: module(tables(funcref(5, 1<<32-1))), want: []Table{{5, limit, true}}},
		{name: "min at the cap", wasm: module(tables(funcref(limit, -1))), want: []Table{{limit, limit, true}}},
		{name: "externref", wasm: module(tables([]byte{refExternref, limitsMin, 0x00})), want: []Table{{0, limit, true}}},
		{name: "padded LEB128 minimum", wasm: module(tables([]byte{refFuncref, limitsMin, 0x85, 0x80, 0x80, 0x80, 0x00})), want: []Table{{5, limit, true}}},
		{name: "two tables share what the minima leave", wasm: module(tables(funcref(10, -1), funcref(20, 1000))), want: []Table{{10, 45, true}, {20, 55, true}}},
		{name: "two tables, one with a low max", wasm: module(tables(funcref(10, 12), funcref(20, -1))), want: []Table{{10, 12, true}, {20, 55, true}}},
		{
			name: "sections around the table kept",
			wasm: module(customSection, typeSection, allImports, tables(funcref(1, -1)), customSection, sec(7, uleb(0))),
			want: []Table{{1, limit, true}},
		},
		{name: "min above the cap", wasm: module(tables(funcref(limit+1, -1))), err: ErrTableLimit, message: "table 0 declares a minimum of 101 elements, above the cap of 100"},
		{name: "huge min", wasm: module(tables(funcref(1<<32-2, -1))), err: ErrTableLimit, message: "table 0 declares a minimum of 4294967294"},
		{name: "second table above the cap", wasm: module(tables(funcref(1, -1), funcref(limit+1, limit+1))), err: ErrTableLimit, message: "table 1 declares"},
		{name: "minima add up past the cap", wasm: module(tables(funcref(60, -1), funcref(50, -1))), err: ErrTableLimit, message: "declare 110 elements in all, above the cap of 100"},
		{name: "too many tables", wasm: module(tables(manyTables...)), err: ErrTableLimit, message: "more than 64 tables"},
		{name: "imported table", wasm: module(typeSection, imports(importFunc0, imp("env", "table", importTable, refFuncref, limitsMin, 0x00))), err: ErrUnsupported, message: `import 1: unsupported wasm construct: "env"."table" is a table`},
		{name: "initializer expression", wasm: module(tables([]byte{tableWithInit, 0x00, refFuncref, limitsMin, 0x00, 0xd2, 0x00, 0x0b})), err: ErrUnsupported, message: "table 0"},
		{name: "typed reference", wasm: module(tables([]byte{refNullable, 0x70, limitsMin, 0x00})), err: ErrUnsupported},
		{name: "i32 elements", wasm: module(tables([]byte{0x7f, limitsMin, 0x00})), err: ErrUnsupported},
		{name: "no header", wasm: []byte("\x00asm"), err: ErrMalformed},
		{name: "wrong version", wasm: []byte("\x00asm\x0d\x00\x01\x00"), err: ErrMalformed},
		{name: "section past the end", wasm: append(module(), sectionTable, 10, 1), err: ErrMalformed, message: "runs past the end"},
		{name: "section size truncated", wasm: append(module(), sectionTable, 0x80), err: ErrMalformed},
		{name: "section size overflows", wasm: append(module(), 0, 0xff, 0xff, 0xff, 0xff, 0x7f), err: ErrMalformed, message: "overflows 32 bits"},
		{name: "table count truncated", wasm: module(sec(sectionTable)), err: ErrMalformed},
		{name: "table entry truncated", wasm: module(sec(sectionTable, []byte{1, refFuncref, limitsMinMax, 1})), err: ErrMalformed, message: "table 0: maximum"},
		{name: "bytes after the tables", wasm: module(sec(sectionTable, []byte{1}, funcref(1, -1), []byte{0})), err: ErrMalformed, message: "1 bytes after"},
		{name: "shared table", wasm: module(tables([]byte{refFuncref, limitsShared, 0x00})), err: ErrMalformed},
		{name: "table64 limits", wasm: module(tables([]byte{refFuncref, 0x04, 0x00})), err: ErrMalformed},
		{name: "import name past the section", wasm: module(sec(sectionImport, []byte{1, 50, 'a'})), err: ErrMalformed},
		{name: "unknown import kind", wasm: module(imports(imp("a", "b", 0x09))), err: ErrMalformed, message: "kind 0x9"},
		{name: "import count past the section", wasm: module(sec(sectionImport, []byte{0xff, 0xff, 0xff, 0xff, 0x0f})), err: ErrMalformed, message: "count or length of 4294967295"},
		{name: "code count past the section", wasm: module(sec(sectionCode, []byte{0x05, 0x00})), err: ErrMalformed, message: "section 0 (id 10)"},
		{name: "custom name past the section", wasm: module(sec(sectionCustom, []byte{0xff, 0xff, 0xff, 0xff, 0x0f})), err: ErrMalformed},
		{name: "start section not counted", wasm: module(sec(8, []byte{0x05})), same: true},
		{name: "bytes after the imports", wasm: module(typeSection, sec(sectionImport, uleb(1), importFunc0, []byte{0})), err: ErrMalformed},
		{name: "element entries at the cap", wasm: module(tables(funcref(limit, -1)), elements(limit)), want: []Table{{limit, limit, true}}},
		{name: "element entries past the cap", wasm: module(tables(funcref(limit, -1)), elements(limit+1)), err: ErrUnsupported,
			message: "element section: segment 0 brings the module's element entries to 101, more than the limit of 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := LimitTables(tt.wasm, limit)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				require.Contains(t, err.Error(), tt.message)
				require.Nil(t, out)
				return
			}
			require.NoError(t, err)
			if tt.same {
				require.Same(t, firstByte(tt.wasm), firstByte(out), "a module that needs no change comes back as is")
			} else {
				require.NotEqual(t, tt.wasm, out)
			}
			got, err := Tables(out)
			require.NoError(t, err)
			if tt.want == nil {
				require.Empty(t, got)
			} else {
				require.Equal(t, tt.want, got)
			}
			again, err := LimitTables(out, limit)
			require.NoError(t, err)
			require.Same(t, firstByte(out), firstByte(again), "a limited module needs no second rewrite")
			requireCompiles(t, tt.wasm, out)
		})
	}
}

// firstByte returns the address of b's first byte, or nil.
func firstByte(b []byte) *byte {
	if len(b) == 0 {
		return nil
	}
	return &b[0]
}

// requireCompiles checks that wazero compiles out whenever it compiles in.
func requireCompiles(t *testing.T, in, out []byte) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	c, err := rt.CompileModule(ctx, in)
	if err != nil {
		return
	}
	c.Close(ctx)
	c, err = rt.CompileModule(ctx, out)
	require.NoError(t, err, "wazero compiles the module but not its rewrite")
	c.Close(ctx)
}

// elements returns an element section of one passive segment of n
// function indices.
func elements(n int) []byte {
	return sec(sectionElement, uleb(1), []byte{1, 0}, uleb(uint32(n)), bytes.Repeat([]byte{0}, n))
}

// TestElementEntriesCap checks the cap on element entries above a table
// cap of 10 000 000: the JS API's, MaxElementEntries. No wazero: the
// twin would cost it 400 MB.
func TestElementEntriesCap(t *testing.T) {
	at, past := module(elements(MaxElementEntries)), module(elements(MaxElementEntries+1))
	for _, limit := range []uint32{MaxElementEntries + 1, 1<<32 - 1} {
		_, err := LimitTables(at, limit)
		require.NoError(t, err)
		_, err = LimitTables(past, limit)
		require.ErrorIs(t, err, ErrUnsupported)
		require.ErrorContains(t, err, "element section: segment 0 brings the module's element entries to 10000001, more than the limit of 10000000")
	}
	_, err := Tables(at)
	require.NoError(t, err)
	_, err = Tables(past)
	require.ErrorIs(t, err, ErrUnsupported, "Tables")
}

func TestLimitTablesCopiesOnlyTheTableSection(t *testing.T) {
	in := module(typeSection, tables(funcref(3, -1)), customSection)
	orig := bytes.Clone(in)
	out, err := LimitTables(in, 1<<20)
	require.NoError(t, err)
	require.Equal(t, orig, in, "the input was changed")
	require.Equal(t, module(typeSection, tables(funcref(3, 1<<20)), customSection), out)
}

// FuzzLimitTables feeds arbitrary bytes to LimitTables. It never panics
// and never changes its input; what it accepts has a maximum on every
// table, the same minima, no maximum raised, maxima adding up to at most
// the cap, and needs no second rewrite. It does not run wazero on its
// input: wazero v1.12 runs out of memory on some (see checkCount), and
// TestLimitTables checks that wazero compiles the rewrites.
func FuzzLimitTables(f *testing.F) {
	f.Add(module(tables(funcref(5, -1))), uint32(100))
	f.Add(module(tables(funcref(10, -1), funcref(20, 1000))), uint32(100))
	f.Add(module(customSection, typeSection, allImports, tables(funcref(1, -1)), sec(7, uleb(0))), uint32(1<<20))
	f.Add(module(typeSection, imports(imp("env", "table", importTable, refFuncref, limitsMin, 0x00))), uint32(1))
	f.Add(module(tables([]byte{refFuncref, limitsMin, 0x85, 0x80, 0x80, 0x80, 0x00})), uint32(0))
	f.Add(module(tables([]byte{tableWithInit, 0x00, refFuncref, limitsMin, 0x00, 0xd2, 0x00, 0x0b})), uint32(7))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x04\xff\xff\xff\xff\x0f"), uint32(3))
	f.Fuzz(func(t *testing.T, in []byte, limit uint32) {
		orig := bytes.Clone(in)
		out, err := LimitTables(in, limit)
		if !bytes.Equal(in, orig) {
			t.Fatal("LimitTables changed its input")
		}
		if err != nil {
			if out != nil {
				t.Fatal("an error with a result")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTableLimit) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		before, err := Tables(in)
		if err != nil {
			t.Fatalf("LimitTables accepts what Tables refuses: %v", err)
		}
		after, err := Tables(out)
		if err != nil {
			t.Fatalf("the rewrite does not parse: %v", err)
		}
		if len(after) != len(before) {
			t.Fatalf("%d tables became %d", len(before), len(after))
		}
		var sum uint64
		for i, tb := range after {
			if !tb.HasMax || tb.Min != before[i].Min || (before[i].HasMax && tb.Max > before[i].Max) {
				t.Fatalf("table %d: %+v became %+v", i, before[i], tb)
			}
			sum += uint64(tb.Max)
		}
		if sum > uint64(limit) {
			t.Fatalf("maxima %+v add up past the cap of %d", after, limit)
		}
		again, err := LimitTables(out, limit)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("a limited module needs another rewrite: %v", err)
		}
	})
}
