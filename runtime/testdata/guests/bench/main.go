//go:build wasip1

// Command bench is the guest of the benchmarks (go test -bench in runtime,
// host and updater). It does no work of its own on launch, show or hide,
// so a launch measures the host and not the guest, and it answers custom
// events that call one wx import many times in a row, to measure the
// guest -> host -> guest round trip of a wx call:
//
//	"log"         data N: wx.Logf(abi.LevelInfo, "bench") N times
//	"get-missing" data N: wx.GetStorage("missing") N times (ENOTFOUND
//	              expected; any other answer is logged as an error)
//	"remove-raw"  data N: the wx import remove_storage("missing") N times,
//	              called directly rather than through the SDK, so that
//	              the guest's own work per call is as small as it gets
//
// N is a JSON number. Anything else is logged at level error, so a
// benchmark that reads the log can tell a bad request from a slow one.
package main

import (
	"errors"
	"strconv"
	"unsafe"

	"github.com/minihost/minihost/samples/wx"
	"github.com/minihost/minihost/samples/wx/abi"
)

func init() { wx.OnEvent(onEvent) }

func onEvent(name string, data []byte) {
	n, err := strconv.Atoi(string(data))
	if err != nil || n < 0 {
		wx.Logf(abi.LevelError, "%s: data %q is not a count", name, data)
		return
	}
	switch name {
	case "log":
		for range n {
			wx.Logf(abi.LevelInfo, "bench")
		}
	case "get-missing":
		for range n {
			if _, err := wx.GetStorage("missing"); !errors.Is(err, abi.CodeNotFound) {
				wx.Logf(abi.LevelError, "get-missing: got %v, want ENOTFOUND", err)
				return
			}
		}
	case "remove-raw":
		key := "missing"
		for range n {
			if code := rawRemoveStorage(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key))); code != 0 {
				wx.Logf(abi.LevelError, "remove-raw: code %d, want 0", code)
				return
			}
		}
	default:
		wx.Logf(abi.LevelError, "unknown event %s", name)
	}
}

// rawRemoveStorage is the wx import remove_storage (runtime/ABI.md),
// declared here as well as in the SDK so the benchmark can call it without
// the SDK's wrapper.
//
//go:wasmimport wx remove_storage
func rawRemoveStorage(kptr unsafe.Pointer, klen uint32) int32

// main never runs: the host starts the module as a reactor.
func main() {}
