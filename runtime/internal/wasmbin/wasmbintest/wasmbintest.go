// Package wasmbintest holds hand-built modules for the tests of wasmbin
// and of the runtime: modules that declare a count wazero v1.12 would
// allocate by with no bytes behind it ("fatal error: out of memory" at
// Compile, which no test survives), each with a twin that declares a
// count its bytes back. Only tests import it.
//
// A test must never hand an attack to wazero unless wasmbin has refused
// it first.
package wasmbintest

import (
	"bytes"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
)

// Case is one module and what wasmbin.LimitTables makes of it.
type Case struct {
	Name string
	Wasm []byte
	// Err is the sentinel the refusal wraps, nil for a module wasmbin
	// accepts.
	Err error
	// Message is part of the error: the section, the entry and the count.
	Message string
}

// Attack tells whether c is a module wasmbin must refuse.
func (c Case) Attack() bool { return c.Err != nil }

// Header is the WebAssembly 1 magic and version.
var Header = []byte("\x00asm\x01\x00\x00\x00")

// Module returns a module made of sections.
func Module(sections ...[]byte) []byte {
	return bytes.Join(append([][]byte{Header}, sections...), nil)
}

// Section returns a section of id with payload.
func Section(id byte, payload ...[]byte) []byte {
	p := bytes.Join(payload, nil)
	return append(append([]byte{id}, ULEB(uint32(len(p)))...), p...)
}

// ULEB returns v as an unsigned LEB128.
func ULEB(v uint32) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// Name returns s with its length.
func Name(s string) []byte { return append(ULEB(uint32(len(s))), s...) }

// Vec returns entries with their count.
func Vec(entries ...[]byte) []byte {
	return append(ULEB(uint32(len(entries))), bytes.Join(entries, nil)...)
}

// Huge is the LEB128 of 2^32-1, the largest count.
var Huge = ULEB(1<<32 - 1)

// Section ids.
const (
	custom   = 0
	typ      = 1
	imports  = 2
	function = 3
	global   = 6
	export   = 7
	element  = 9
	code     = 10
	data     = 11
)

// Bytes of the encodings.
const (
	funcType = 0x60
	recGroup = 0x4e
	i32      = 0x7f
	funcref  = 0x70
	end      = 0x0b
)

var (
	i32Zero = []byte{0x41, 0x00, end} // i32.const 0
	refFunc = []byte{0xd2, 0x00, end} // ref.func 0
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func repeat(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// Body returns a function body of size, local declarations and "end".
func Body(locals ...[]byte) []byte {
	b := cat(Vec(locals...), []byte{end})
	return append(ULEB(uint32(len(b))), b...)
}

// Locals returns a local declaration: n locals of type i32.
func Locals(n uint32) []byte { return append(ULEB(n), i32) }

// Code returns a code section of bodies.
func Code(bodies ...[]byte) []byte { return Section(code, Vec(bodies...)) }

// Funcs returns a module of one function type, () -> (), and of bodies
// of that type.
func Funcs(bodies ...[]byte) []byte {
	return Module(Section(typ, Vec(FuncType(0, 0))), Section(function, Vec(repeatBody(len(bodies), []byte{0})...)), Code(bodies...))
}

// FuncType returns a function type of params and results i32s.
func FuncType(params, results int) []byte {
	return cat([]byte{funcType}, ULEB(uint32(params)), repeat(i32, params), ULEB(uint32(results)), repeat(i32, results))
}

// NameSection returns a "name" custom section of subsections.
func NameSection(subsections ...[]byte) []byte {
	return Section(custom, append([][]byte{Name("name")}, subsections...)...)
}

// Sub returns a name subsection of id with payload.
func Sub(id byte, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat([]byte{id}, ULEB(uint32(len(p))), p)
}

// Cases returns the modules, attacks and twins. Every attack's bytes are
// the twin's but for the count.
func Cases() []Case {
	malformed, unsupported := wasmbin.ErrMalformed, wasmbin.ErrUnsupported
	cases := []Case{
		// Element segments: a vector of 2^32-1 entries of 24 bytes each in
		// wazero, whatever the machine, from 20 bytes.
		{"element vector, 20 bytes", Module(Section(element, Vec(cat([]byte{0}, i32Zero, Huge)))), malformed,
			"element section: segment 0 declares 4294967295 elements, more than the 0 bytes left"},
		{"element vector, second segment", Module(Section(element, ULEB(2), []byte{0}, i32Zero, Vec([]byte{0}), []byte{0}, i32Zero, ULEB(2), []byte{0})), malformed,
			"element section: segment 1 declares 2 elements, more than the 1 bytes left"},
		{"element vectors, twin", Module(Section(element, ULEB(2), []byte{0}, i32Zero, Vec([]byte{0}), []byte{0}, i32Zero, Vec([]byte{0}, []byte{1}))), nil, ""},
		{"element segment prefix 8", Module(Section(element, Vec([]byte{8}))), malformed, "element section: segment 0 has prefix 8"},

		// Function types: wazero makes room for the parameters and the
		// results before it reads them.
		{"2^32-1 parameters", Module(Section(typ, Vec(cat([]byte{funcType}, Huge)))), malformed,
			"type section: type 0 declares 4294967295 parameters, more than the 0 bytes left"},
		{"2^32-1 results", Module(Section(typ, Vec(cat([]byte{funcType, 0}, Huge)))), malformed,
			"type section: type 0 declares 4294967295 results, more than the 0 bytes left"},
		{"1001 parameters", Module(Section(typ, Vec(FuncType(wasmbin.MaxParams+1, 0)))), unsupported,
			"type section: type 0 declares 1001 parameters, more than the limit of 1000"},
		{"1001 results", Module(Section(typ, Vec(FuncType(1, wasmbin.MaxResults+1)))), unsupported,
			"type section: type 0 declares 1001 results, more than the limit of 1000"},
		{"1000 parameters and results, twin", Module(Section(typ, Vec(FuncType(wasmbin.MaxParams, wasmbin.MaxResults)))), nil, ""},
		{"2^32-1 parameters, third type", Module(Section(typ, Vec(FuncType(0, 0), FuncType(2, 1), cat([]byte{funcType}, Huge)))), malformed,
			"type section: type 2 declares 4294967295 parameters"},
		{"recursion group of 2^32-1 types", Module(Section(typ, Vec(cat([]byte{recGroup}, Huge)))), malformed,
			"type section: recursion group 0 declares 4294967295 types, more than the 0 bytes left"},
		{"2^32-1 parameters in a recursion group", Module(Section(typ, Vec(FuncType(0, 0), cat([]byte{recGroup}, Vec(FuncType(1, 1), cat([]byte{funcType}, Huge)))))), malformed,
			"type section: type 2 declares 4294967295 parameters"},
		{"recursion group, twin", Module(Section(typ, Vec(FuncType(0, 0), cat([]byte{recGroup}, Vec(FuncType(1, 1), FuncType(2, 0)))))), nil, ""},
		{"not a function type", Module(Section(typ, Vec([]byte{0x5f, 0, 0}))), malformed, "type section: type 0 has form 0x5f"},

		// Locals: a (count, type) pair declares up to 2^32-1 of them in 6
		// bytes, and wazero makes room for all of them.
		{"2^32-1 locals", Funcs(Body(cat(Huge, []byte{i32}))), unsupported,
			"code section: function 0 declares 4294967295 locals, more than the limit of 50000"},
		{"2^32-1 locals after imports", Module(
			Section(typ, Vec(FuncType(0, 0))),
			Section(imports, Vec(cat(Name("wasi_snapshot_preview1"), Name("sched_yield"), []byte{0, 0}), cat(Name("env"), Name("f"), []byte{0, 0}))),
			Section(function, Vec([]byte{0}, []byte{0})),
			Code(Body(), Body(cat(Huge, []byte{i32})))), unsupported,
			"code section: function 3 declares 4294967295 locals, more than the limit of 50000"},
		{"two entries adding up past the cap", Funcs(Body(Locals(25000), Locals(25001))), unsupported,
			"code section: function 0 declares 50001 locals, more than the limit of 50000"},
		{"two entries of 2^32-1", Funcs(Body(cat(Huge, []byte{i32}), cat(Huge, []byte{i32}))), unsupported,
			"code section: function 0 declares 8589934590 locals, more than the limit of 50000"},
		{"locals at the cap, twin", Funcs(Body(Locals(25000), Locals(25000))), nil, ""},
		{"the module's locals past the cap", Funcs(repeatBody(wasmbin.MaxModuleLocals/wasmbin.MaxLocals+1, Body(Locals(wasmbin.MaxLocals)))...), unsupported,
			"code section: functions 0 to 83 declare 4200000 locals in all, more than the limit of 4194304"},
		{"the module's locals at the cap, twin", Funcs(append(repeatBody(wasmbin.MaxModuleLocals/wasmbin.MaxLocals, Body(Locals(wasmbin.MaxLocals))),
			Body(Locals(wasmbin.MaxModuleLocals%wasmbin.MaxLocals)))...), nil, ""},
		{"more local entries than the body's bytes", Funcs(cat(ULEB(2), ULEB(5), []byte{end})), malformed,
			"code section: function 0 declares 5 local entries, more than the 1 bytes left"},
		// wazero sums the locals reading past the body.
		{"local entry running past its body", Module(Section(code, ULEB(1), ULEB(3), []byte{1}, Huge, []byte{i32, end})), malformed,
			"code section: function 0: locals: malformed wasm module: unexpected end"},
		{"body of 2^32-1 bytes", Module(Section(code, Vec(cat(Huge, []byte{0})))), malformed,
			"code section: function 0 declares a body of 4294967295 bytes, more than the 1 bytes left"},
		{"second body past the section", Module(Section(code, ULEB(2), Body(), ULEB(4), []byte{0, end})), malformed,
			"code section: function 1 declares a body of 4 bytes, more than the 2 bytes left"},

		// Data segments: wazero makes room for the bytes before it reads
		// them.
		{"data segment of 2^32-1 bytes", Module(Section(data, Vec(cat([]byte{0}, i32Zero, Huge)))), malformed,
			"data section: segment 0 declares 4294967295 bytes, more than the 0 bytes left"},
		{"passive data segment of 2^32-1 bytes", Module(Section(data, Vec(cat([]byte{1}, Huge)))), malformed,
			"data section: segment 0 declares 4294967295 bytes"},
		{"data segment with a memory index, 2^32-1 bytes", Module(Section(data, Vec(cat([]byte{2, 0}, i32Zero, Huge)))), malformed,
			"data section: segment 0 declares 4294967295 bytes"},
		{"second data segment past the section", Module(Section(data, ULEB(2), []byte{1}, Name("abc"), []byte{1}, ULEB(4), []byte("abc"))), malformed,
			"data section: segment 1 declares 4 bytes, more than the 3 bytes left"},
		{"data segments, twin", Module(Section(data, ULEB(3), []byte{1}, Name("abc"), []byte{0}, i32Zero, Name("d"), []byte{2, 0}, i32Zero, Name("ef"))), nil, ""},
		{"bytes after the data segments", Module(Section(data, Vec(cat([]byte{1}, Name("a"))), []byte{0})), malformed,
			"data section has 1 bytes after its entries"},
		{"data segment prefix 3", Module(Section(data, Vec([]byte{3}))), malformed, "data section: segment 0 has prefix 3"},

		// Names: wazero makes room for a name before it reads it.
		{"import module name of 2^32-1 bytes", Module(Section(imports, Vec(Huge))), malformed,
			"import section: import 0: module name: malformed wasm module: 4294967295 bytes at offset 16 run past the section"},
		{"import name of 2^32-1 bytes", Module(Section(imports, Vec(cat(Name("env"), Huge)))), malformed,
			"import section: import 0: name: malformed wasm module: 4294967295 bytes"},
		{"export name of 2^32-1 bytes", Module(Section(export, Vec(Huge))), malformed,
			"export section: export 0: malformed wasm module: 4294967295 bytes"},
		{"second export name past the section", Module(Section(export, ULEB(2), Name("a"), []byte{0, 0}, ULEB(3), []byte("bc"))), malformed,
			"export section: export 1: malformed wasm module: 3 bytes"},
		{"exports, twin", Module(Section(export, Vec(cat(Name("a"), []byte{0, 0}), cat(Name("bc"), []byte{2, 0})))), nil, ""},

		// Globals: no count inside, but each must be read to find the next.
		{"globals fewer than their count", Module(Section(global, ULEB(3), []byte{i32, 0}, i32Zero, []byte{i32, 0})), malformed,
			"global section: global 1: malformed wasm module: unexpected end"},
		{"globals, twin", Module(Section(global, ULEB(2), []byte{i32, 0}, i32Zero, []byte{0x63, funcref, 0}, refFunc)), nil, ""},

		// The name section, which wazero always decodes.
		{"module name of 2^32-1 bytes", Module(NameSection(Sub(0, Huge))), malformed,
			"name section: module name: malformed wasm module: 4294967295 bytes"},
		{"2^32-1 function names", Module(NameSection(Sub(1, Huge))), malformed,
			"name section: the function name map declares 4294967295 names, more than the 0 bytes left"},
		{"function name of 2^32-1 bytes", Module(NameSection(Sub(1, ULEB(1), ULEB(7), Huge))), malformed,
			"name section: the function name map: entry 0 (index 7): malformed wasm module: 4294967295 bytes"},
		{"local names of 2^32-1 functions", Module(NameSection(Sub(2, Huge))), malformed,
			"name section: the local names subsection declares 4294967295 functions, more than the 0 bytes left"},
		{"2^32-1 local names", Module(NameSection(Sub(2, ULEB(2), ULEB(0), Vec(cat(ULEB(0), Name("x"))), ULEB(3), Huge))), malformed,
			"name section: the local name map of function 3 declares 4294967295 names, more than the 0 bytes left"},
		{"local name of 2^32-1 bytes", Module(NameSection(Sub(2, ULEB(1), ULEB(4), ULEB(1), ULEB(9), Huge))), malformed,
			"name section: the local name map of function 4: entry 0 (index 9): malformed wasm module: 4294967295 bytes"},
		// wazero reads the entries past their subsection's size.
		{"function names running past their subsection", Module(NameSection(cat([]byte{1}, ULEB(2), ULEB(1), ULEB(0)), Huge)), malformed,
			"name section: the function name map: entry 0 (index 0): malformed wasm module: unexpected end"},
		{"subsection of 2^32-1 bytes", Module(NameSection(cat([]byte{1}, Huge))), malformed,
			"name section: subsection 1 of 4294967295 bytes, more than the 0 bytes left"},
		{"subsection with bytes after its entries", Module(NameSection(Sub(1, Vec(), []byte{0}))), malformed,
			"name section: subsection 1 has 1 bytes after its entries"},
		{"name section, twin", Module(NameSection(Sub(0, Name("m")), Sub(1, Vec(cat(ULEB(0), Name("f")), cat(ULEB(1), Name("g")))),
			Sub(2, Vec(cat(ULEB(0), Vec(cat(ULEB(0), Name("x")), cat(ULEB(1), Name("y")))))), Sub(7, Huge))), nil, ""},
		{"other custom sections are not read, twin", Module(Section(custom, Name("names"), Huge)), nil, ""},
		{"custom name past the section", Module(Section(custom, Huge)), malformed, "count or length of 4294967295"},
	}

	// Every constant expression wazero decodes, then a count: the walk
	// must find the count right after the expression.
	for _, expr := range []struct {
		name string
		b    []byte
	}{
		{"i32.const", []byte{0x41, 0xff, 0xff, 0xff, 0xff, 0x07, end}},
		{"i64.const", cat([]byte{0x42}, repeat(0xff, 9), []byte{0x00, end})},
		{"f32.const", []byte{0x43, 0x0b, 0x0b, 0x0b, 0x0b, end}},
		{"f64.const", cat([]byte{0x44}, repeat(0x0b, 8), []byte{end})},
		{"global.get", []byte{0x23, 0x80, 0x01, end}},
		{"ref.null func", []byte{0xd0, funcref, end}},
		{"ref.null exn", []byte{0xd0, 0x69, end}},
		{"ref.null of a type index", []byte{0xd0, 0x85, 0x01, end}},
		{"ref.func", []byte{0xd2, 0x85, 0x01, end}},
		{"v128.const", cat([]byte{0xfd, 0x0c}, repeat(0x0b, 16), []byte{end})},
		{"extended constants", []byte{0x41, 1, 0x41, 2, 0x6a, 0x42, 3, 0x7e, 0x7c, 0x7d, 0x6b, 0x6c, end}},
	} {
		cases = append(cases,
			Case{"data offset " + expr.name, Module(Section(data, Vec(cat([]byte{0}, expr.b, Huge)))), malformed,
				"data section: segment 0 declares 4294967295 bytes, more than the 0 bytes left"},
			Case{"data offset " + expr.name + ", twin", Module(Section(data, Vec(cat([]byte{0}, expr.b, Name("x"))))), nil, ""})
	}

	// The eight encodings of an element segment.
	for prefix, head := range [][]byte{
		cat([]byte{0}, i32Zero),                  // active, table 0, function indices
		{1, 0},                                   // passive, element kind, function indices
		cat([]byte{2, 0}, i32Zero, []byte{0}),    // active, table index, offset, element kind
		{3, 0},                                   // declarative
		cat([]byte{4}, i32Zero),                  // active, expressions
		{5, funcref},                             // passive, reference type, expressions
		cat([]byte{6, 0}, i32Zero, []byte{0x6f}), // active, table index, offset, reference type
		{7, 0x64, funcref},                       // declarative, (ref func)
	} {
		entry := []byte{0x05}
		if prefix >= 4 {
			entry = refFunc
		}
		name := "element segment prefix " + string(rune('0'+prefix))
		cases = append(cases,
			Case{name, Module(Section(element, Vec(cat(head, Huge)))), malformed,
				"element section: segment 0 declares 4294967295 elements, more than the 0 bytes left"},
			Case{name + ", twin", Module(Section(element, Vec(cat(head, Vec(entry, entry))))), nil, ""})
	}
	return cases
}

func repeatBody(n int, body []byte) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = body
	}
	return bodies
}
