package wasmbin

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// oneFunc is a module of types and one function "f" of type 0 with body
// b (locals included).
func oneFunc(types []byte, b []byte) []byte {
	return module(types, sec(sectionFunction, uleb(1), uleb(0)),
		sec(sectionExport, uleb(1), name("f"), []byte{importFunc}, uleb(0)),
		sec(sectionCode, uleb(1), append(uleb(uint32(len(b))), b...)))
}

// TestAddInterruptsLeavesNoWayOut: guests that would run forever, each
// hiding its way from the countdown (found by an attack review), are
// stopped: the rewrite (every head) runs f on wazero without
// WithCloseOnContextDone, under a deadline its tick enforces as
// runtime.interrupt does.
func TestAddInterruptsLeavesNoWayOut(t *testing.T) {
	for _, tt := range hidingModules() {
		t.Run(tt.name, func(t *testing.T) {
			out, err := AddInterrupts(tt.wasm, Interrupt{Module: "wx", Name: "tick", Every: 1})
			require.NoError(t, err)
			ctx := context.Background()
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
			_, err = rt.NewHostModuleBuilder("wx").NewFunctionBuilder().
				WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, _ api.Module, _ []uint64) {
					if ctx.Err() != nil {
						panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
					}
				}), nil, nil).Export("tick").Instantiate(ctx)
			require.NoError(t, err)
			mod, err := rt.Instantiate(ctx, out)
			require.NoError(t, err, "wazero refuses the rewrite")
			cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() { _, err := mod.ExportedFunction("f").Call(cctx); done <- err }()
			select {
			case err := <-done:
				var exit *sys.ExitError
				require.ErrorAs(t, err, &exit)
				rt.Close(ctx)
			case <-time.After(20 * time.Second):
				// The guest holds a core until the process ends; the
				// Runtime is left open under it.
				t.Fatal("the guest still runs 20 s after its 100 ms deadline: it escaped the countdown")
			}
		})
	}
}

// TestAddInterruptsReferenceLoopType: the countdown goes after a loop's
// whole block type, (ref null func) included, so the rewrite compiles.
func TestAddInterruptsReferenceLoopType(t *testing.T) {
	in := oneFunc(typeSection, []byte{0x00, 0x03, 0x63, 0x70, 0xd0, 0x70, 0x0b, 0x1a, 0x0b}) // loop (result funcref) ... drop
	out, err := AddInterrupts(in, Interrupt{Module: "wx", Name: "tick", Every: 1})
	require.NoError(t, err)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	_, err = rt.CompileModule(ctx, in)
	require.NoError(t, err, "the input")
	_, err = rt.CompileModule(ctx, out)
	require.NoError(t, err, "the rewrite")
}

// hidingModules are modules whose f runs forever, each hiding its way
// from a countdown in its own way; FuzzAddInterrupts starts from them too.
func hidingModules() []struct {
	name string
	wasm []byte
} {
	manyTypes := []byte{33}
	for range 33 {
		manyTypes = append(manyTypes, typeFunc, 0, 0)
	}
	recursion := module(sec(sectionType, uleb(2), []byte{typeFunc, 0, 0}, []byte{typeFunc, 1, 0x7f, 0}),
		sec(sectionFunction, uleb(2), uleb(0), uleb(1)),
		sec(sectionExport, uleb(1), name("f"), []byte{importFunc}, uleb(0)),
		sec(sectionCode, uleb(2),
			body1(0x00, 0x41, 50, 0x10, 0x01, 0x0b), // f: r(50)
			body1(0x00, 0x20, 0x00, 0x04, 0x40, // r(n): if n { r(n-1); r(n-1) }: 2^50 calls, no loop
				0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x01,
				0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x01, 0x0b, 0x0b)))
	return []struct {
		name string
		wasm []byte
	}{
		{"a loop", oneFunc(typeSection, []byte{0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b})},
		// wazero reads a vector opcode as one byte: fd 80 is i16x8.abs,
		// and the 03 after it a loop (read as a LEB128, fd 80 03 is one
		// instruction and the loop is not seen).
		{"a loop after a vector opcode above 0x7f", oneFunc(typeSection, append(append([]byte{0x00, 0xfd, 0x0c}, make([]byte, 16)...),
			0xfd, 0x80, 0x03, 0x40, 0x01, 0x0c, 0x00, 0x0b, 0x1a, 0x0b))},
		// block (result (ref null 32)): a heap type after 0x63, which a
		// one-s33 block type would read as local.get 3.
		{"a loop after a reference block type", oneFunc(sec(sectionType, manyTypes),
			[]byte{0x00, 0x02, 0x63, 0x20, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x00, 0x0b, 0x1a, 0x0b})},
		{"recursion without a loop", recursion},
	}
}

// body1 is a function body of the given bytes (locals included), with
// its size.
func body1(b ...byte) []byte { return append(uleb(uint32(len(b))), b...) }
