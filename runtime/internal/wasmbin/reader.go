package wasmbin

import "fmt"

// reader's primitives: bytes, LEB128 numbers, names, limits, types.

func (r *reader) byte() (byte, error) {
	if r.off < len(r.b) {
		c := r.b[r.off]
		r.off++
		return c, nil
	}
	return 0, errEnd
}

// errEnd reports a read past the end of a section, body or subsection;
// the callers say which. A value rather than an error built with the
// offset, so that the readers inline: the scan reads every entry header
// of multi-MB modules.
var errEnd = fmt.Errorf("%w: unexpected end", ErrMalformed)

// u32 reads an unsigned LEB128 of at most 32 bits, as wazero does: at
// most 5 bytes, padding allowed, no bits past the 32nd. It calls nothing,
// so that it inlines.
func (r *reader) u32() (uint32, error) {
	var v uint32
	for i := 0; i < maxLEB128Len32; i++ {
		if r.off >= len(r.b) {
			return 0, errEnd
		}
		c := r.b[r.off]
		r.off++
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			if i == maxLEB128Len32-1 && c&0xf0 != 0 {
				return 0, errOverflow
			}
			return v, nil
		}
	}
	return 0, errOverflow
}

// s32 reads a signed LEB128 of at most 32 bits (an i32.const).
func (r *reader) s32() (int32, error) {
	var v int64
	for i := 0; i < maxLEB128Len32; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if shift := 7 * (i + 1); shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			if v < -1<<31 || v > 1<<31-1 {
				return 0, errOverflow
			}
			return int32(v), nil
		}
	}
	return 0, errOverflow
}

// AppendSLEB128 appends v to b as a signed LEB128 (an i32.const), for
// rewrites and for tests that write modules.
func AppendSLEB128(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// errOverflow reports a LEB128 of more than 32 bits.
var errOverflow = fmt.Errorf("%w: LEB128 overflows 32 bits", ErrMalformed)

// s33 reads a signed LEB128 of at most 33 bits (a block or heap type).
func (r *reader) s33() (int64, error) {
	start := r.off
	var v int64
	for i := range maxLEB128Len32 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if shift := 7 * (i + 1); c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: LEB128 at offset %d overflows 33 bits", ErrMalformed, start)
}

// skipS33 skips a signed LEB128 of at most 33 bits (a heap type).
func (r *reader) skipS33() error {
	start := r.off
	for range maxLEB128Len32 {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c < 0x80 {
			return nil
		}
	}
	return fmt.Errorf("%w: LEB128 at offset %d overflows 33 bits", ErrMalformed, start)
}

// name reads a length-prefixed name; the result aliases r.b.
func (r *reader) name() ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(len(r.b)-r.off) {
		return nil, fmt.Errorf("%w: %d bytes at offset %d run past the section", ErrMalformed, n, r.off)
	}
	b := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// limits skips memory limits.
func (r *reader) limits() error {
	flag, err := r.byte()
	if err != nil {
		return err
	}
	switch flag {
	case limitsMin, limitsShared:
		_, err = r.u32()
	case limitsMinMax, limitsSharedMax:
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	default:
		err = fmt.Errorf("%w: limits flag %#x", ErrMalformed, flag)
	}
	return err
}

// valueType skips a value type: one byte, or a reference type prefix and
// its heap type.
func (r *reader) valueType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	if c == refNullable || c == refNonNullable {
		return r.skipS33()
	}
	return nil
}

// AppendULEB128 appends v to b as an unsigned LEB128 of minimal length.
func AppendULEB128(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func (r *reader) left() int { return len(r.b) - r.off }

// skip skips n bytes.
func (r *reader) skip(n int) error {
	if r.left() < n {
		r.off = len(r.b)
		return errEnd
	}
	r.off += n
	return nil
}

// skipLEB128 skips a LEB128 of at most maxLen bytes. It calls nothing, so
// that it inlines.
func (r *reader) skipLEB128(maxLen int) error {
	for range maxLen {
		if r.off >= len(r.b) {
			return errEnd
		}
		c := r.b[r.off]
		r.off++
		if c < 0x80 {
			return nil
		}
	}
	return errLong
}

// errLong reports a LEB128 longer than its type allows.
var errLong = fmt.Errorf("%w: LEB128 too long", ErrMalformed)

// constExpr skips a constant expression, reading the immediates of the
// instructions wazero's decodeConstantExpression reads, up to its end.
func (r *reader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case opEnd:
			return nil
		case opI32Const:
			err = r.skipLEB128(maxLEB128Len32)
		case opI64Const:
			err = r.skipLEB128(maxLEB128Len64)
		case opF32Const:
			err = r.skip(4)
		case opF64Const:
			err = r.skip(8)
		case opGlobalGet, opRefFunc:
			_, err = r.u32()
		case opRefNull:
			var heap byte
			if heap, err = r.byte(); err == nil && heap != refFuncref && heap != refExternref && heap != refExnref {
				r.off--
				_, err = r.u32() // a type index
			}
		case opVecPrefix:
			var sub byte
			if sub, err = r.byte(); err == nil {
				if sub != opV128Const {
					return fmt.Errorf("%w: vector opcode %#x in a constant expression", ErrMalformed, sub)
				}
				err = r.skip(16)
			}
		case opI32Add, opI32Sub, opI32Mul, opI64Add, opI64Sub, opI64Mul:
		default:
			return fmt.Errorf("%w: opcode %#x in a constant expression", ErrMalformed, op)
		}
		if err != nil {
			return err
		}
	}
}
