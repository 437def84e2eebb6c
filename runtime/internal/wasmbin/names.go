package wasmbin

import "fmt"

// The name custom section, which wazero decodes with counts of its own.

// checkCustom walks the "name" section; other custom sections wazero
// copies whole or skips, by their size.
func (m *scan) checkCustom(r *reader) error {
	name, err := r.name()
	if err != nil {
		return fmt.Errorf("custom section name: %w", err)
	}
	if string(name) != "name" {
		r.off = len(r.b)
		return nil
	}
	return m.checkNames(r)
}

// checkNames walks the subsections of the name section at r. wazero reads
// the module name, function names and local names without regard to their
// subsection's size, so each must fill its subsection exactly for wazero
// to read what this reads.
func (m *scan) checkNames(r *reader) error {
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
			if err := m.checkNameMap(&sub, -1); err != nil {
				return err
			}
		case nameLocals:
			if err := m.checkLocalNames(&sub); err != nil {
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
func (m *scan) checkNameMap(r *reader, fn int64) error {
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
	if fn < 0 {
		if m.funcNames += uint64(n); m.funcNames > MaxFunctions {
			return errTotal(where(), m.funcNames, "function names", MaxFunctions)
		}
	} else if m.localNames += uint64(n); m.localNames > MaxLocalNames {
		return errTotal(where(), m.localNames, "local names", MaxLocalNames)
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
func (m *scan) checkLocalNames(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return fmt.Errorf("name section: local names: count: %w", err)
	}
	if uint64(n) > uint64(r.left()) {
		return errCount("name section: the local names subsection", n, "functions", r.left())
	}
	if m.localNameFuncs += uint64(n); m.localNameFuncs > MaxFunctions {
		return errTotal("name section: the local names subsection", m.localNameFuncs, "functions with local names", MaxFunctions)
	}
	for i := range n {
		fn, err := r.u32()
		if err != nil {
			return fmt.Errorf("name section: local names: entry %d: %w", i, err)
		}
		if err := m.checkNameMap(r, int64(fn)); err != nil {
			return err
		}
	}
	return nil
}
