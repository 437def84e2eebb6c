package wasmbin

import "fmt"

// wazero v1.12 allocates by counts it decodes before it reads what they
// count: a vector's length (make([]T, n)), a name's or a data segment's
// length (make([]byte, n)), a function type's parameters and results, the
// sum of a function's locals, and the same inside the "name" custom
// section, which it always decodes. A few bytes declaring 2^32-1 of
// anything then take the host down with "fatal error: out of memory",
// which Go cannot recover. The checks below walk every section wazero
// reads such a count from, in the order wazero reads it, and refuse the
// module before wazero sees it:
//
//   - with ErrMalformed, a count larger than the bytes left in its section
//     (or function body, or name subsection): every entry takes one byte at
//     least, so no well-formed module has one;
//   - with ErrUnsupported, counts that take no bytes per entry or that we
//     cap like web engines do: locals (a (count, type) pair declares up to
//     2^32-1 of them in 2 to 6 bytes) and a function type's parameters and
//     results.
//
// Once the walk has read every entry of a vector, what wazero allocates
// for it grows with the bytes those entries take, by the size of
// wazero's structures: at most about 40 bytes for a byte (an element
// segment's one-byte function index), so linear in the module's size,
// which the package limits bound. Code bodies are skipped, not read:
// wazero's validator grows its slices as it reads instructions (br_table's
// targets included) rather than by counts.

// Caps on counts that entries of their own do not bound. MaxParams,
// MaxResults and MaxLocals are the WebAssembly JS API's implementation
// limits, which browsers enforce, so a module that runs on the web fits.
const (
	// MaxParams caps the parameters of a function type.
	MaxParams = 1000
	// MaxResults caps the results of a function type.
	MaxResults = 1000
	// MaxLocals caps the locals one function declares (not counting its
	// parameters). wazero keeps 8 bytes per local for every function of
	// the module at once.
	MaxLocals = 50000
	// MaxModuleLocals caps the locals all the functions of a module
	// declare together: 32 MiB of wazero's local types. Without it a
	// module of 2^20 six-byte functions declaring MaxLocals locals each
	// would ask for 400 GiB.
	MaxModuleLocals = 1 << 22
)

// More encodings, for the walks.
const (
	refExnref      = 0x69
	typeFunc       = 0x60
	typeRecGroup   = 0x4e
	opEnd          = 0x0b
	opGlobalGet    = 0x23
	opI32Const     = 0x41
	opI64Const     = 0x42
	opF32Const     = 0x43
	opF64Const     = 0x44
	opI32Add       = 0x6a
	opI32Sub       = 0x6b
	opI32Mul       = 0x6c
	opI64Add       = 0x7c
	opI64Sub       = 0x7d
	opI64Mul       = 0x7e
	opRefNull      = 0xd0
	opRefFunc      = 0xd2
	opVecPrefix    = 0xfd
	opV128Const    = 0x0c
	maxLEB128Len64 = 10
	nameModule     = 0 // name section subsections
	nameFunctions  = 1
	nameLocals     = 2
)

// checkSection bounds the counts of section s, wasm[s.payload:s.end];
// wasm ends where the section ends. The import and table sections have
// walks of their own, and the function, memory and tag sections have no
// count but their leading one, which checkCount bounds.
func (m *scan) checkSection(wasm []byte, s section) error {
	r := reader{b: wasm, off: s.payload}
	var err error
	var what string
	switch s.id {
	case sectionCustom:
		what = "custom"
		err = checkCustom(&r)
	case sectionType:
		what = "type"
		err = m.checkTypes(&r)
	case sectionGlobal:
		what = "global"
		err = checkGlobals(&r)
	case sectionExport:
		what = "export"
		err = checkExports(&r)
	case sectionElement:
		what = "element"
		err = checkElements(&r)
	case sectionCode:
		what = "code"
		err = m.checkCode(&r)
	case sectionData:
		what = "data"
		err = checkData(&r)
	default:
		return nil
	}
	if err != nil {
		return err
	}
	if r.off != len(wasm) {
		// wazero refuses it too, once it has decoded the section.
		return fmt.Errorf("%w: %s section has %d bytes after its entries", ErrMalformed, what, len(wasm)-r.off)
	}
	return nil
}

// errCount reports a count larger than the bytes left to hold it.
func errCount(where string, n uint32, what string, left int) error {
	return fmt.Errorf("%w: %s declares %d %s, more than the %d bytes left", ErrMalformed, where, n, what, left)
}

// errCap reports a count above one of the caps.
func errCap(where string, n uint64, what string, limit int) error {
	return fmt.Errorf("%w: %s declares %d %s, more than the limit of %d", ErrUnsupported, where, n, what, limit)
}

// checkCustom walks the "name" section; other custom sections wazero
// copies whole or skips, by their size.
func checkCustom(r *reader) error {
	name, err := r.name()
	if err != nil {
		return fmt.Errorf("custom section name: %w", err)
	}
	if string(name) != "name" {
		r.off = len(r.b)
		return nil
	}
	return checkNames(r)
}

// checkNames walks the subsections of the name section at r. wazero reads
// the module name, function names and local names without regard to their
// subsection's size, so each must fill its subsection exactly for wazero
// to read what this reads.
func checkNames(r *reader) error {
	for r.off < len(r.b) {
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return fmt.Errorf("name section: subsection %d size: %w", id, err)
		}
		if uint64(size) > uint64(r.left()) {
			return fmt.Errorf("%w: name section: subsection %d of %d bytes, more than the %d bytes left", ErrMalformed, id, size, r.left())
		}
		sub := reader{b: r.b[:r.off+int(size)], off: r.off}
		r.off = len(sub.b)
		switch id {
		case nameModule:
			if _, err := sub.name(); err != nil {
				return fmt.Errorf("name section: module name: %w", err)
			}
		case nameFunctions:
			if err := checkNameMap(&sub, -1); err != nil {
				return err
			}
		case nameLocals:
			if err := checkLocalNames(&sub); err != nil {
				return err
			}
		default:
			continue // wazero skips it by its size
		}
		if sub.off != len(sub.b) {
			return fmt.Errorf("%w: name section: subsection %d has %d bytes after its entries", ErrMalformed, id, len(sub.b)-sub.off)
		}
	}
	return nil
}

// checkNameMap walks a name map (index, name pairs): the local names of
// function fn, or the function names when fn < 0.
func checkNameMap(r *reader, fn int64) error {
	where := func() string {
		if fn < 0 {
			return "name section: the function name map"
		}
		return fmt.Sprintf("name section: the local name map of function %d", fn)
	}
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("%s: count: %w", where(), err)
	}
	if uint64(n) > uint64(r.left()) {
		return errCount(where(), n, "names", r.left())
	}
	for i := range n {
		idx, err := r.u32()
		if err == nil {
			_, err = r.name()
		}
		if err != nil {
			return fmt.Errorf("%s: entry %d (index %d): %w", where(), i, idx, err)
		}
	}
	return nil
}

// checkLocalNames walks the local names subsection: function indices,
// each with a name map.
func checkLocalNames(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("name section: local names: count: %w", err)
	}
	if uint64(n) > uint64(r.left()) {
		return errCount("name section: the local names subsection", n, "functions", r.left())
	}
	for i := range n {
		fn, err := r.u32()
		if err != nil {
			return fmt.Errorf("name section: local names: entry %d: %w", i, err)
		}
		if err := checkNameMap(r, int64(fn)); err != nil {
			return err
		}
	}
	return nil
}

// checkTypes walks the type section at r: function types, alone or in
// recursion groups.
func (m *scan) checkTypes(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("type section: count: %w", err)
	}
	var idx uint32 // type index
	for i := range n {
		b, err := r.byte()
		if err != nil {
			return fmt.Errorf("type section: entry %d: %w", i, err)
		}
		if b != typeRecGroup {
			r.off--
			if err := m.checkFuncType(r, idx); err != nil {
				return err
			}
			idx++
			continue
		}
		// wazero appends a group's types one by one, allocating by
		// nothing but their parameters and results.
		group, err := r.u32()
		if err != nil {
			return fmt.Errorf("type section: recursion group %d: %w", i, err)
		}
		if uint64(group) > uint64(r.left()) {
			return errCount(fmt.Sprintf("type section: recursion group %d", i), group, "types", r.left())
		}
		for range group {
			if err := m.checkFuncType(r, idx); err != nil {
				return err
			}
			idx++
		}
	}
	return nil
}

// checkFuncType walks the function type at r, type idx.
func (m *scan) checkFuncType(r *reader, idx uint32) error {
	form, err := r.byte()
	if err != nil {
		return fmt.Errorf("type section: type %d: %w", idx, err)
	}
	if form != typeFunc {
		return fmt.Errorf("%w: type section: type %d has form %#x, not a function type", ErrMalformed, idx, form)
	}
	params, err := checkValueTypes(r, idx, "parameters", MaxParams)
	if err != nil {
		return err
	}
	m.maxParams = max(m.maxParams, params)
	results, err := checkValueTypes(r, idx, "results", MaxResults)
	if err != nil {
		return err
	}
	m.maxResults = max(m.maxResults, results)
	return nil
}

// checkValueTypes walks the parameters or results of type idx.
func checkValueTypes(r *reader, idx uint32, what string, limit int) (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, fmt.Errorf("type section: type %d: %s count: %w", idx, what, err)
	}
	if uint64(n) > uint64(r.left()) {
		return 0, errCount(fmt.Sprintf("type section: type %d", idx), n, what, r.left())
	}
	if n > uint32(limit) {
		return 0, errCap(fmt.Sprintf("type section: type %d", idx), uint64(n), what, limit)
	}
	for range n {
		if err := r.valueType(); err != nil {
			return 0, fmt.Errorf("type section: type %d: %s: %w", idx, what, err)
		}
	}
	return n, nil
}

// checkGlobals walks the global section at r: it has no count but its
// leading one, but its initializers must be read to find each global.
func checkGlobals(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("global section: count: %w", err)
	}
	for i := range n {
		err := r.valueType()
		if err == nil {
			_, err = r.byte() // mutability
		}
		if err == nil {
			err = r.constExpr()
		}
		if err != nil {
			return fmt.Errorf("global section: global %d: %w", i, err)
		}
	}
	return nil
}

// checkExports walks the export section at r, bounding the names.
func checkExports(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("export section: count: %w", err)
	}
	for i := range n {
		_, err := r.name()
		if err == nil {
			_, err = r.byte() // kind
		}
		if err == nil {
			_, err = r.u32() // index
		}
		if err != nil {
			return fmt.Errorf("export section: export %d: %w", i, err)
		}
	}
	return nil
}

// checkElements walks the element section at r, bounding each segment's
// vector of function indices or of initializer expressions.
func checkElements(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("element section: count: %w", err)
	}
	for i := range n {
		if err := checkElement(r, i); err != nil {
			return err
		}
	}
	return nil
}

// checkElement walks element segment i at r, as wazero's
// decodeElementSegment reads its eight encodings.
func checkElement(r *reader, i uint32) error {
	wrap := func(err error) error { return fmt.Errorf("element section: segment %d: %w", i, err) }
	prefix, err := r.u32()
	if err != nil {
		return wrap(err)
	}
	if prefix > 7 {
		return fmt.Errorf("%w: element section: segment %d has prefix %d", ErrMalformed, i, prefix)
	}
	if prefix == 2 || prefix == 6 {
		if _, err := r.u32(); err != nil { // table index
			return wrap(err)
		}
	}
	if prefix == 0 || prefix == 2 || prefix == 4 || prefix == 6 {
		if err := r.constExpr(); err != nil { // offset
			return wrap(err)
		}
	}
	exprs := prefix >= 4 // else function indices
	switch prefix {
	case 1, 2, 3:
		_, err = r.byte() // element kind
	case 5, 6, 7:
		err = r.valueType() // reference type
	}
	if err != nil {
		return wrap(err)
	}
	count, err := r.u32()
	if err != nil {
		return wrap(err)
	}
	if uint64(count) > uint64(r.left()) {
		return errCount(fmt.Sprintf("element section: segment %d", i), count, "elements", r.left())
	}
	for range count {
		if exprs {
			err = r.constExpr()
		} else {
			_, err = r.u32()
		}
		if err != nil {
			return wrap(err)
		}
	}
	return nil
}

// checkCode walks the code section at r: each body's size and locals,
// skipping its instructions.
func (m *scan) checkCode(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("code section: count: %w", err)
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
func checkData(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("data section: count: %w", err)
	}
	for i := range n {
		if err := checkSegment(r, i); err != nil {
			return err
		}
	}
	return nil
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
