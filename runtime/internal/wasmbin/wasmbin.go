// Package wasmbin reads and rewrites the parts of a WebAssembly binary
// that the runtime must bound before wazero compiles it. wazero v1.12 puts
// no limit on the size of a table, and Go's linker declares its table
// without a maximum, so a guest's table.grow could take all the host's
// memory; LimitTables gives every table a maximum. wazero also allocates
// by counts it decodes before reading what they count, and many times
// more than a byte per entry, so LimitTables refuses any count the
// module's bytes cannot back, and caps the counts that take no bytes,
// such as a function's locals, and the module's entries of every kind, as
// web engines do (see bounds.go).
//
// AddInterrupts puts a countdown at the head of every loop that calls a
// host function, so that the runtime can stop a guest without wazero's
// WithCloseOnContextDone, which leaves the machine code at every loop
// head (see interrupt.go).
//
// It parses the section list, the import, function, table, tag, type,
// global, export, element, data and name sections; LimitTables reads of
// the code section each body's size and locals, AddInterrupts every
// instruction. What they do not rewrite is copied as is and left to
// wazero to validate. Its functions are safe for concurrent use.
package wasmbin

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformed reports bytes that are not a WebAssembly module as far
	// as this package reads one.
	ErrMalformed = errors.New("malformed wasm module")
	// ErrUnsupported reports a construct the runtime refuses although
	// WebAssembly allows it: an imported table, a table with an
	// initializer expression, a table of an element type other than
	// funcref and externref, or a count above one of the caps of
	// bounds.go (MaxLocals, MaxParams, MaxFunctions, MaxElementEntries
	// and the others).
	ErrUnsupported = errors.New("unsupported wasm construct")
	// ErrTableLimit reports tables that declare more elements, or more
	// tables, than the caps allow.
	ErrTableLimit = errors.New("table limit reached")
)

// MaxTables caps the number of tables a module may define: each costs the
// host a table object however small it is, and every compiler we know
// emits one.
const MaxTables = 64

// Section ids.
const (
	sectionCustom   = 0
	sectionType     = 1
	sectionImport   = 2
	sectionFunction = 3
	sectionTable    = 4
	sectionMemory   = 5
	sectionGlobal   = 6
	sectionExport   = 7
	sectionElement  = 9
	sectionCode     = 10
	sectionData     = 11
	sectionTag      = 13
)

// Bytes of the encodings this package reads.
const (
	refFuncref      = 0x70
	refExternref    = 0x6f
	refNullable     = 0x63 // (ref null <heaptype>)
	refNonNullable  = 0x64 // (ref <heaptype>)
	tableWithInit   = 0x40 // table type followed by an initializer expression
	limitsMin       = 0x00
	limitsMinMax    = 0x01
	limitsShared    = 0x02
	limitsSharedMax = 0x03
	importFunc      = 0x00
	importTable     = 0x01
	importMemory    = 0x02
	importGlobal    = 0x03
	importTag       = 0x04
	maxLEB128Len32  = 5
)

var header = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// Table is the declared size of one table, in elements.
type Table struct {
	Min    uint32
	Max    uint32 // meaningful only when HasMax
	HasMax bool
}

// section is one section of a module: wasm[start] is its id, its payload
// is wasm[payload:end].
type section struct {
	id                  byte
	start, payload, end int
}

// table is one entry of a table section.
type table struct {
	Table
	section    int  // index into the section list
	start, end int  // the entry's bytes in the module
	ref        byte // element type
}

// Tables returns the tables wasm defines, in index order (imported tables
// are refused with ErrUnsupported, so they never appear). It refuses what
// LimitTables refuses but for the table cap, which it does not know: it
// caps the element entries at MaxElementEntries.
func Tables(wasm []byte) ([]Table, error) {
	m, err := parse(wasm, MaxElementEntries)
	if err != nil {
		return nil, err
	}
	out := make([]Table, len(m.tables))
	for i, t := range m.tables {
		out[i] = t.Table
	}
	return out, nil
}

// LimitTables returns wasm with a maximum on every table, so that the
// tables' maxima add up to at most maxElems elements: each table keeps its
// declared maximum when that is lower, else gets its minimum plus an equal
// share of what the minima leave of maxElems (one table: min(max,
// maxElems)). A table.grow past the maximum then returns -1, as WebAssembly
// specifies. It refuses, with ErrTableLimit, minima that add up to more
// than maxElems or more than MaxTables tables; with ErrUnsupported,
// imported tables (the host exports none); with ErrMalformed, bytes it
// cannot read or a count its bytes cannot back (a vector longer than the
// bytes left); with ErrUnsupported, a count above a cap of bounds.go (a
// function type or function beyond MaxParams, MaxResults, MaxLocals or
// MaxModuleLocals, more types, functions, imports, exports, globals,
// tags, element or data segments than MaxTypes and the others allow, a
// body longer than MaxFunctionSize, more names than MaxFunctions or
// MaxLocalNames), or element segments whose entries add up to more than
// maxElems or MaxElementEntries. An active segment is written into a
// table, whose minimum LimitTables caps at maxElems (wazero skips a
// segment that does not fit), and every entry costs each instance a
// reference, as a table element does (and, with wazero's compiler, a
// function instance): so the entries count against the same cap.
//
// Only the table section changes; when no table needs a new maximum,
// LimitTables returns wasm itself, not a copy.
func LimitTables(wasm []byte, maxElems uint32) ([]byte, error) {
	m, tables, err := parseTables(wasm, maxElems)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return wasm, nil
	}
	out := make([]byte, 0, len(wasm)+16)
	copied := 0 // wasm[:copied] is in out
	for si, s := range m.sections {
		if payload, ok := tables[si]; ok {
			out = append(out, wasm[copied:s.start]...)
			out = appendSection(out, sectionTable, payload)
			copied = s.end
		}
	}
	return append(out, wasm[copied:]...), nil
}

// parseTables parses wasm and returns its scan and the new payload of
// each table section LimitTables changes (by its index in the scan's
// sections).
func parseTables(wasm []byte, maxElems uint32) (*scan, map[int][]byte, error) {
	m, err := parse(wasm, min(maxElems, MaxElementEntries))
	if err != nil {
		return nil, nil, err
	}
	tables, err := m.limitTables(wasm, maxElems)
	return m, tables, err
}

// limitTables returns the new payload of each table section of m (by its
// index in m.sections) that LimitTables changes.
func (m *scan) limitTables(wasm []byte, maxElems uint32) (map[int][]byte, error) {
	sections, tables := m.sections, m.tables
	if len(tables) == 0 {
		return nil, nil
	}
	var total uint64
	for i, t := range tables {
		if t.Min > maxElems {
			return nil, fmt.Errorf("%w: table %d declares a minimum of %d elements, above the cap of %d", ErrTableLimit, i, t.Min, maxElems)
		}
		total += uint64(t.Min)
	}
	if total > uint64(maxElems) {
		return nil, fmt.Errorf("%w: the module's %d tables declare %d elements in all, above the cap of %d", ErrTableLimit, len(tables), total, maxElems)
	}
	share := (uint64(maxElems) - total) / uint64(len(tables))
	out := map[int][]byte{}
	for si, s := range sections {
		if s.id != sectionTable {
			continue
		}
		var payload []byte
		next := s.payload // wasm[s.payload:next] is in payload
		changed := false
		for _, t := range tables {
			if t.section != si {
				continue
			}
			limit := uint32(min(uint64(t.Min)+share, uint64(maxElems)))
			if t.HasMax && t.Max <= limit {
				continue
			}
			if !changed {
				// The entry count stays as it was encoded.
				payload = append(payload, wasm[s.payload:t.start]...)
				changed = true
			} else {
				payload = append(payload, wasm[next:t.start]...)
			}
			payload = append(payload, t.ref, limitsMinMax)
			payload = AppendULEB128(payload, t.Min)
			payload = AppendULEB128(payload, limit)
			next = t.end
		}
		if changed {
			out[si] = append(payload, wasm[next:s.end]...)
		}
	}
	return out, nil
}

// appendSection appends a section of id with payload to out.
func appendSection(out []byte, id byte, payload []byte) []byte {
	out = AppendULEB128(append(out, id), uint32(len(payload)))
	return append(out, payload...)
}

// scan is what parse learns of a module.
type scan struct {
	sections []section
	tables   []table
	// elemLimit caps the element segments' entries, in all.
	elemLimit uint32
	// funcImports is the number of imported functions: the code
	// section's first body is function funcImports.
	funcImports uint32
	// Imported globals and tags, which count against MaxGlobals and
	// MaxTags.
	globalImports, tagImports uint32
	// memImports is the number of imported memories: MergeData leaves a
	// module alone whose memory may not start zeroed.
	memImports uint32
	// The module's counts, summed over sections, checked against the
	// caps of bounds.go and reported by the tests of real guests.
	types        uint64 // function types, in recursion groups or not
	imports      uint64
	definedFuncs uint64 // entries of the function section
	bodies       uint64 // entries of the code section
	tags         uint64 // defined tags
	globals      uint64 // defined globals
	exports      uint64
	elemSegments uint64
	elemEntries  uint64 // entries of all element segments
	dataSegments uint64
	// Entries of the name section: function names, functions with
	// local names, local names of all functions.
	funcNames, localNameFuncs, localNames uint64
	// The largest counts the scan met, for the tests of real guests.
	maxBody    uint32 // bytes of one function body
	maxLocals  uint32 // declared locals of one function
	locals     uint64 // declared locals of all functions
	maxParams  uint32 // parameters of one function type
	maxResults uint32 // results of one function type
}

// parse reads wasm's section list, checks its import section for tables,
// reads its tables, and bounds every count that wazero allocates by (see
// bounds.go), capping the element segments' entries at elemLimit in all.
func parse(wasm []byte, elemLimit uint32) (*scan, error) {
	if len(wasm) < len(header) || string(wasm[:len(header)]) != string(header) {
		return nil, fmt.Errorf("%w: no WebAssembly 1 header", ErrMalformed)
	}
	m := &scan{elemLimit: elemLimit}
	r := reader{b: wasm, off: len(header)}
	for r.off < len(wasm) {
		start := r.off
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section %d size: %w", len(m.sections), err)
		}
		if uint64(size) > uint64(len(wasm)-r.off) {
			return nil, fmt.Errorf("%w: section %d (id %d) of %d bytes at offset %d runs past the end of the module", ErrMalformed, len(m.sections), id, size, start)
		}
		s := section{id: id, start: start, payload: r.off, end: r.off + int(size)}
		if err := checkCount(wasm[:s.end], s); err != nil {
			return nil, fmt.Errorf("section %d (id %d): %w", len(m.sections), id, err)
		}
		r.off = s.end
		switch id {
		case sectionImport:
			if err := m.checkImports(wasm[:s.end], s.payload); err != nil {
				return nil, err
			}
		case sectionTable:
			if m.tables, err = readTables(wasm[:s.end], s.payload, len(m.sections), m.tables); err != nil {
				return nil, err
			}
		default:
			if err := m.checkSection(wasm[:s.end], s); err != nil {
				return nil, err
			}
		}
		m.sections = append(m.sections, s)
	}
	return m, nil
}

// checkCount refuses a section whose leading count or name length is
// larger than its payload. wazero v1.12 allocates by such counts before it
// reads the entries, so a module of a few bytes declaring 2^32 imports
// would take the host down with "fatal error: out of memory"; every entry
// takes at least one byte, so this never refuses a valid module.
func checkCount(wasm []byte, s section) error {
	switch s.id {
	case sectionCustom, sectionType, sectionImport, sectionFunction, sectionTable, sectionMemory,
		sectionGlobal, sectionExport, sectionElement, sectionCode, sectionData, sectionTag:
	default:
		return nil
	}
	if s.payload == s.end {
		return nil // wazero reports the missing count
	}
	r := reader{b: wasm, off: s.payload}
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("count: %w", err)
	}
	if uint64(n) > uint64(len(wasm)-r.off) {
		return fmt.Errorf("%w: a count or length of %d in a section of %d bytes", ErrMalformed, n, s.end-s.payload)
	}
	return nil
}

// readTables appends the entries of the table section wasm[off:] to
// tables. wasm ends where the section ends.
func readTables(wasm []byte, off, si int, tables []table) ([]table, error) {
	r := reader{b: wasm, off: off}
	n, err := r.u32()
	if err != nil {
		return nil, fmt.Errorf("table count: %w", err)
	}
	for range n {
		if len(tables) >= MaxTables {
			// Refuse before reading millions of entries.
			return nil, fmt.Errorf("%w: the module defines more than %d tables", ErrTableLimit, MaxTables)
		}
		idx := len(tables)
		if tables, err = readTable(&r, si, tables); err != nil {
			return nil, fmt.Errorf("table %d: %w", idx, err)
		}
	}
	if r.off != len(wasm) {
		return nil, fmt.Errorf("%w: table section has %d bytes after its %d tables", ErrMalformed, len(wasm)-r.off, n)
	}
	return tables, nil
}

// readTable appends the table type at r to tables.
func readTable(r *reader, si int, tables []table) ([]table, error) {
	t := table{section: si, start: r.off}
	ref, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch ref {
	case refFuncref, refExternref:
	case tableWithInit:
		return nil, fmt.Errorf("%w: initializer expression", ErrUnsupported)
	case refNullable, refNonNullable:
		return nil, fmt.Errorf("%w: typed reference element type", ErrUnsupported)
	default:
		return nil, fmt.Errorf("%w: element type %#x", ErrUnsupported, ref)
	}
	t.ref = ref
	flag, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch flag {
	case limitsMin, limitsMinMax:
	case limitsShared, limitsSharedMax:
		return nil, fmt.Errorf("%w: shared table", ErrMalformed)
	default:
		return nil, fmt.Errorf("%w: limits flag %#x", ErrMalformed, flag)
	}
	if t.Min, err = r.u32(); err != nil {
		return nil, fmt.Errorf("minimum: %w", err)
	}
	if flag == limitsMinMax {
		if t.Max, err = r.u32(); err != nil {
			return nil, fmt.Errorf("maximum: %w", err)
		}
		t.HasMax = true
	}
	t.end = r.off
	return append(tables, t), nil
}

// checkImports refuses a table import in the import section wasm[off:],
// a module or field name longer than the bytes left, and more imports
// than MaxImports, and counts the imported functions, globals and tags.
// wasm ends where the section ends.
func (m *scan) checkImports(wasm []byte, off int) error {
	r := reader{b: wasm, off: off}
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("import count: %w", err)
	}
	if m.imports += uint64(n); m.imports > MaxImports {
		return errTotal("import section", m.imports, "imports", MaxImports)
	}
	for i := range n {
		_, _, kind, err := checkImport(&r)
		if err != nil {
			return fmt.Errorf("import section: import %d: %w", i, err)
		}
		switch kind {
		case importFunc:
			m.funcImports++
		case importGlobal:
			m.globalImports++
		case importTag:
			m.tagImports++
		case importMemory:
			m.memImports++
		}
	}
	if r.off != len(wasm) {
		return fmt.Errorf("%w: import section has %d bytes after its %d imports", ErrMalformed, len(wasm)-r.off, n)
	}
	return m.capTotals("import section")
}

// checkImport skips the import at r, refusing a table, and returns its
// names and kind.
func checkImport(r *reader) (mod, name []byte, kind byte, err error) {
	if mod, err = r.name(); err != nil {
		return nil, nil, 0, fmt.Errorf("module name: %w", err)
	}
	if name, err = r.name(); err != nil {
		return nil, nil, 0, fmt.Errorf("name: %w", err)
	}
	if kind, err = r.byte(); err != nil {
		return nil, nil, 0, err
	}
	switch kind {
	case importFunc:
		_, err = r.u32()
	case importTable:
		return nil, nil, 0, fmt.Errorf("%w: %q.%q is a table", ErrUnsupported, mod, name)
	case importMemory:
		err = r.limits()
	case importGlobal:
		if err = r.valueType(); err == nil {
			_, err = r.byte() // mutability
		}
	case importTag:
		if _, err = r.byte(); err == nil { // attribute
			_, err = r.u32()
		}
	default:
		err = fmt.Errorf("%w: kind %#x", ErrMalformed, kind)
	}
	return mod, name, kind, err
}

// reader reads b from off. Every read checks bounds and fails with an
// error wrapping ErrMalformed; it allocates only for errors.
type reader struct {
	b   []byte
	off int
}
