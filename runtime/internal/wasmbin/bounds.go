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
//   - with ErrUnsupported, counts above the caps below, most of them web
//     engines' too: locals (a (count, type) pair declares up to 2^32-1 of
//     them in 2 to 6 bytes), a function type's parameters and results, and
//     the module's types, functions, imports, exports, globals, tags,
//     element segments and their entries, data segments, function body
//     sizes and names.
//
// A count its bytes back is not enough: wazero's structures take tens of
// bytes for an entry of one to a few, so without the caps a module of the
// package limit (60 MB) would still cost gigabytes, at compile and in
// every instance. Measured with wazero's compiler (live heap after GC),
// an element segment's one-byte function index takes 40 bytes at compile
// and 40 per instance, active or passive (a function instance for each
// ref.func, and the reference); a 3-byte function type 125; a 4-byte
// function 85, and its machine code; a 3-byte element segment 72 and 24
// per instance; a 2-byte data segment 56 and 24 per instance; a 5-byte
// global 56 and 88 per instance; a 2-byte tag 4 and 24 per instance; an
// 8-byte import 126; a 2-byte name 24 to 32. Within the caps, each stays
// within about a hundred megabytes (the element entries, at the default
// table cap of 2^20: 40 MiB at compile and per instance), and the
// compile-time work (functions, body sizes) within what browsers take.
// Code bodies are skipped, not read: wazero's validator grows its slices
// as it reads instructions (br_table's targets included) rather than by
// counts.

// Caps on counts, mostly the WebAssembly JS API's implementation limits
// (https://webassembly.github.io/spec/js-api/#limits), which browsers
// enforce, so a module that runs on the web fits. Where the JS API counts
// what a module defines, the caps count imports too (functions, globals,
// tags): wazero allocates for both, and imports are capped lower still.
const (
	// MaxParams caps the parameters of a function type.
	MaxParams = 1000
	// MaxResults caps the results of a function type.
	MaxResults = 1000
	// MaxLocals caps the locals one function declares (not counting its
	// parameters, which the JS API counts: at most MaxParams more).
	// wazero keeps 8 bytes per local for every function of the module at
	// once.
	MaxLocals = 50000
	// MaxModuleLocals caps the locals all the functions of a module
	// declare together: 32 MiB of wazero's local types. Without it a
	// module of 2^20 six-byte functions declaring MaxLocals locals each
	// would ask for 400 GiB. Not a JS API limit.
	MaxModuleLocals = 1 << 22
	// MaxTypes caps the module's types, and its entries in the type
	// section (types and recursion groups).
	MaxTypes = 1_000_000
	// MaxFunctions caps the module's functions, imported and defined
	// (the function section's entries and the code section's bodies).
	MaxFunctions = 1_000_000
	// MaxFunctionSize caps the size of a function body, locals included.
	MaxFunctionSize = 7_654_321
	// MaxImports caps the module's imports.
	MaxImports = 100_000
	// MaxExports caps the module's exports.
	MaxExports = 100_000
	// MaxGlobals caps the module's globals, imported and defined.
	MaxGlobals = 1_000_000
	// MaxTags caps the module's exception tags, imported and defined.
	MaxTags = 1_000_000
	// MaxDataSegments caps the module's data segments. Go's linker emits
	// at most this many, for the same reason.
	MaxDataSegments = 100_000
	// MaxElementSegments caps the module's element segments: wazero keeps
	// 24 bytes per segment for every instance, even empty ones. The JS
	// API sets no limit; this is wasmparser's (Wasmtime's).
	MaxElementSegments = 100_000
	// MaxElementEntries caps the entries of all the element segments
	// together: the JS API's limit on one table initialization, and its
	// limit on a table's size. LimitTables lowers it to its table cap
	// (see there).
	MaxElementEntries = 10_000_000
	// MaxLocalNames caps the local names of the name section, in all, as
	// MaxModuleLocals caps the locals; the name section's function names,
	// and its functions with local names, are capped at MaxFunctions. A
	// module has no more of them, unless its name section names what
	// does not exist. Not JS API limits: browsers do not decode names.
	MaxLocalNames = MaxModuleLocals
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
// walks of their own, and the memory section has no count but its
// leading one, which checkCount bounds (wazero refuses more than one
// memory before it allocates).
func (m *scan) checkSection(wasm []byte, s section) error {
	if int(s.id) >= len(sectionChecks) || sectionChecks[s.id].check == nil {
		return nil
	}
	c := sectionChecks[s.id]
	r := reader{b: wasm, off: s.payload}
	if err := c.check(m, &r); err != nil {
		return err
	}
	if r.off != len(wasm) {
		// wazero refuses it too, once it has decoded the section.
		return fmt.Errorf("%w: %s section has %d bytes after its entries", ErrMalformed, c.what, len(wasm)-r.off)
	}
	return nil
}

// sectionChecks are the walks of checkSection, by section id.
var sectionChecks = [...]struct {
	what  string
	check func(*scan, *reader) error
}{
	sectionCustom:   {"custom", (*scan).checkCustom},
	sectionType:     {"type", (*scan).checkTypes},
	sectionFunction: {"function", (*scan).checkFunctions},
	sectionTag:      {"tag", (*scan).checkTags},
	sectionGlobal:   {"global", (*scan).checkGlobals},
	sectionExport:   {"export", (*scan).checkExports},
	sectionElement:  {"element", (*scan).checkElements},
	sectionCode:     {"code", (*scan).checkCode},
	sectionData:     {"data", (*scan).checkData},
}

// errCount reports a count larger than the bytes left to hold it.
func errCount(where string, n uint32, what string, left int) error {
	return fmt.Errorf("%w: %s declares %d %s, more than the %d bytes left", ErrMalformed, where, n, what, left)
}

// errCap reports a count above one of the caps.
func errCap(where string, n uint64, what string, limit int) error {
	return fmt.Errorf("%w: %s declares %d %s, more than the limit of %d", ErrUnsupported, where, n, what, limit)
}

// errTotal reports a count of the whole module above one of the caps,
// reached in where.
func errTotal(where string, n uint64, what string, limit int) error {
	return fmt.Errorf("%w: %s brings the module's %s to %d, more than the limit of %d", ErrUnsupported, where, what, n, limit)
}

// capTotals checks the module's counts of functions, globals and tags,
// which two sections each add to (the import section and their own), so
// that the check holds whatever the sections' order. where names the
// section just read.
func (m *scan) capTotals(where string) error {
	if n := uint64(m.funcImports) + max(m.definedFuncs, m.bodies); n > MaxFunctions {
		return errTotal(where, n, "functions (imported and defined)", MaxFunctions)
	}
	if n := uint64(m.globalImports) + m.globals; n > MaxGlobals {
		return errTotal(where, n, "globals (imported and defined)", MaxGlobals)
	}
	if n := uint64(m.tagImports) + m.tags; n > MaxTags {
		return errTotal(where, n, "tags (imported and defined)", MaxTags)
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
	if n > MaxTypes {
		return errCap("type section", uint64(n), "types or recursion groups", MaxTypes)
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
		if total := m.types + uint64(group); total > MaxTypes {
			return errTotal(fmt.Sprintf("type section: recursion group %d", i), total, "types", MaxTypes)
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
	if m.types++; m.types > MaxTypes {
		return errTotal(fmt.Sprintf("type section: type %d", idx), m.types, "types", MaxTypes)
	}
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

// checkFunctions walks the function section at r: a type index per
// defined function.
func (m *scan) checkFunctions(r *reader) error {
	return vector(r, "function section", m.total(&m.definedFuncs, "function section"), func(i uint32) error {
		t, err := r.u32()
		if err != nil {
			return fmt.Errorf("function section: function %d: %w", uint64(m.funcImports)+uint64(i), err)
		}
		return m.checkTypeIndex(fmt.Sprintf("function section: function %d", uint64(m.funcImports)+uint64(i)), t)
	})
}

// checkTypeIndex refuses a function's type index past the types the
// module declared before it. wazero v1.12 validates a call's signature
// by the callee's type index without checking it, and panics (index out
// of range) on one past the type section: a module of 62 bytes took the
// host down at compile.
func (m *scan) checkTypeIndex(where string, t uint32) error {
	if uint64(t) >= m.types {
		return fmt.Errorf("%w: %s has type %d, and the module declares %d types before it", ErrMalformed, where, t, m.types)
	}
	return nil
}

// checkTags walks the tag section at r: an attribute and a type index per
// tag.
func (m *scan) checkTags(r *reader) error {
	return vector(r, "tag section", m.total(&m.tags, "tag section"), func(i uint32) error {
		_, err := r.byte()
		if err == nil {
			_, err = r.u32()
		}
		if err != nil {
			return fmt.Errorf("tag section: tag %d: %w", i, err)
		}
		return nil
	})
}

// checkGlobals walks the global section at r: it has no count but its
// leading one, but its initializers must be read to find each global.
func (m *scan) checkGlobals(r *reader) error {
	return vector(r, "global section", m.total(&m.globals, "global section"), func(i uint32) error {
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
		return nil
	})
}

// checkExports walks the export section at r, bounding the names.
func (m *scan) checkExports(r *reader) error {
	return vector(r, "export section", capped(&m.exports, "export section", "exports", MaxExports), func(i uint32) error {
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
		return nil
	})
}

// checkElements walks the element section at r, bounding each segment's
// vector of function indices or of initializer expressions.
func (m *scan) checkElements(r *reader) error {
	return vector(r, "element section", capped(&m.elemSegments, "element section", "element segments", MaxElementSegments),
		func(i uint32) error { return m.checkElement(r, i) })
}

// vector walks a section's vector at r: its count, which count accounts
// for (and may refuse), then each entry.
func vector(r *reader, section string, count func(n uint32) error, entry func(i uint32) error) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("%s: count: %w", section, err)
	}
	if err := count(n); err != nil {
		return err
	}
	for i := range n {
		if err := entry(i); err != nil {
			return err
		}
	}
	return nil
}

// total adds a vector's count to the module's *p, which two sections add
// to, and checks the totals (capTotals).
func (m *scan) total(p *uint64, where string) func(uint32) error {
	return func(n uint32) error {
		*p += uint64(n)
		return m.capTotals(where)
	}
}

// capped adds a vector's count to *p and refuses a total above limit.
func capped(p *uint64, where, what string, limit int) func(uint32) error {
	return func(n uint32) error {
		if *p += uint64(n); *p > uint64(limit) {
			return errTotal(where, *p, what, limit)
		}
		return nil
	}
}

// checkElement walks element segment i at r, as wazero's
// decodeElementSegment reads its eight encodings.
func (m *scan) checkElement(r *reader, i uint32) error {
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
	if m.elemEntries += uint64(count); m.elemEntries > uint64(m.elemLimit) {
		return errTotal(fmt.Sprintf("element section: segment %d", i), m.elemEntries, "element entries", int(m.elemLimit))
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
