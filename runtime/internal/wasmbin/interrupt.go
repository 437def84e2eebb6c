package wasmbin

import (
	"fmt"
	"math"
)

// MaxCountdowns caps the countdowns one function gets (its loops, and its
// calls outside any loop), so that one function cannot make wazero's
// compile take minutes: its time grows with the square of a function's
// loops, and the countdown's branch at each multiplies it by ten or more
// (12,800 loops in one function of a 38 KB module compiled in 33 s;
// spread over 100 functions, 128 each, in 0.18 s). Go's compiler gives a
// function at most 29 (the Go guests and the JS base library), so 128
// leaves room; past it, a module is refused with ErrUnsupported.
const MaxCountdowns = 128

// Interrupt is the host function AddInterrupts calls: imported as
// Module.Name, of type [] -> [], it returns when the guest may go on and
// otherwise stops it (a panic with an exit error, as proc_exit does).
type Interrupt struct {
	Module, Name string
	// Every is how many loop iterations the guest runs between two calls.
	Every uint32
	// Workers is how many goroutines rewrite the code section (at least
	// one).
	Workers int
}

// AddInterrupts returns wasm with a countdown at the head of every loop,
// and before every call no loop encloses (a branching recursion needs no
// loop to run forever), that calls imp every imp.Every counts, so that a
// host can stop a guest that never returns (a deadline, a close) at a
// cost of a few instructions a count. wazero's own WithCloseOnContextDone calls
// out of the machine code into Go at every loop head, and Go's compiler
// makes every function a loop: three times the cost of a guest's
// function calls (see RATIONALE.md, "Stopping a guest").
//
// The import comes after the module's imported functions, so every
// defined function's index moves up by one: calls, return calls,
// ref.func, exports, the start function, element segments and the name
// section's function and local names follow; the name section's other
// subsections, which wazero does not read, are dropped. The countdown is
// a new mutable i32 global, the last. A module without loops or calls
// is returned as is. wasm must be one that LimitTables accepts; AddInterrupts
// refuses, with ErrMalformed, an instruction it cannot read.
func AddInterrupts(wasm []byte, imp Interrupt) ([]byte, error) {
	m, err := parse(wasm, MaxElementEntries)
	if err != nil {
		return nil, err
	}
	return addInterrupts(wasm, m, nil, imp)
}

// Rewrite is LimitTables then AddInterrupts, reading the module once:
// what the runtime compiles.
func Rewrite(wasm []byte, maxElems uint32, imp Interrupt) ([]byte, error) {
	m, tables, err := parseTables(wasm, maxElems)
	if err != nil {
		return nil, err
	}
	return addInterrupts(wasm, m, tables, imp)
}

// addInterrupts is AddInterrupts on the module m is the scan of, with the
// table sections of tables (by section index) in place of its own.
func addInterrupts(wasm []byte, m *scan, tables map[int][]byte, imp Interrupt) ([]byte, error) {
	if imp.Every == 0 || imp.Every > math.MaxInt32 {
		return nil, fmt.Errorf("add interrupts: Every %d is not in [1, 2^31)", imp.Every)
	}
	w := &rewriter{wasm: wasm, m: m, fn: m.funcImports, global: m.globalImports + uint32(m.globals), every: imp.Every}
	code, err := w.code(imp.Workers)
	if err != nil {
		return nil, err
	}
	defer code.release()
	if code.checks == 0 && len(tables) == 0 {
		return wasm, nil
	}
	out := make([]byte, 0, len(wasm)+code.size+64) // the old code section's size to spare
	out = append(out, header...)
	added := map[byte]bool{}
	add := func(id byte, payload []byte) {
		out = appendSection(out, id, payload)
		added[id] = true
	}
	// Sections the module lacks are written before the first that comes
	// after them.
	missing := func(before byte) error {
		for _, id := range []byte{sectionType, sectionImport, sectionGlobal} {
			if !added[id] && order(id) < order(before) {
				payload, err := w.section(section{id: id}, imp)
				if err != nil {
					return err
				}
				add(id, payload)
			}
		}
		return nil
	}
	for si, s := range m.sections {
		if s.id != sectionCustom && code.checks > 0 {
			if err := missing(s.id); err != nil {
				return nil, err
			}
		}
		if t, ok := tables[si]; ok {
			add(sectionTable, t)
			continue
		}
		if code.checks == 0 { // the tables alone change
			out = append(out, wasm[s.start:s.end]...)
			continue
		}
		var payload []byte
		switch s.id {
		case sectionCode:
			out = code.appendTo(AppendULEB128(append(out, sectionCode), uint32(code.size)))
			continue
		case sectionType, sectionImport, sectionGlobal, sectionExport, sectionStart, sectionElement, sectionCustom:
			if payload, err = w.section(s, imp); err != nil {
				return nil, err
			}
		default:
			out = append(out, wasm[s.start:s.end]...)
			continue
		}
		add(s.id, payload)
	}
	if code.checks > 0 {
		if err := missing(0xff); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// order is a known section's place in a module (custom sections go
// anywhere).
func order(id byte) int {
	switch id {
	case sectionTag:
		return 55 // between memory and global
	case sectionDataCount:
		return 95 // between element and code
	}
	return int(id) * 10
}

const sectionStart = 8

// rewriter holds what AddInterrupts needs across sections.
type rewriter struct {
	wasm   []byte
	m      *scan
	fn     uint32 // the import's function index: defined functions from here move up
	global uint32 // the countdown's global index
	every  uint32
}

// shift is function index i after the import is added.
func (w *rewriter) shift(i uint32) uint32 {
	if i >= w.fn {
		return i + 1
	}
	return i
}

// section returns the new payload of section s (s.start 0: a section the
// module lacks).
func (w *rewriter) section(s section, imp Interrupt) ([]byte, error) {
	r := reader{b: w.wasm[:s.end], off: s.payload}
	if s.end == 0 {
		r = reader{} // an empty vector: count 0
	}
	count := func() (uint32, error) {
		if s.end == 0 {
			return 0, nil
		}
		return r.u32()
	}
	var out []byte
	var err error
	switch s.id {
	case sectionType: // one more: [] -> []
		n, err := count()
		if err != nil {
			return nil, err
		}
		out = AppendULEB128(out, n+1)
		out = append(out, r.b[r.off:]...)
		return append(out, typeFunc, 0, 0), nil
	case sectionImport:
		n, err := count()
		if err != nil {
			return nil, err
		}
		out = AppendULEB128(out, n+1)
		out = append(out, r.b[r.off:]...)
		for range n {
			mod, name, _, err := checkImport(&r)
			if err != nil {
				return nil, err
			}
			if string(mod) == imp.Module && string(name) == imp.Name {
				return nil, fmt.Errorf("%w: the module imports %s.%s itself", ErrUnsupported, mod, name)
			}
		}
		out = appendName(out, imp.Module)
		out = appendName(out, imp.Name)
		return AppendULEB128(append(out, importFunc), uint32(w.m.types)), nil
	case sectionGlobal:
		n, err := count()
		if err != nil {
			return nil, err
		}
		out = AppendULEB128(out, n+1)
		for range n {
			start := r.off
			if err := r.valueType(); err != nil {
				return nil, err
			}
			if _, err := r.byte(); err != nil {
				return nil, err
			}
			out = append(out, r.b[start:r.off]...)
			if out, err = w.constExpr(&r, out); err != nil {
				return nil, err
			}
		}
		out = append(out, 0x7f, 0x01, opI32Const) // mutable i32
		out = AppendSLEB128(out, int32(w.every))
		return append(out, opEnd), nil
	case sectionStart:
		i, err := r.u32()
		return AppendULEB128(out, w.shift(i)), err
	case sectionExport:
		out, err = w.exports(&r)
	case sectionElement:
		out, err = w.elements(&r)
	case sectionCustom:
		out, err = w.custom(&r)
	}
	if err != nil {
		return nil, fmt.Errorf("add interrupts: section %d: %w", s.id, err)
	}
	return out, nil
}

func appendName(b []byte, s string) []byte {
	return append(AppendULEB128(b, uint32(len(s))), s...)
}

// copyVec appends the vector at r to out, each entry copied by entry.
func copyVec(r *reader, out []byte, entry func(*reader, []byte) ([]byte, error)) ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out = AppendULEB128(out, n)
	for range n {
		if out, err = entry(r, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (w *rewriter) exports(r *reader) ([]byte, error) {
	return copyVec(r, nil, func(r *reader, out []byte) ([]byte, error) {
		start := r.off
		if _, err := r.name(); err != nil {
			return nil, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, err
		}
		out = append(out, r.b[start:r.off]...)
		idx, err := r.u32()
		if kind == importFunc {
			idx = w.shift(idx)
		}
		return AppendULEB128(out, idx), err
	})
}

// elements rewrites the element section's function indices and
// ref.func expressions.
func (w *rewriter) elements(r *reader) ([]byte, error) {
	return copyVec(r, nil, w.element)
}

// element copies one element segment.
func (w *rewriter) element(r *reader, out []byte) ([]byte, error) {
	start := r.off
	prefix, err := r.u32()
	if err != nil {
		return nil, err
	}
	if prefix == 2 || prefix == 6 {
		if _, err := r.u32(); err != nil { // table index
			return nil, err
		}
	}
	if prefix == 0 || prefix == 2 || prefix == 4 || prefix == 6 {
		if err := r.constExpr(); err != nil { // offset: no function index
			return nil, err
		}
	}
	switch prefix {
	case 1, 2, 3:
		_, err = r.byte() // element kind
	case 5, 6, 7:
		err = r.valueType()
	}
	if err != nil {
		return nil, err
	}
	out = append(out, r.b[start:r.off]...)
	if prefix >= 4 { // expressions
		return copyVec(r, out, w.constExpr)
	}
	return copyVec(r, out, func(r *reader, out []byte) ([]byte, error) {
		i, err := r.u32()
		return AppendULEB128(out, w.shift(i)), err
	})
}

// constExpr copies the constant expression at r to out with its ref.func
// indices shifted.
func (w *rewriter) constExpr(r *reader, out []byte) ([]byte, error) {
	for {
		start := r.off
		op, err := r.byte()
		if err != nil {
			return nil, err
		}
		if op == opRefFunc {
			i, err := r.u32()
			if err != nil {
				return nil, err
			}
			out = AppendULEB128(append(out, op), w.shift(i))
			continue
		}
		if err := skipImmediates(r, op); err != nil {
			return nil, err
		}
		out = append(out, r.b[start:r.off]...)
		if op == opEnd {
			return out, nil
		}
	}
}

// custom rewrites the name section's function and local names, and
// copies other custom sections as they are.
func (w *rewriter) custom(r *reader) ([]byte, error) {
	start := r.off
	name, err := r.name()
	if err != nil {
		return nil, err
	}
	if string(name) != "name" {
		return r.b[start:], nil
	}
	out := append([]byte(nil), r.b[start:r.off]...)
	for r.off < len(r.b) {
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		if uint64(size) > uint64(r.left()) {
			return nil, errEnd
		}
		sub := reader{b: r.b[:r.off+int(size)], off: r.off}
		r.off = len(sub.b)
		var payload []byte
		switch id {
		case nameModule:
			payload = sub.b[sub.off:]
		case nameFunctions:
			if payload, err = w.indexed(&sub, nil, true, copyName); err != nil {
				return nil, err
			}
		case nameLocals: // function index -> (local index -> name)
			locals := func(r *reader, out []byte) ([]byte, error) { return w.indexed(r, out, false, copyName) }
			if payload, err = w.indexed(&sub, nil, true, locals); err != nil {
				return nil, err
			}
		default:
			continue // indexed by function too, and read by no one here: dropped
		}
		out = append(out, id)
		out = AppendULEB128(out, uint32(len(payload)))
		out = append(out, payload...)
	}
	return out, nil
}

// indexed appends the vector of (index, entry) pairs at r to out, the
// indices shifted when they are function indices, each entry copied by
// entry: the name section's maps.
func (w *rewriter) indexed(r *reader, out []byte, funcs bool, entry func(*reader, []byte) ([]byte, error)) ([]byte, error) {
	return copyVec(r, out, func(r *reader, out []byte) ([]byte, error) {
		i, err := r.u32()
		if err != nil {
			return nil, err
		}
		if funcs {
			i = w.shift(i)
		}
		return entry(r, AppendULEB128(out, i))
	})
}

// copyName appends the name at r to out.
func copyName(r *reader, out []byte) ([]byte, error) {
	start := r.off
	if _, err := r.name(); err != nil {
		return nil, err
	}
	return append(out, r.b[start:r.off]...), nil
}
