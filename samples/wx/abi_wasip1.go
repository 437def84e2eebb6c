//go:build wasip1

//lint:file-ignore U1000 the minihost_* functions are called by the host, through go:wasmexport.

package wx

import (
	"unsafe"

	"github.com/minihost/minihost/samples/wx/abi"
)

// guest is the one guestApp of this module; the exports forward to it.
var guest guestApp

// The directives below spell the ABI's export and import names as the
// runtime defines them (runtime/wx.go); runtime/abinames_test.go reads
// this file and fails when they drift.

//go:wasmexport minihost_abi_version
func minihostABIVersion() int32 { return abi.Version }

//go:wasmexport minihost_alloc
func minihostAlloc(size uint32) unsafe.Pointer {
	b := guest.alloc(size)
	if b == nil {
		return nil
	}
	return unsafe.Pointer(unsafe.SliceData(b))
}

//go:wasmexport minihost_on_launch
func minihostOnLaunch(ptr, n uint32) int32 { return guest.onLaunch(uintptr(ptr), n) }

//go:wasmexport minihost_on_show
func minihostOnShow() int32 { return guest.onShow() }

//go:wasmexport minihost_on_hide
func minihostOnHide() int32 { return guest.onHide() }

//go:wasmexport minihost_on_event
func minihostOnEvent(kind, ptr, n uint32) int32 { return guest.onEvent(kind, uintptr(ptr), n) }

// The host module "wx". Pointers point into this module's memory and are
// read or written by the host during the call only.

//go:wasmimport wx log
func wxLog(level uint32, ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wx set_storage
func wxSetStorage(kptr unsafe.Pointer, klen uint32, vptr unsafe.Pointer, vlen uint32) int32

//go:wasmimport wx get_storage
func wxGetStorage(kptr unsafe.Pointer, klen uint32, buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wx remove_storage
func wxRemoveStorage(kptr unsafe.Pointer, klen uint32) int32

//go:wasmimport wx clear_storage
func wxClearStorage() int32

//go:wasmimport wx get_storage_info
func wxGetStorageInfo(buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wx show_modal
func wxShowModal(ptr unsafe.Pointer, n uint32) int32

//go:wasmimport wx get_system_info
func wxGetSystemInfo(buf unsafe.Pointer, bufCap uint32) int32

//go:wasmimport wx update_manager_register
func wxUpdateManagerRegister() int32

//go:wasmimport wx apply_update
func wxApplyUpdate() int32

//go:wasmimport wx set_timer
func wxSetTimer(delayMS uint32) int32

//go:wasmimport wx clear_timer
func wxClearTimer(id uint32) int32

//go:wasmimport wx set_data
func wxSetData(ptr unsafe.Pointer, n uint32) int32

// strPtr returns the address of s's bytes, for passing s to the host.
func strPtr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

// bufPtr returns the address of b's bytes, for passing b to the host.
func bufPtr(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }
