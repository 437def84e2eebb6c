//go:build wasip1

// Command badabi calls every wx import with pointers and lengths that leave
// linear memory, at launch, and logs each result code as "<call>: <code>"
// (info level) through a raw log call with a valid buffer. A host that
// follows the ABI answers each bad call with -1 (EINVAL) and never panics.
// It takes its exports from the SDK but makes every wx call through its
// own raw imports, so nothing checks the arguments on the guest side.
package main

import (
	"strconv"
	"unsafe"

	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

//go:wasmimport wx log
func rawLog(level, ptr, n uint32) int32

//go:wasmimport wx set_storage
func rawSetStorage(kptr, klen, vptr, vlen uint32) int32

//go:wasmimport wx get_storage
func rawGetStorage(kptr, klen, buf, bufCap uint32) int32

//go:wasmimport wx remove_storage
func rawRemoveStorage(kptr, klen uint32) int32

//go:wasmimport wx get_storage_info
func rawGetStorageInfo(buf, bufCap uint32) int32

//go:wasmimport wx show_modal
func rawShowModal(ptr, n uint32) int32

//go:wasmimport wx get_system_info
func rawGetSystemInfo(buf, bufCap uint32) int32

// currentMemory returns the size of linear memory in 64 KiB pages
// (memory.size; see memory_wasm.s).
func currentMemory() int32

const (
	farPtr = 0xFFFFFFF0 // beyond any memory a wasm32 module can have
	hugeN  = 0x7FFFFFFF // a length no buffer can have
)

var (
	key     = []byte("badabi")
	value   = []byte("v")
	modal   = []byte(`{"title":"t","content":"c"}`)
	scratch = make([]byte, 64)
	line    []byte
)

func addr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// report logs "<name>: <code>" through the raw log import.
func report(name string, code int32) {
	line = append(append(append(line[:0], name...), ": "...), strconv.Itoa(int(code))...)
	rawLog(1, addr(line), uint32(len(line)))
}

func init() {
	wx.OnLaunch(func(abi.LaunchOptions) { run() })
}

func run() {
	// end is one past the last byte of linear memory; end-4 with a length
	// of 8 straddles it.
	end := uint32(currentMemory()) * 65536
	k, kn := addr(key), uint32(len(key))
	v, vn := addr(value), uint32(len(value))
	s, sn := addr(scratch), uint32(len(scratch))
	m, mn := addr(modal), uint32(len(modal))

	// A valid key exists, so get_storage cannot answer ENOTFOUND before
	// looking at the buffer.
	report("set_storage valid", rawSetStorage(k, kn, v, vn))

	report("log far ptr", rawLog(1, farPtr, 16))
	report("log huge len", rawLog(1, s, hugeN))
	report("log past end", rawLog(1, end-4, 8))
	report("log wrapping", rawLog(1, farPtr, 0x20))
	report("log bad level", rawLog(99, s, 1))
	report("log bad utf8", rawLog(1, addr([]byte{0xff, 0xfe, 'x'}), 3))

	report("set_storage far key", rawSetStorage(farPtr, 16, v, vn))
	report("set_storage huge key", rawSetStorage(k, hugeN, v, vn))
	report("set_storage far value", rawSetStorage(k, kn, farPtr, 16))
	report("set_storage huge value", rawSetStorage(k, kn, v, hugeN))
	report("set_storage value past end", rawSetStorage(k, kn, end-4, 8))

	report("get_storage far key", rawGetStorage(farPtr, 16, s, sn))
	report("get_storage huge key", rawGetStorage(k, hugeN, s, sn))
	report("get_storage far buf", rawGetStorage(k, kn, farPtr, 16))
	report("get_storage huge cap", rawGetStorage(k, kn, s, hugeN))
	report("get_storage buf past end", rawGetStorage(k, kn, end-4, 8))

	report("remove_storage far key", rawRemoveStorage(farPtr, 16))
	report("remove_storage huge key", rawRemoveStorage(k, hugeN))
	report("remove_storage key past end", rawRemoveStorage(end-4, 8))

	report("get_storage_info far buf", rawGetStorageInfo(farPtr, 16))
	report("get_storage_info huge cap", rawGetStorageInfo(s, hugeN))
	report("get_storage_info buf past end", rawGetStorageInfo(end-4, 8))

	report("show_modal far ptr", rawShowModal(farPtr, mn))
	report("show_modal huge len", rawShowModal(m, hugeN))
	report("show_modal past end", rawShowModal(end-4, 8))
	report("show_modal bad json", rawShowModal(k, kn))

	report("get_system_info far buf", rawGetSystemInfo(farPtr, 16))
	report("get_system_info huge cap", rawGetSystemInfo(s, hugeN))
	report("get_system_info buf past end", rawGetSystemInfo(end-4, 8))

	report("done", 0)
}

// main never runs: the host starts the module as a reactor.
func main() {}
