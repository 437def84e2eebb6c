package wasmbin

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
)

// program turns fuzz bytes into a valid module of up to three functions
// (i32) -> i32 that compute on their parameter (local 0) with bounded
// loops (a counter local per depth, at most 5 turns, nested 3 deep),
// if/else, blocks with results, breaks out of loops and calls to later
// functions (so never recursive): every program ends, and quickly.
// Function 0 is exported as "run".
type program struct {
	in  []byte
	out []byte
}

func (p *program) next() byte {
	if len(p.in) == 0 {
		return 0
	}
	b := p.in[0]
	p.in = p.in[1:]
	return b
}

func (p *program) emit(b ...byte) { p.out = append(p.out, b...) }

// stmts emits up to a few statements of function fn (of nfuncs) at loop
// depth depth; labels is how many labels enclose the code, loopAt the
// label index of the block around the innermost loop (-1: none).
func (p *program) stmts(fn, nfuncs, depth, labels, loopAt int) {
	for n := int(p.next() % 4); n > 0 && len(p.in) > 0; n-- {
		switch p.next() % 6 {
		case 0: // acc = acc*K + C
			p.emit(0x20, 0, 0x41, p.next()&0x3f, 0x6c, 0x41, p.next()&0x3f, 0x6a, 0x21, 0)
		case 1: // a counted loop
			if depth >= 3 {
				continue
			}
			d := byte(depth + 1)
			turns := p.next()%5 + 1
			p.emit(0x41, 0, 0x21, d, 0x02, 0x40, 0x03, 0x40) // i = 0; block; loop
			p.emit(0x20, d, 0x41, turns, 0x4e, 0x0d, 1)      // br_if 1 when i >= turns
			p.stmts(fn, nfuncs, depth+1, labels+2, labels)
			p.emit(0x20, d, 0x41, 1, 0x6a, 0x21, d, 0x0c, 0, 0x0b, 0x0b) // i++; br 0; end; end
		case 2: // if acc is odd
			p.emit(0x20, 0, 0x41, 1, 0x71, 0x04, 0x40)
			p.stmts(fn, nfuncs, depth, labels+1, loopAt)
			p.emit(0x05)
			p.stmts(fn, nfuncs, depth, labels+1, loopAt)
			p.emit(0x0b)
		case 3: // acc = f_j(acc), j later than fn
			if fn+1 >= nfuncs {
				continue
			}
			j := byte(fn + 1 + int(p.next())%(nfuncs-fn-1))
			p.emit(0x20, 0, 0x10, j, 0x21, 0)
		case 4: // leave the innermost loop when acc % 3 == 0
			if loopAt < 0 {
				continue
			}
			p.emit(0x20, 0, 0x41, 3, 0x70, 0x45, 0x0d, byte(labels-1-loopAt))
		case 5: // a block with a result
			p.emit(0x02, 0x7f, 0x20, 0, 0x41, p.next()&0x3f, 0x73, 0x0b, 0x21, 0)
		}
	}
}

// module returns the program's module.
func (p *program) module() []byte {
	nfuncs := int(p.next()%3) + 1
	bodies := [][]byte{uleb(uint32(nfuncs))}
	funcs := [][]byte{uleb(uint32(nfuncs))}
	for fn := range nfuncs {
		p.out = []byte{0x01, 0x03, 0x7f} // locals 1-3: the loop counters
		p.stmts(fn, nfuncs, 0, 0, -1)
		p.emit(0x20, 0, 0x0b)
		bodies = append(bodies, append(uleb(uint32(len(p.out))), p.out...))
		funcs = append(funcs, uleb(0))
	}
	return module(
		sec(sectionType, uleb(1), []byte{typeFunc, 1, 0x7f, 1, 0x7f}),
		sec(sectionFunction, funcs...),
		sec(sectionExport, uleb(1), name("run"), []byte{importFunc}, uleb(0)),
		sec(sectionCode, bodies...))
}

// runProgram returns run(arg) of wasm, with wx.tick counting into ticks.
func runProgram(t *testing.T, wasm []byte, arg uint32, ticks *int) uint32 {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	instantiateTick(t, rt, ticks)
	mod, err := rt.Instantiate(ctx, wasm)
	require.NoError(t, err)
	res, err := mod.ExportedFunction("run").Call(ctx, uint64(arg))
	require.NoError(t, err)
	return uint32(res[0])
}

// FuzzAddInterruptsKeepsMeaning: a program of loops, branches out of
// them, blocks and calls computes the same with the countdown as without
// it, and the countdown fires when loops turned often enough.
func FuzzAddInterruptsKeepsMeaning(f *testing.F) {
	f.Add([]byte{2, 3, 1, 4, 1, 2, 4, 0, 7, 9, 3, 0, 5, 11}, uint32(7))
	f.Add([]byte{0, 2, 1, 4, 2, 1, 1, 4, 0, 3, 5, 2, 4, 0, 1, 1, 5, 5}, uint32(9))
	f.Fuzz(func(t *testing.T, code []byte, arg uint32) {
		in := (&program{in: code}).module()
		var before, after int
		want := runProgram(t, in, arg, &before)
		out, err := AddInterrupts(in, Interrupt{Module: "wx", Name: "tick", Every: 2, Workers: 1})
		require.NoError(t, err)
		got := runProgram(t, out, arg, &after)
		require.Equal(t, want, got, "the countdown changed what the program computes")
		require.Zero(t, before)
	})
}

// TestAddInterruptsKeepsMeaningTicks: the seed programs loop, so the
// rewritten ones call the import.
func TestAddInterruptsKeepsMeaningTicks(t *testing.T) {
	in := (&program{in: []byte{0, 1, 1, 4, 1, 1, 4, 0, 5, 2}}).module()
	out, err := AddInterrupts(in, Interrupt{Module: "wx", Name: "tick", Every: 2, Workers: 1})
	require.NoError(t, err)
	var before, after int
	require.Equal(t, runProgram(t, in, 3, &before), runProgram(t, out, 3, &after))
	require.Positive(t, after, "a loop of several turns reached the interrupt")
}
