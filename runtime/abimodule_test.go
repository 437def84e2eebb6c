package runtime

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
	"github.com/minihost/minihost/samples/wx/abi"
)

// abiModule describes a guest of ABI v1 written by hand, for what a Go
// guest cannot do: a wasm start function, table.grow. Its exports:
//
//	_initialize, minihost_on_launch, minihost_on_hide  do nothing
//	minihost_abi_version                               returns 1
//	minihost_alloc                                     returns 1024 (payloads up to 63 KiB)
//	minihost_on_show                                   returns table.size of table 0
//	minihost_on_event(kind, ptr, len)                  returns table.grow(ref.null func, kind) of table 0
//
// and one page of memory, exported as "memory". A callback's result is its
// code, so a test reads table.size and table.grow results off the
// ErrCallback a non-zero code gives.
type abiModule struct {
	// tableMin is the funcref table's minimum. It has no maximum, as Go's
	// linker declares its table.
	tableMin uint32
	// start, if set, is the body of a start function (the wasm start
	// section): instructions without locals, up to but not including end.
	start []byte
	// data is copied to memory offset 0.
	data []byte
	// importTable adds an import of a table env.table.
	importTable bool
	// show, if set, is the body of minihost_on_show (it must leave an i32).
	show []byte
}

// Imports every abiModule has, in function index order: a start function
// calls them with opCall and these indexes.
const (
	fnPollOneoff = 0 // wasi_snapshot_preview1.poll_oneoff
	fnLog        = 1 // wx.log
)

// Instructions and bodies for abiModule.start.
const (
	opCall     = 0x10
	opDrop     = 0x1a
	opI32Const = 0x41
)

var (
	// loopForever is `loop br 0 end`.
	loopForever = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b}
	// sleepThenLoop calls poll_oneoff with the clock subscription
	// sleepSubscription puts at offset 0, then loops.
	sleepThenLoop = append(bytes.Join([][]byte{
		i32Const(0), i32Const(64), i32Const(1), i32Const(128), {opCall, fnPollOneoff, opDrop},
	}, nil), loopForever...)
	// logThenLoop logs the 7 bytes at offset 256 ("started" in
	// startedData), then loops.
	logThenLoop = append(bytes.Join([][]byte{
		i32Const(int32(abi.LevelInfo)), i32Const(256), i32Const(7), {opCall, fnLog, opDrop},
	}, nil), loopForever...)
)

// sleepSubscription is one WASI subscription for a relative clock of an
// hour: userdata 0, tag 0 (clock) at 8, clock id 1 at 16, timeout at 24.
func sleepSubscription() []byte {
	b := make([]byte, 48)
	binary.LittleEndian.PutUint32(b[16:], 1)
	binary.LittleEndian.PutUint64(b[24:], uint64(time.Hour))
	return b
}

// startedData puts "started" at offset 256, for logThenLoop.
func startedData() []byte {
	b := make([]byte, 256, 263)
	return append(b, "started"...)
}

func i32Const(v int32) []byte { return wasmbin.AppendSLEB128([]byte{opI32Const}, v) }

func wasmName(s string) []byte { return append(wasmbin.AppendULEB128(nil, uint32(len(s))), s...) }

// wasmVec returns the vector of items.
func wasmVec(items ...[]byte) []byte {
	return append(wasmbin.AppendULEB128(nil, uint32(len(items))), bytes.Join(items, nil)...)
}

func wasmSection(id byte, payload []byte) []byte {
	return append(wasmbin.AppendULEB128([]byte{id}, uint32(len(payload))), payload...)
}

// bytes encodes the module.
func (m abiModule) bytes() []byte {
	i32s := func(n int) []byte { // a vector of n i32 value types
		return append(wasmbin.AppendULEB128(nil, uint32(n)), bytes.Repeat([]byte{0x7f}, n)...)
	}
	fn := func(params, results int) []byte {
		return append(append([]byte{0x60}, i32s(params)...), i32s(results)...)
	}
	types := wasmVec(fn(0, 0), fn(0, 1), fn(1, 1), fn(2, 1), fn(3, 1), fn(4, 1))
	const (
		tVoid = iota
		tI32
		tAlloc
		tLaunch
		tEvent
		tPoll
	)
	imports := [][]byte{
		append(append(wasmName("wasi_snapshot_preview1"), wasmName("poll_oneoff")...), 0x00, tPoll),
		append(append(wasmName("wx"), wasmName("log")...), 0x00, tEvent),
	}
	if m.importTable {
		imports = append(imports, append(append(wasmName("env"), wasmName("table")...), 0x01, 0x70, 0x00, 0x00))
	}
	const nImported = 2
	funcs := []struct {
		name string
		typ  byte
		body []byte
	}{
		{"_initialize", tVoid, nil},
		{"minihost_abi_version", tI32, i32Const(1)},
		{"minihost_alloc", tAlloc, i32Const(1024)},
		{"minihost_on_launch", tLaunch, i32Const(0)},
		{"minihost_on_show", tI32, []byte{0xfc, 0x10, 0x00}},                            // table.size 0
		{"minihost_on_hide", tI32, i32Const(0)},                                         // 0
		{"minihost_on_event", tEvent, []byte{0xd0, 0x70, 0x20, 0x00, 0xfc, 0x0f, 0x00}}, // ref.null func; local.get 0; table.grow 0
	}
	if m.show != nil {
		funcs[4].body = m.show
	}
	if m.start != nil {
		funcs = append(funcs, struct {
			name string
			typ  byte
			body []byte
		}{"", tVoid, m.start})
	}
	var decls, exports, codes [][]byte
	exports = append(exports, append(wasmName("memory"), 0x02, 0x00))
	for i, f := range funcs {
		decls = append(decls, []byte{f.typ})
		if f.name != "" {
			exports = append(exports, wasmbin.AppendULEB128(append(wasmName(f.name), 0x00), uint32(nImported+i)))
		}
		body := append(append([]byte{0x00}, f.body...), 0x0b) // no locals; end
		codes = append(codes, append(wasmbin.AppendULEB128(nil, uint32(len(body))), body...))
	}
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = append(out, wasmSection(1, types)...)
	out = append(out, wasmSection(2, wasmVec(imports...))...)
	out = append(out, wasmSection(3, wasmVec(decls...))...)
	out = append(out, wasmSection(4, wasmVec(wasmbin.AppendULEB128([]byte{0x70, 0x00}, m.tableMin)))...)
	out = append(out, wasmSection(5, wasmVec([]byte{0x00, 0x01}))...)
	out = append(out, wasmSection(7, wasmVec(exports...))...)
	if m.start != nil {
		out = append(out, wasmSection(8, wasmbin.AppendULEB128(nil, uint32(nImported+len(funcs)-1)))...)
	}
	out = append(out, wasmSection(10, wasmVec(codes...))...)
	if m.data != nil {
		seg := append(append([]byte{0x00}, i32Const(0)...), 0x0b)
		seg = append(wasmbin.AppendULEB128(seg, uint32(len(m.data))), m.data...)
		out = append(out, wasmSection(11, wasmVec(seg))...)
	}
	return out
}
