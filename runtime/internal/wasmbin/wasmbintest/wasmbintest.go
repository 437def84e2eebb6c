// Package wasmbintest holds hand-built modules for the tests of wasmbin
// and of the runtime: modules that declare a count wazero v1.12 would
// allocate by with no bytes behind it ("fatal error: out of memory" at
// Compile, which no test survives), or more entries than wasmbin's caps
// allow (gigabytes once compiled or instantiated many times), each with a
// twin that declares a count its bytes back, at the cap. Only tests
// import it.
//
// A test must never hand an attack to wazero unless wasmbin has refused
// it first.
package wasmbintest

import (
	"bytes"
	"strconv"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
)

// TableCap is the table cap the cases assume, the maxElems to pass
// wasmbin.LimitTables: runtime.Config.MaxTableElements' default. The element
// entries of a module count against it.
const TableCap = 1 << 20

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

// header is the WebAssembly 1 magic and version.
const header = "\x00asm\x01\x00\x00\x00"

// Module returns a module made of sections.
func Module(sections ...[]byte) []byte {
	return bytes.Join(append([][]byte{[]byte(header)}, sections...), nil)
}

// Section returns a section of id with payload.
func Section(id byte, payload ...[]byte) []byte {
	size := 0
	for _, p := range payload {
		size += len(p)
	}
	// One copy: some sections are megabytes.
	return bytes.Join(append([][]byte{{id}, ULEB(uint32(size))}, payload...), nil)
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

// VecOf returns n times entry, with the count.
func VecOf(n int, entry []byte) []byte {
	count := ULEB(uint32(n))
	b := make([]byte, len(count)+n*len(entry))
	copy(b, count)
	if n == 0 {
		return b
	}
	// Doubling, as bytes.Repeat does: a copy per entry costs seconds
	// under the race detector.
	entries := b[len(count):]
	done := copy(entries, entry)
	for done < len(entries) {
		done += copy(entries[done:], entries[:done])
	}
	return b
}

// huge returns the LEB128 of 2^32-1, the largest count.
func huge() []byte { return ULEB(1<<32 - 1) }

// Section ids.
const (
	custom   = 0
	typ      = 1
	imports  = 2
	function = 3
	global   = 6
	export   = 7
	start    = 8
	element  = 9
	code     = 10
	data     = 11
	tag      = 13
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
// the twin's but for the count; where a cap counts imported and defined
// entries together, an attack adds an import to the twin instead. Some
// are megabytes: all together, about 100 MB.
func Cases() []Case {
	malformed, unsupported := wasmbin.ErrMalformed, wasmbin.ErrUnsupported
	cases := []Case{
		// Element segments: a vector of 2^32-1 entries of 24 bytes each in
		// wazero, whatever the machine, from 20 bytes.
		{"element vector, 20 bytes", Module(Section(element, Vec(cat([]byte{0}, i32Zero, huge())))), malformed,
			"element section: segment 0 declares 4294967295 elements, more than the 0 bytes left"},
		{"element vector, second segment", Module(Section(element, ULEB(2), []byte{0}, i32Zero, Vec([]byte{0}), []byte{0}, i32Zero, ULEB(2), []byte{0})), malformed,
			"element section: segment 1 declares 2 elements, more than the 1 bytes left"},
		{"element vectors, twin", Module(Section(element, ULEB(2), []byte{0}, i32Zero, Vec([]byte{0}), []byte{0}, i32Zero, Vec([]byte{0}, []byte{1}))), nil, ""},
		{"element segment prefix 8", Module(Section(element, Vec([]byte{8}))), malformed, "element section: segment 0 has prefix 8"},

		// Function types: wazero makes room for the parameters and the
		// results before it reads them.
		{"2^32-1 parameters", Module(Section(typ, Vec(cat([]byte{funcType}, huge())))), malformed,
			"type section: type 0 declares 4294967295 parameters, more than the 0 bytes left"},
		{"2^32-1 results", Module(Section(typ, Vec(cat([]byte{funcType, 0}, huge())))), malformed,
			"type section: type 0 declares 4294967295 results, more than the 0 bytes left"},
		{"1001 parameters", Module(Section(typ, Vec(FuncType(wasmbin.MaxParams+1, 0)))), unsupported,
			"type section: type 0 declares 1001 parameters, more than the limit of 1000"},
		{"1001 results", Module(Section(typ, Vec(FuncType(1, wasmbin.MaxResults+1)))), unsupported,
			"type section: type 0 declares 1001 results, more than the limit of 1000"},
		{"1000 parameters and results, twin", Module(Section(typ, Vec(FuncType(wasmbin.MaxParams, wasmbin.MaxResults)))), nil, ""},
		{"2^32-1 parameters, third type", Module(Section(typ, Vec(FuncType(0, 0), FuncType(2, 1), cat([]byte{funcType}, huge())))), malformed,
			"type section: type 2 declares 4294967295 parameters"},
		{"recursion group of 2^32-1 types", Module(Section(typ, Vec(cat([]byte{recGroup}, huge())))), malformed,
			"type section: recursion group 0 declares 4294967295 types, more than the 0 bytes left"},
		{"2^32-1 parameters in a recursion group", Module(Section(typ, Vec(FuncType(0, 0), cat([]byte{recGroup}, Vec(FuncType(1, 1), cat([]byte{funcType}, huge())))))), malformed,
			"type section: type 2 declares 4294967295 parameters"},
		{"recursion group, twin", Module(Section(typ, Vec(FuncType(0, 0), cat([]byte{recGroup}, Vec(FuncType(1, 1), FuncType(2, 0)))))), nil, ""},
		{"not a function type", Module(Section(typ, Vec([]byte{0x5f, 0, 0}))), malformed, "type section: type 0 has form 0x5f"},

		// Locals: a (count, type) pair declares up to 2^32-1 of them in 6
		// bytes, and wazero makes room for all of them.
		{"2^32-1 locals", Funcs(Body(cat(huge(), []byte{i32}))), unsupported,
			"code section: function 0 declares 4294967295 locals, more than the limit of 50000"},
		{"2^32-1 locals after imports", Module(
			Section(typ, Vec(FuncType(0, 0))),
			Section(imports, Vec(cat(Name("wasi_snapshot_preview1"), Name("sched_yield"), []byte{0, 0}), cat(Name("env"), Name("f"), []byte{0, 0}))),
			Section(function, Vec([]byte{0}, []byte{0})),
			Code(Body(), Body(cat(huge(), []byte{i32})))), unsupported,
			"code section: function 3 declares 4294967295 locals, more than the limit of 50000"},
		{"two entries adding up past the cap", Funcs(Body(Locals(25000), Locals(25001))), unsupported,
			"code section: function 0 declares 50001 locals, more than the limit of 50000"},
		{"two entries of 2^32-1", Funcs(Body(cat(huge(), []byte{i32}), cat(huge(), []byte{i32}))), unsupported,
			"code section: function 0 declares 8589934590 locals, more than the limit of 50000"},
		{"locals at the cap, twin", Funcs(Body(Locals(25000), Locals(25000))), nil, ""},
		{"the module's locals past the cap", Funcs(repeatBody(wasmbin.MaxModuleLocals/wasmbin.MaxLocals+1, Body(Locals(wasmbin.MaxLocals)))...), unsupported,
			"code section: functions 0 to 83 declare 4200000 locals in all, more than the limit of 4194304"},
		{"the module's locals at the cap, twin", Funcs(append(repeatBody(wasmbin.MaxModuleLocals/wasmbin.MaxLocals, Body(Locals(wasmbin.MaxLocals))),
			Body(Locals(wasmbin.MaxModuleLocals%wasmbin.MaxLocals)))...), nil, ""},
		{"more local entries than the body's bytes", Funcs(cat(ULEB(2), ULEB(5), []byte{end})), malformed,
			"code section: function 0 declares 5 local entries, more than the 1 bytes left"},
		// wazero sums the locals reading past the body.
		{"local entry running past its body", Module(Section(code, ULEB(1), ULEB(3), []byte{1}, huge(), []byte{i32, end})), malformed,
			"code section: function 0: locals: malformed wasm module: unexpected end"},
		{"body of 2^32-1 bytes", Module(Section(code, Vec(cat(huge(), []byte{0})))), malformed,
			"code section: function 0 declares a body of 4294967295 bytes, more than the 1 bytes left"},
		{"second body past the section", Module(Section(code, ULEB(2), Body(), ULEB(4), []byte{0, end})), malformed,
			"code section: function 1 declares a body of 4 bytes, more than the 2 bytes left"},

		// Data segments: wazero makes room for the bytes before it reads
		// them.
		{"data segment of 2^32-1 bytes", Module(Section(data, Vec(cat([]byte{0}, i32Zero, huge())))), malformed,
			"data section: segment 0 declares 4294967295 bytes, more than the 0 bytes left"},
		{"passive data segment of 2^32-1 bytes", Module(Section(data, Vec(cat([]byte{1}, huge())))), malformed,
			"data section: segment 0 declares 4294967295 bytes"},
		{"data segment with a memory index, 2^32-1 bytes", Module(Section(data, Vec(cat([]byte{2, 0}, i32Zero, huge())))), malformed,
			"data section: segment 0 declares 4294967295 bytes"},
		{"second data segment past the section", Module(Section(data, ULEB(2), []byte{1}, Name("abc"), []byte{1}, ULEB(4), []byte("abc"))), malformed,
			"data section: segment 1 declares 4 bytes, more than the 3 bytes left"},
		{"data segments, twin", Module(Section(data, ULEB(3), []byte{1}, Name("abc"), []byte{0}, i32Zero, Name("d"), []byte{2, 0}, i32Zero, Name("ef"))), nil, ""},
		{"bytes after the data segments", Module(Section(data, Vec(cat([]byte{1}, Name("a"))), []byte{0})), malformed,
			"data section has 1 bytes after its entries"},
		{"data segment prefix 3", Module(Section(data, Vec([]byte{3}))), malformed, "data section: segment 0 has prefix 3"},

		// Names: wazero makes room for a name before it reads it.
		{"import module name of 2^32-1 bytes", Module(Section(imports, Vec(huge()))), malformed,
			"import section: import 0: module name: malformed wasm module: 4294967295 bytes at offset 16 run past the section"},
		{"import name of 2^32-1 bytes", Module(Section(imports, Vec(cat(Name("env"), huge())))), malformed,
			"import section: import 0: name: malformed wasm module: 4294967295 bytes"},
		{"export name of 2^32-1 bytes", Module(Section(export, Vec(huge()))), malformed,
			"export section: export 0: malformed wasm module: 4294967295 bytes"},
		{"second export name past the section", Module(Section(export, ULEB(2), Name("a"), []byte{0, 0}, ULEB(3), []byte("bc"))), malformed,
			"export section: export 1: malformed wasm module: 3 bytes"},
		{"exports, twin", Module(Section(export, Vec(cat(Name("a"), []byte{0, 0}), cat(Name("bc"), []byte{2, 0})))), nil, ""},

		// Globals: no count inside, but each must be read to find the next.
		{"globals fewer than their count", Module(Section(global, ULEB(3), []byte{i32, 0}, i32Zero, []byte{i32, 0})), malformed,
			"global section: global 1: malformed wasm module: unexpected end"},
		{"globals, twin", Module(Section(global, ULEB(2), []byte{i32, 0}, i32Zero, []byte{0x63, funcref, 0}, refFunc)), nil, ""},

		// The name section, which wazero always decodes.
		{"module name of 2^32-1 bytes", Module(NameSection(Sub(0, huge()))), malformed,
			"name section: module name: malformed wasm module: 4294967295 bytes"},
		{"2^32-1 function names", Module(NameSection(Sub(1, huge()))), malformed,
			"name section: the function name map declares 4294967295 names, more than the 0 bytes left"},
		{"function name of 2^32-1 bytes", Module(NameSection(Sub(1, ULEB(1), ULEB(7), huge()))), malformed,
			"name section: the function name map: entry 0 (index 7): malformed wasm module: 4294967295 bytes"},
		{"local names of 2^32-1 functions", Module(NameSection(Sub(2, huge()))), malformed,
			"name section: the local names subsection declares 4294967295 functions, more than the 0 bytes left"},
		{"2^32-1 local names", Module(NameSection(Sub(2, ULEB(2), ULEB(0), Vec(cat(ULEB(0), Name("x"))), ULEB(3), huge()))), malformed,
			"name section: the local name map of function 3 declares 4294967295 names, more than the 0 bytes left"},
		{"local name of 2^32-1 bytes", Module(NameSection(Sub(2, ULEB(1), ULEB(4), ULEB(1), ULEB(9), huge()))), malformed,
			"name section: the local name map of function 4: entry 0 (index 9): malformed wasm module: 4294967295 bytes"},
		// wazero reads the entries past their subsection's size.
		{"function names running past their subsection", Module(NameSection(cat([]byte{1}, ULEB(2), ULEB(1), ULEB(0)), huge())), malformed,
			"name section: the function name map: entry 0 (index 0): malformed wasm module: unexpected end"},
		{"subsection of 2^32-1 bytes", Module(NameSection(cat([]byte{1}, huge()))), malformed,
			"name section: subsection 1 of 4294967295 bytes, more than the 0 bytes left"},
		{"subsection with bytes after its entries", Module(NameSection(Sub(1, Vec(), []byte{0}))), malformed,
			"name section: subsection 1 has 1 bytes after its entries"},
		{"name section, twin", Module(NameSection(Sub(0, Name("m")), Sub(1, Vec(cat(ULEB(0), Name("f")), cat(ULEB(1), Name("g")))),
			Sub(2, Vec(cat(ULEB(0), Vec(cat(ULEB(0), Name("x")), cat(ULEB(1), Name("y")))))), Sub(7, huge()))), nil, ""},
		{"other custom sections are not read, twin", Module(Section(custom, Name("names"), huge())), nil, ""},
		{"custom name past the section", Module(Section(custom, huge())), malformed, "count or length of 4294967295"},
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
			Case{"data offset " + expr.name, Module(Section(data, Vec(cat([]byte{0}, expr.b, huge())))), malformed,
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
			Case{name, Module(Section(element, Vec(cat(head, huge())))), malformed,
				"element section: segment 0 declares 4294967295 elements, more than the 0 bytes left"},
			Case{name + ", twin", Module(Section(element, Vec(cat(head, Vec(entry, entry))))), nil, ""})
	}
	return append(cases, capCases()...)
}

// capCases returns the attacks on the caps of counts that their bytes
// back: one entry more than the cap, each with its twin at the cap. The
// twins are not all valid (their indices point at nothing, or at no type
// section, so that wazero refuses them before it compiles a function),
// but wazero decodes them all.
func capCases() []Case {
	var cases []Case
	// pair adds the attack build(limit+1), refused with message, and its
	// twin build(limit).
	pair := func(name string, limit int, build func(n int) []byte, message string) {
		cases = append(cases,
			Case{name, build(limit + 1), wasmbin.ErrUnsupported, message},
			Case{name + ", twin", build(limit), nil, ""})
	}
	attack := func(name string, wasm []byte, message string) {
		cases = append(cases, Case{name, wasm, wasmbin.ErrUnsupported, message})
	}

	// A start section naming a function the module lacks: wazero
	// refuses the module first thing once decoded, rather than spend
	// seconds on a million types or globals.
	noStart := Section(start, ULEB(0))

	// The costs below are wazero's, with its compiler.

	// Types: 125 bytes each, from 3.
	types := func(n int) []byte { return Module(Section(typ, VecOf(n, FuncType(0, 0))), noStart) }
	pair("1000001 types", wasmbin.MaxTypes, types,
		"type section declares 1000001 types or recursion groups, more than the limit of 1000000")
	pair("recursion group of 1000001 types", wasmbin.MaxTypes, func(n int) []byte {
		return Module(Section(typ, Vec(cat([]byte{recGroup}, VecOf(n, FuncType(0, 0))))), noStart)
	}, "type section: recursion group 0 brings the module's types to 1000001, more than the limit of 1000000")

	// Functions: compiled one by one, and 85 bytes each (and machine
	// code) from 4. Their type, () -> i32, is one an empty body does not
	// meet: wazero refuses the twin at its first function's validation,
	// not after compiling a million.
	refused := Section(typ, Vec(FuncType(0, 1)))
	functions := func(defined, bodies int) [][]byte {
		return [][]byte{refused, Section(function, VecOf(defined, []byte{0})), Section(code, VecOf(bodies, Body()))}
	}
	pair("1000001 functions", wasmbin.MaxFunctions, func(n int) []byte { return Module(functions(n, n)...) },
		"function section brings the module's functions (imported and defined) to 1000001, more than the limit of 1000000")
	attack("1000000 functions and an imported one", Module(append([][]byte{
		Section(imports, Vec(cat(Name("env"), Name("f"), []byte{0, 0})))}, functions(wasmbin.MaxFunctions, wasmbin.MaxFunctions)...)...),
		"function section brings the module's functions (imported and defined) to 1000001")
	attack("1000001 bodies for 1000000 functions", Module(functions(wasmbin.MaxFunctions, wasmbin.MaxFunctions+1)...),
		"code section brings the module's functions (imported and defined) to 1000001")
	pair("body of 7654322 bytes", wasmbin.MaxFunctionSize, func(n int) []byte {
		body := cat(ULEB(uint32(n)), []byte{0}, repeat(0x01, n-2), []byte{end}) // no locals, nops
		return Module(refused, Section(function, Vec([]byte{0})), Section(code, Vec(body)))
	}, "code section: function 0 declares a body of 7654322 bytes, more than the limit of 7654321")

	// Imports and exports: 126 and 72 bytes each, from 4.
	pair("100001 imports", wasmbin.MaxImports, func(n int) []byte {
		return Module(Section(imports, VecOf(n, cat(Name(""), Name(""), []byte{0, 0}))))
	}, "import section brings the module's imports to 100001, more than the limit of 100000")
	pair("100001 exports", wasmbin.MaxExports, func(n int) []byte {
		exports := make([][]byte, n) // wazero refuses a name twice as it decodes
		for i := range exports {
			exports[i] = cat(Name(strconv.Itoa(i)), []byte{0, 0})
		}
		return Module(Section(export, Vec(exports...)))
	}, "export section brings the module's exports to 100001, more than the limit of 100000")

	// Globals: 56 bytes each, and 88 per instance, from 5; tags: 4, and
	// 24 per instance, from 2.
	globals := func(n int) []byte { return Section(global, VecOf(n, cat([]byte{i32, 0}, i32Zero))) }
	pair("1000001 globals", wasmbin.MaxGlobals, func(n int) []byte { return Module(globals(n), noStart) },
		"global section brings the module's globals (imported and defined) to 1000001, more than the limit of 1000000")
	attack("1000000 globals and an imported one", Module(Section(imports, Vec(cat(Name("env"), Name("g"), []byte{3, i32, 0}))), globals(wasmbin.MaxGlobals), noStart),
		"global section brings the module's globals (imported and defined) to 1000001")
	pair("1000001 tags", wasmbin.MaxTags, func(n int) []byte { return Module(Section(tag, VecOf(n, []byte{0, 0}))) },
		"tag section brings the module's tags (imported and defined) to 1000001, more than the limit of 1000000")

	// Segments: 72 (element) or 56 (data) bytes each, and 24 per
	// instance, from 3 or 2.
	pair("100001 element segments", wasmbin.MaxElementSegments, func(n int) []byte {
		return Module(Section(element, VecOf(n, []byte{1, 0, 0})))
	}, "element section brings the module's element segments to 100001, more than the limit of 100000")
	pair("100001 data segments", wasmbin.MaxDataSegments, func(n int) []byte {
		return Module(Section(data, VecOf(n, []byte{1, 0})))
	}, "data section brings the module's data segments to 100001, more than the limit of 100000")

	// Element entries: 40 bytes each, from a one-byte function index, and
	// 40 per instance: a 60 MB module would take 2.5 GiB once compiled,
	// and as much per instance.
	passive := func(n int) []byte { return cat([]byte{1, 0}, VecOf(n, []byte{0})) }
	pair("passive segment of 2^20+1 entries", TableCap, func(n int) []byte {
		return Module(Section(element, Vec(passive(n))))
	}, "element section: segment 0 brings the module's element entries to 1048577, more than the limit of 1048576")
	pair("two segments of 2^20+1 entries in all", TableCap, func(n int) []byte {
		return Module(Section(element, Vec(passive(TableCap/2), passive(n-TableCap/2))))
	}, "element section: segment 1 brings the module's element entries to 1048577, more than the limit of 1048576")

	// Names: 24 or 32 bytes each, from 2.
	pair("1000001 function names", wasmbin.MaxFunctions, func(n int) []byte {
		return Module(NameSection(Sub(1, VecOf(n, []byte{0, 0}))))
	}, "name section: the function name map brings the module's function names to 1000001, more than the limit of 1000000")
	pair("local names of 1000001 functions", wasmbin.MaxFunctions, func(n int) []byte {
		return Module(NameSection(Sub(2, VecOf(n, []byte{0, 0}))))
	}, "name section: the local names subsection brings the module's functions with local names to 1000001, more than the limit of 1000000")
	pair("4194305 local names in two functions", wasmbin.MaxLocalNames, func(n int) []byte {
		const half = wasmbin.MaxLocalNames / 2
		return Module(NameSection(Sub(2, Vec(cat(ULEB(0), VecOf(half, []byte{0, 0})), cat(ULEB(1), VecOf(n-half, []byte{0, 0}))))))
	}, "name section: the local name map of function 1 brings the module's local names to 4194305, more than the limit of 4194304")
	return cases
}

func repeatBody(n int, body []byte) [][]byte {
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = body
	}
	return bodies
}
