package wasmbin

import "fmt"

// The code and data sections: function bodies, their locals, and data
// segments.

// checkCode walks the code section at r: each body's size and locals,
// skipping its instructions.
func (m *scan) checkCode(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("code section: count: %w", err)
	}
	m.bodies += uint64(n)
	if err := m.capTotals("code section"); err != nil {
		return err
	}
	for i := range n {
		fn := uint64(m.funcImports) + uint64(i) // function index
		size, err := r.u32()
		if err != nil {
			return fmt.Errorf("code section: function %d: body size: %w", fn, err)
		}
		if uint64(size) > uint64(r.left()) {
			return fmt.Errorf("%w: code section: function %d declares a body of %d bytes, more than the %d bytes left", ErrMalformed, fn, size, r.left())
		}
		if size > MaxFunctionSize {
			return fmt.Errorf("%w: code section: function %d declares a body of %d bytes, more than the limit of %d", ErrUnsupported, fn, size, MaxFunctionSize)
		}
		m.maxBody = max(m.maxBody, size)
		body := reader{b: r.b[:r.off+int(size)], off: r.off}
		r.off = len(body.b)
		locals, err := checkLocals(&body, fn)
		if err != nil {
			return err
		}
		m.maxLocals = max(m.maxLocals, uint32(locals))
		m.locals += locals
		if m.locals > MaxModuleLocals {
			return fmt.Errorf("%w: code section: functions %d to %d declare %d locals in all, more than the limit of %d", ErrUnsupported, m.funcImports, fn, m.locals, MaxModuleLocals)
		}
	}
	return nil
}

// checkLocals walks the local declarations at the start of function fn's
// body r and returns how many locals they declare. wazero sums them
// reading past the body if the entries run past it, and allocates by the
// sum before it checks the body's size.
func checkLocals(r *reader, fn uint64) (uint64, error) {
	n, err := r.u32()
	if err != nil {
		return 0, fmt.Errorf("code section: function %d: locals: %w", fn, err)
	}
	if uint64(n) > uint64(r.left()) {
		return 0, errCount(fmt.Sprintf("code section: function %d", fn), n, "local entries", r.left())
	}
	var sum uint64
	for range n {
		c, err := r.u32()
		if err == nil {
			err = r.valueType()
		}
		if err != nil {
			return 0, fmt.Errorf("code section: function %d: locals: %w", fn, err)
		}
		sum += uint64(c)
	}
	if sum > MaxLocals {
		return 0, errCap(fmt.Sprintf("code section: function %d", fn), sum, "locals", MaxLocals)
	}
	return sum, nil
}

// checkData walks the data section at r, bounding each segment's bytes.
func (m *scan) checkData(r *reader) error {
	return vector(r, "data section", capped(&m.dataSegments, "data section", "data segments", MaxDataSegments),
		func(i uint32) error { return checkSegment(r, i) })
}

// checkSegment walks data segment i at r. Go's linker writes tens of
// thousands of them, so it creates no closure.
func checkSegment(r *reader, i uint32) error {
	prefix, err := r.u32()
	if err == nil {
		switch prefix {
		case 0: // active
			err = r.constExpr()
		case 1: // passive
		case 2: // active, with a memory index
			if _, err = r.u32(); err == nil {
				err = r.constExpr()
			}
		default:
			return fmt.Errorf("%w: data section: segment %d has prefix %d", ErrMalformed, i, prefix)
		}
	}
	var size uint32
	if err == nil {
		size, err = r.u32()
	}
	if err != nil {
		return fmt.Errorf("data section: segment %d: %w", i, err)
	}
	if uint64(size) > uint64(r.left()) {
		return errCount(fmt.Sprintf("data section: segment %d", i), size, "bytes", r.left())
	}
	r.off += int(size)
	return nil
}

// left returns the number of bytes left to read.
