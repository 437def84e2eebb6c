package wasmbin

import (
	"fmt"
	"sync"
)

// The code section's rewrite: a countdown after every loop instruction,
// calls to defined functions shifted by one. It reads every instruction
// of the module (most of its bytes), so it splits the bodies among
// workers.

// body is one function body of the code section: its function index and
// its bytes (after the size).
type body struct {
	fn         uint64
	start, end int
}

// code returns the new code section's payload, and how many countdowns
// it added, rewriting the bodies on up to workers goroutines. The
// payload is in pieces, which the caller appends in order and then
// releases (a chunk's buffer is reused by the next call).
func (w *rewriter) code(workers int) (*codeSection, error) {
	var s section
	for _, c := range w.m.sections {
		if c.id == sectionCode {
			s = c
		}
	}
	if s.end == 0 {
		return &codeSection{}, nil
	}
	r := reader{b: w.wasm[:s.end], off: s.payload}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	bodies := make([]body, 0, n)
	for i := range n {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		if uint64(size) > uint64(r.left()) {
			return nil, errEnd
		}
		bodies = append(bodies, body{fn: uint64(w.fn) + uint64(i), start: r.off, end: r.off + int(size)})
		r.off += int(size)
	}
	check := w.check()
	// Contiguous runs of bodies of about equal bytes, one per worker.
	workers = max(1, min(workers, len(bodies)))
	chunks := make([]chunk, workers)
	per := (s.end - s.payload) / workers
	first := 0
	for k := range chunks {
		last := first
		for last < len(bodies) && (k == workers-1 || bodies[last].end-bodies[first].start < per) {
			last++
		}
		chunks[k].bodies = bodies[first:last]
		first = last
	}
	var wg sync.WaitGroup
	for k := range chunks {
		wg.Go(func() { chunks[k].rewrite(w, check) })
	}
	wg.Wait()
	c := &codeSection{count: AppendULEB128(nil, n), chunks: chunks}
	c.size = len(c.count)
	for _, k := range chunks {
		if k.err != nil {
			c.release()
			return nil, k.err
		}
		c.size += len(k.out)
		c.checks += k.checks
	}
	return c, nil
}

// codeSection is the rewritten code section: its count, then the
// chunks' bytes.
type codeSection struct {
	count  []byte
	chunks []chunk
	size   int // of the payload
	checks int // countdowns added
}

func (c *codeSection) appendTo(out []byte) []byte {
	out = append(out, c.count...)
	for _, k := range c.chunks {
		out = append(out, k.out...)
	}
	return out
}

// release returns the chunks' buffers for reuse.
func (c *codeSection) release() {
	for _, k := range c.chunks {
		if k.out != nil {
			b := k.out[:0]
			chunkBuffers.Put(&b)
		}
	}
	c.chunks = nil
}

// chunkBuffers are the chunks' output buffers: a compile rewrites
// megabytes, and a large allocation is zeroed.
var chunkBuffers sync.Pool

// chunk is one worker's share of the bodies and what it made of them.
type chunk struct {
	bodies []body
	out    []byte // the bodies rewritten, each with its size
	checks int    // countdowns added
	err    error
}

func (c *chunk) rewrite(w *rewriter, check []byte) {
	if len(c.bodies) == 0 {
		return
	}
	in := c.bodies[len(c.bodies)-1].end - c.bodies[0].start
	if b, ok := chunkBuffers.Get().(*[]byte); ok && cap(*b) >= in+in/4 {
		c.out = *b
	} else {
		c.out = make([]byte, 0, in+in/4)
	}
	for _, fn := range c.bodies {
		r := reader{b: w.wasm[:fn.end], off: fn.start}
		// The body goes straight after a size of five bytes, a padded
		// LEB128 (as Go's linker writes them) filled in after.
		at := len(c.out)
		c.out = append(c.out, 0x80, 0x80, 0x80, 0x80, 0)
		var checks int
		if c.out, checks, c.err = w.body(&r, c.out, check); c.err != nil {
			c.err = fmt.Errorf("add interrupts: function %d: %w", fn.fn, c.err)
			return
		}
		putPaddedULEB128(c.out[at:at+5], uint32(len(c.out)-at-5))
		c.checks += checks
	}
}

// putPaddedULEB128 writes v into b as a LEB128 of exactly five bytes.
func putPaddedULEB128(b []byte, v uint32) {
	for i := range 4 {
		b[i] = byte(v&0x7f) | 0x80
		v >>= 7
	}
	b[4] = byte(v)
}

// check is the countdown: decrement, and at zero reset it and call the
// import.
func (w *rewriter) check() []byte {
	var check []byte
	check = AppendULEB128(append(check, opGlobalGet), w.global)
	check = append(check, opI32Const, 1, opI32Sub)
	check = AppendULEB128(append(check, opGlobalSet), w.global)
	check = AppendULEB128(append(check, opGlobalGet), w.global)
	check = append(check, opI32Eqz, opIf, blockEmpty, opI32Const)
	check = AppendSLEB128(check, int32(w.every))
	check = AppendULEB128(append(check, opGlobalSet), w.global)
	check = AppendULEB128(append(check, opCall), w.fn)
	return append(check, opEnd)
}

// More opcodes the countdown is made of.
const (
	opIf        = 0x04
	opGlobalSet = 0x24
	opI32Eqz    = 0x45
	blockEmpty  = 0x40
)

// body appends function body r to out with check after every loop
// instruction and before every call outside a loop, its calls' function
// indices shifted, and returns how many checks it added.
func (w *rewriter) body(r *reader, out, check []byte) ([]byte, int, error) {
	start := r.off
	if _, err := checkLocals(r, 0); err != nil {
		return nil, 0, err
	}
	copied := start // r.b[:copied] is in out
	checks := 0
	// A call needs no loop to run forever (a recursion that branches runs
	// 2^depth calls), so a call outside every loop of its function gets
	// the countdown before it; one inside a loop is behind that loop's
	// head, which each call of the function that reaches it has passed.
	// Go puts a function's body in a loop, and before it only the call
	// that grows the stack, so Go's calls pay nothing more.
	// blocks is the open blocks, innermost last, true for a loop; open the
	// loops among them.
	blocks := make([]bool, 0, 16)
	open := 0
	push := func(loop bool) {
		blocks = append(blocks, loop)
		if loop {
			open++
		}
	}
	// The walk keeps its offset in a local (off), not in r, so that it
	// stays in a register; the slow paths read through r.
	b, off := r.b, r.off
	skipLEB := func(off int) int {
		for off < len(b) && b[off] >= 0x80 {
			off++
		}
		return off + 1
	}
	for off < len(b) {
		at := off
		op := b[off]
		off++
		switch immediates[op] {
		case immNone:
		case immLEB:
			// The bytes are copied as they are, so wazero refuses an
			// overlong LEB128 as it would have.
			off = skipLEB(off)
		case immMemarg:
			if off < len(b) && b[off]&0x40 != 0 { // a memory index
				r.off = off
				if err := r.memarg(); err != nil {
					return nil, 0, err
				}
				off = r.off
				continue
			}
			off = skipLEB(skipLEB(off))
		case immEnd:
			if n := len(blocks); n > 0 { // else the function's own end
				if blocks[n-1] {
					open--
				}
				blocks = blocks[:n-1]
			}
		case immBlock:
			r.off = off
			if err := r.blockType(); err != nil {
				return nil, 0, err
			}
			off = r.off
			push(op == opLoop)
			if op == opLoop {
				out = append(append(out, b[copied:off]...), check...)
				copied = off
				checks++
			}
		case immCall:
			if open == 0 && op != opRefFunc {
				out = append(append(out, b[copied:at]...), check...)
				copied = at
				checks++
			}
			r.off = off
			i, err := r.u32()
			if err != nil {
				return nil, 0, err
			}
			off = r.off
			if i >= w.fn {
				out = AppendULEB128(append(out, b[copied:at+1]...), i+1)
				copied = off
			}
		default:
			// call_indirect, return_call_indirect, call_ref, return_call_ref
			if open == 0 && op >= 0x11 && op <= 0x15 {
				out = append(append(out, b[copied:at]...), check...)
				copied = at
				checks++
			}
			r.off = off
			if err := skipImmediates(r, op); err != nil {
				return nil, 0, fmt.Errorf("offset %d: %w", at-start, err)
			}
			off = r.off
			switch op {
			case opTryTable:
				push(false)
			case opDelegate: // ends a try
				if n := len(blocks); n > 0 {
					blocks = blocks[:n-1]
				}
			}
		}
	}
	if off > len(b) {
		return nil, 0, fmt.Errorf("%w: the last instruction runs past the body", ErrMalformed)
	}
	if checks > MaxCountdowns {
		return nil, 0, fmt.Errorf("%w: %d loops and calls outside loops, above %d a function (wazero's compile time grows with their square)", ErrUnsupported, checks, MaxCountdowns)
	}
	return append(out, b[copied:]...), checks, nil
}
