package wasmbin_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"os"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
	wbt "github.com/minihost/minihost/runtime/internal/wasmbin/wasmbintest"

	"github.com/minihost/minihost/runtime/internal/guestbuild"
	"github.com/minihost/minihost/runtime/runtimetest"
)

// TestMergeDataGoGuest merges a real Go guest's data segments and checks
// that the merged module's memory, right after instantiation (before any
// start function), is byte for byte the original's.
func TestMergeDataGoGuest(t *testing.T) {
	root := runtimetest.ModuleRoot(t)
	out := filepath.Join(t.TempDir(), "guest.wasm")
	require.NoError(t, guestbuild.Compile(t.Context(), filepath.Join(root, "runtime/testdata/guests/basic"), out, guestbuild.Options{KeepDataSegments: true}))
	wasm, err := os.ReadFile(out)
	require.NoError(t, err)
	merged, st, err := wasmbin.MergeData(wasm, 4096)
	require.NoError(t, err)
	require.Empty(t, st.Skipped)
	t.Logf("data segments %d -> %d, %d zero bytes filled, module %d -> %d bytes", st.Before, st.After, st.FillBytes, len(wasm), len(merged))
	require.Greater(t, st.Before, 10000, "Go's linker writes tens of thousands of segments")
	require.Less(t, st.After, 50)
	require.Equal(t, memoryAfterData(t, wasm), memoryAfterData(t, merged), "memory after the data segments are written")

	again, st2, err := wasmbin.MergeData(merged, 4096)
	require.NoError(t, err)
	require.Equal(t, st.After, st2.Before)
	require.Equal(t, merged, again, "merging twice changes nothing")
}

// memoryAfterData instantiates wasm with no start function and returns a
// copy of its memory.
func memoryAfterData(t *testing.T, wasm []byte) []byte {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	compiled, err := rt.CompileModule(ctx, wasm)
	require.NoError(t, err)
	stubImports(ctx, t, rt, compiled)
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions())
	require.NoError(t, err)
	mem, ok := mod.Memory().Read(0, mod.Memory().Size())
	require.True(t, ok)
	return bytes.Clone(mem)
}

// stubImports instantiates, for every module compiled imports functions
// from other than WASI, a host module of functions that do nothing.
func stubImports(ctx context.Context, t *testing.T, rt wazero.Runtime, compiled wazero.CompiledModule) {
	builders := map[string]wazero.HostModuleBuilder{}
	for _, f := range compiled.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod == wasi_snapshot_preview1.ModuleName {
			continue
		}
		if builders[mod] == nil {
			builders[mod] = rt.NewHostModuleBuilder(mod)
		}
		builders[mod].NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(context.Context, api.Module, []uint64) {}), f.ParamTypes(), f.ResultTypes()).
			Export(name)
	}
	for mod, b := range builders {
		_, err := b.Instantiate(ctx)
		require.NoError(t, err, "stub module %s", mod)
	}
}

// seg is an active data segment on memory 0 at an i32.const offset.
func seg(off int32, data string) []byte {
	b := []byte{0x00, 0x41}
	b = wasmbin.AppendSLEB128(b, off)
	b = append(b, 0x0b)
	return append(append(b, wbt.ULEB(uint32(len(data)))...), data...)
}

// TestMergeData: gaps up to the limit merge, wider ones do not, and every
// module whose meaning a merge could change is left alone, saying why.
func TestMergeData(t *testing.T) {
	memory := wbt.Section(5, wbt.Vec([]byte{0x00, 0x01}))
	data := func(segs ...[]byte) []byte { return wbt.Section(11, wbt.Vec(segs...)) }
	importedMemory := wbt.Section(2, wbt.Vec(append(append(wbt.Name("env"), wbt.Name("mem")...), 0x02, 0x00, 0x01)))
	tests := []struct {
		name      string
		wasm      []byte
		wantAfter int
		skipped   string
	}{
		{"gaps within the limit, out of order", wbt.Module(memory, data(seg(8, "ab"), seg(0, "xy"), seg(12, "cd"))), 1, ""},
		{"gap past the limit", wbt.Module(memory, data(seg(0, "ab"), seg(12, "cd"))), 2, ""},
		{"touching", wbt.Module(memory, data(seg(0, "ab"), seg(2, "cd"))), 1, ""},
		{"a data count section", wbt.Module(memory, wbt.Section(12, wbt.ULEB(2)), data(seg(0, "ab"), seg(2, "cd"))), 2, "data count"},
		{"an imported memory", wbt.Module(importedMemory, data(seg(0, "ab"), seg(2, "cd"))), 0, "imported memory"},
		{"a passive segment", wbt.Module(memory, data(seg(0, "ab"), append([]byte{0x01}, append(wbt.ULEB(2), "cd"...)...))), 0, "passive"},
		{"overlapping segments", wbt.Module(memory, data(seg(0, "abcd"), seg(2, "xy"))), 2, "overlap"},
		{"an offset from a global", wbt.Module(memory, data(seg(0, "ab"), []byte{0x00, 0x23, 0x00, 0x0b, 0x01, 'c'})), 0, "not an i32.const"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st, err := wasmbin.MergeData(tt.wasm, 8)
			require.NoError(t, err)
			if tt.skipped != "" {
				require.Contains(t, st.Skipped, tt.skipped)
				require.Equal(t, tt.wasm, out, "a skipped module is left as it is")
				return
			}
			require.Empty(t, st.Skipped)
			require.Equal(t, tt.wantAfter, st.After)
			require.Equal(t, memoryAfterData(t, tt.wasm), memoryAfterData(t, out))
		})
	}
	_, _, err := wasmbin.MergeData([]byte("\x00asm\x01\x00\x00\x00\x0b\x05\x01"), 8)
	require.ErrorIs(t, err, wasmbin.ErrMalformed, "a data section cut short")
}
