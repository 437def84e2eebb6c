package wasmbin

import "fmt"

// The instructions of a function body: AddInterrupts walks every one, so
// it must know each opcode's immediates. It knows every opcode wazero
// v1.12 decodes (the core of WebAssembly 2.0 with SIMD, threads, tail
// calls, exception handling and function references); an opcode outside
// them is refused, as wazero would refuse it.

// Opcodes the walk acts on, beyond those of bounds.go.
const (
	opLoop       = 0x03
	opDelegate   = 0x18
	opTryTable   = 0x1f
	opCall       = 0x10
	opReturnCall = 0x12
	opMiscPrefix = 0xfc
	opAtomPrefix = 0xfe
)

// Classes of opcodes by their immediates, for the walk's fast path: a
// table lookup, not a chain of comparisons (the walk reads every
// instruction of multi-MB modules at every compile).
const (
	immOther = iota // skipImmediates reads them by opcode
	immNone
	immLEB    // one LEB128: an index, a label, an i32 or i64 constant
	immBlock  // block, loop, if, try: a block type, and a block opened
	immEnd    // end: a block closed
	immCall   // call, return_call, ref.func: a function index
	immMemarg // loads and stores: two LEB128s (and no memory index, bit 6 of the first clear)
)

var immediates = func() (t [256]byte) {
	set := func(class byte, ops ...byte) {
		for _, op := range ops {
			t[op] = class
		}
	}
	// unreachable, nop, else, throw_ref, end, return, catch_all, drop,
	// select, ref.is_null, ref.eq, ref.as_non_null, and the numeric
	// instructions.
	set(immNone, 0x00, 0x01, 0x05, 0x0a, 0x0f, 0x19, 0x1a, 0x1b, 0xd1, 0xd3, 0xd4)
	set(immEnd, opEnd)
	for op := 0x45; op <= 0xc4; op++ {
		set(immNone, byte(op))
	}
	// catch, throw, rethrow, br, br_if, call_ref, return_call_ref,
	// delegate, local.*, global.*, table.get/set, memory.size/grow,
	// br_on_null, br_on_non_null, and the integer constants.
	set(immLEB, 0x07, 0x08, 0x09, 0x0c, 0x0d, 0x14, 0x15, 0x18, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26,
		0x3f, 0x40, 0xd5, 0xd6, opI32Const, opI64Const)
	for op := 0x28; op <= 0x3e; op++ {
		set(immMemarg, byte(op))
	}
	set(immBlock, 0x02, opLoop, 0x04, 0x06)
	set(immCall, opCall, opReturnCall, opRefFunc)
	return t
}()

// skipImmediates skips the immediates of instruction op, whose opcode
// byte r has just read: by its class in immediates, else by op. An
// index or constant is skipped as a LEB128 of up to 10 bytes; the
// rewrite copies it as it is, and wazero refuses one too long for its
// type.
func skipImmediates(r *reader, op byte) error {
	switch immediates[op] {
	case immNone, immEnd:
		return nil
	case immLEB, immCall:
		return r.skipLEB128(maxLEB128Len64)
	case immMemarg:
		return r.memarg()
	case immBlock:
		return r.blockType()
	}
	switch {
	case op == 0x0e: // br_table
		n, err := r.u32()
		if err != nil {
			return err
		}
		if uint64(n) > uint64(r.left()) {
			return errEnd
		}
		for range n + 1 {
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		return nil
	case op == 0x11, op == 0x13: // call_indirect, return_call_indirect
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err := r.u32()
		return err
	case op == 0x1c: // select t*
		n, err := r.u32()
		if err != nil {
			return err
		}
		for range n {
			if err := r.valueType(); err != nil {
				return err
			}
		}
		return nil
	case op == 0x1f: // try_table
		return skipTryTable(r)
	case op == opF32Const:
		return r.skip(4)
	case op == opF64Const:
		return r.skip(8)
	case op == opRefNull:
		return r.skipS33() // a heap type
	case op == opMiscPrefix:
		return skipMisc(r)
	case op == opVecPrefix:
		return skipVector(r)
	case op == opAtomPrefix:
		sub, err := r.u32()
		if err != nil {
			return err
		}
		if sub == 0x03 { // atomic.fence
			return r.skip(1)
		}
		return r.memarg()
	}
	return fmt.Errorf("%w: opcode %#x", ErrMalformed, op)
}

// skipTryTable skips try_table's block type and catch clauses.
func skipTryTable(r *reader) error {
	if err := r.blockType(); err != nil {
		return err
	}
	n, err := r.u32()
	if err != nil {
		return err
	}
	for range n {
		kind, err := r.byte()
		if err != nil {
			return err
		}
		if kind <= 1 { // catch, catch_ref: a tag
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		if _, err := r.u32(); err != nil { // the label
			return err
		}
	}
	return nil
}

// skipMisc skips a 0xfc instruction: saturating truncations, bulk memory
// and table instructions.
func skipMisc(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // trunc_sat
		return nil
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err = r.u32()
		return err
	case sub <= 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
		_, err = r.u32()
		return err
	}
	return fmt.Errorf("%w: opcode 0xfc %d", ErrMalformed, sub)
}

// skipVector skips a 0xfd (SIMD) instruction. wazero v1.12 reads its
// opcode as one byte, not a LEB128 (the 0x01 that ends the encoding of
// an opcode above 0x7f is then a nop to it), so this does too: reading
// it as wazero does is what keeps a loop from hiding behind it.
func skipVector(r *reader) error {
	sub, err := r.byte()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11, sub == 92, sub == 93: // loads, store, load_zero
		return r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		return r.skip(16)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		return r.skip(1)
	case sub >= 84 && sub <= 91: // load_lane, store_lane
		if err := r.memarg(); err != nil {
			return err
		}
		return r.skip(1)
	}
	return nil // the arithmetic: no immediates
}

// blockType skips a block type as wazero's DecodeBlockType reads one: an
// s33, and after (ref null ...) or (ref ...) a heap type, another s33.
func (r *reader) blockType() error {
	v, err := r.s33()
	if err != nil {
		return err
	}
	if v == -29 || v == -28 { // 0x63, 0x64
		_, err = r.s33()
	}
	return err
}

// memarg skips a memory argument: alignment (with a memory index when
// bit 6 is set) and offset.
func (r *reader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		if _, err := r.u32(); err != nil {
			return err
		}
	}
	return r.skipLEB128(maxLEB128Len64)
}
