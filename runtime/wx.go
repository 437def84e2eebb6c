package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/minihost/minihost/samples/wx/abi"
)

// codeOK is the ABI's result 0: success without a length or an id.
const codeOK abi.Code = 0

// Bounds of a show_modal call, in UTF-8 bytes; past them the host returns
// abi.CodeTooBig (abi.Modal's doc gives them to guests). WeChat's own
// dialogs take a short title, a few lines of content and button texts of
// four characters.
const (
	// maxModalPayloadBytes bounds the JSON, refused before it is parsed.
	maxModalPayloadBytes = 64 << 10
	// maxModalTitleBytes bounds Modal.Title.
	maxModalTitleBytes = 256
	// maxModalContentBytes bounds Modal.Content.
	maxModalContentBytes = 4096
	// maxModalButtonBytes bounds Modal.ConfirmText and Modal.CancelText,
	// each.
	maxModalButtonBytes = 64
)

// errCode maps a HostAPI error to its ABI code: the abi.Code it is or
// wraps, when ABI v1 defines it, else EIO.
func errCode(err error) abi.Code {
	if err == nil {
		return codeOK
	}
	var c abi.Code
	if errors.As(err, &c) && c < codeOK && c >= abi.CodeNotReady {
		return c
	}
	return abi.CodeIO
}

// Names of ABI v1's host module and guest exports (ABI.md). A Go guest
// spells them again in its go:wasmimport and go:wasmexport directives,
// which take no constants; TestSDKDirectivesMatchRuntime checks the SDK's
// directives (samples/wx/abi_wasip1.go) against these and wxFuncs.
const (
	// hostModule is the name of the host module the guest imports.
	hostModule = "wx"

	// exportABIVersion is the guest export () -> i32 returning abi.Version.
	exportABIVersion = "minihost_abi_version"
	// exportAlloc is the guest export (size) -> ptr.
	exportAlloc = "minihost_alloc"
	// exportOnLaunch is the guest export (ptr, len) -> i32 taking
	// abi.LaunchOptions.
	exportOnLaunch = "minihost_on_launch"
	// exportOnShow is the guest export () -> i32.
	exportOnShow = "minihost_on_show"
	// exportOnHide is the guest export () -> i32.
	exportOnHide = "minihost_on_hide"
	// exportOnEvent is the guest export (kind, ptr, len) -> i32.
	exportOnEvent = "minihost_on_event"
)

// wxFunctionNames are the imports of module wx that ABI v1 offers.
var wxFunctionNames = map[string]bool{}

type wxFunc struct {
	name    string
	params  int
	results int
	fn      func(h HostAPI, mod api.Module, stack []uint64) abi.Code
}

// wxFuncs are the functions of module wx, by their ABI names, with their
// numbers of i32 params and results.
var wxFuncs = []wxFunc{
	{"log", 3, 1, wxLog},                      // (level, ptr, len)
	{"set_storage", 4, 1, wxSetStorage},       // (kptr, klen, vptr, vlen)
	{"get_storage", 4, 1, wxGetStorage},       // (kptr, klen, buf, cap)
	{"remove_storage", 2, 1, wxRemoveStorage}, // (kptr, klen)
	{"clear_storage", 0, 1, func(h HostAPI, _ api.Module, _ []uint64) abi.Code { return errCode(h.ClearStorage()) }},
	{"get_storage_info", 2, 1, wxGetStorageInfo}, // (buf, cap), abi.StorageInfo
	{"show_modal", 2, 1, wxShowModal},            // (ptr, len), abi.Modal
	{"get_system_info", 2, 1, wxGetSystemInfo},   // (buf, cap), abi.SystemInfo
	{"update_manager_register", 0, 1, func(h HostAPI, _ api.Module, _ []uint64) abi.Code { return errCode(h.RegisterUpdateManager()) }},
	{"apply_update", 0, 1, func(h HostAPI, _ api.Module, _ []uint64) abi.Code { return errCode(h.ApplyUpdate()) }},
	{"set_timer", 1, 1, wxSetTimer},     // (delay_ms)
	{"clear_timer", 1, 1, wxClearTimer}, // (id)
}

func init() {
	wxFuncs = append(wxFuncs, wxViewFuncs...) // wx_view.go
	for _, f := range wxFuncs {
		wxFunctionNames[f.name] = true
	}
}

// newWxModule builds the host module "wx" serving the HostAPI in host,
// loaded at each call: a Runtime reused from the Engine's pool serves its
// new Sandbox's HostAPI (pool.go). Functions are registered with
// WithGoModuleFunction: the reflection-based WithFunc costs about 9x more
// per call.
func newWxModule(rt wazero.Runtime, host *atomic.Pointer[limitedAPI]) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder(hostModule)
	for _, f := range wxFuncs {
		f := f
		params := make([]api.ValueType, f.params)
		for i := range params {
			params[i] = api.ValueTypeI32
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, mod api.Module, stack []uint64) {
				stack[0] = uint64(uint32(f.fn(host.Load(), mod, stack)))
			}), params, []api.ValueType{api.ValueTypeI32}).
			Export(f.name)
	}
	exportInterrupt(b)
	return b
}

// read returns guest memory [ptr, ptr+n) or false when it is out of range.
// The slice aliases guest memory: copy what outlives the call.
func read(mod api.Module, ptr, n uint64) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	return mod.Memory().Read(uint32(ptr), uint32(n))
}

func readString(mod api.Module, ptr, n uint64) (string, bool) {
	b, ok := read(mod, ptr, n)
	if !ok || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

// writeResult implements the (buf, cap) result protocol: it returns the
// full length and writes only when it fits.
func writeResult(mod api.Module, buf, capacity uint64, data []byte) abi.Code {
	// wazero leaves the upper half of an i32 slot unspecified.
	buf, capacity = uint64(uint32(buf)), uint64(uint32(capacity))
	if uint64(len(data)) > uint64(^uint32(0)>>1) {
		return abi.CodeTooBig
	}
	// The whole buffer the guest offers must be its memory, written or not.
	if buf+capacity > uint64(mod.Memory().Size()) {
		return abi.CodeInvalid
	}
	if uint64(len(data)) > capacity {
		return abi.Code(len(data))
	}
	if len(data) > 0 && !mod.Memory().Write(uint32(buf), data) {
		return abi.CodeInvalid
	}
	return abi.Code(len(data))
}

func wxLog(h HostAPI, mod api.Module, s []uint64) abi.Code {
	level := abi.LogLevel(int32(s[0]))
	if level < abi.LevelDebug || level > abi.LevelError {
		return abi.CodeInvalid
	}
	msg, ok := readString(mod, s[1], s[2])
	if !ok {
		return abi.CodeInvalid
	}
	if len(msg) > maxLogLineBytes {
		msg = strings.ToValidUTF8(msg[:maxLogLineBytes], "")
	}
	h.Log(level, streamLog, msg)
	return codeOK
}

func wxSetStorage(h HostAPI, mod api.Module, s []uint64) abi.Code {
	key, ok := readString(mod, s[0], s[1])
	if !ok {
		return abi.CodeInvalid
	}
	val, ok := read(mod, s[2], s[3])
	if !ok {
		return abi.CodeInvalid
	}
	return errCode(h.SetStorage(key, append([]byte(nil), val...)))
}

func wxGetStorage(h HostAPI, mod api.Module, s []uint64) abi.Code {
	key, ok := readString(mod, s[0], s[1])
	if !ok {
		return abi.CodeInvalid
	}
	val, err := h.GetStorage(key)
	if err != nil {
		return errCode(err)
	}
	return writeResult(mod, s[2], s[3], val)
}

func wxRemoveStorage(h HostAPI, mod api.Module, s []uint64) abi.Code {
	key, ok := readString(mod, s[0], s[1])
	if !ok {
		return abi.CodeInvalid
	}
	return errCode(h.RemoveStorage(key))
}

func wxGetStorageInfo(h HostAPI, mod api.Module, s []uint64) abi.Code {
	info, err := h.StorageInfo()
	if err != nil {
		return errCode(err)
	}
	if info.Keys == nil {
		info.Keys = []string{}
	}
	data, err := json.Marshal(info)
	if err != nil {
		return abi.CodeIO
	}
	return writeResult(mod, s[0], s[1], data)
}

func wxShowModal(h HostAPI, mod api.Module, s []uint64) abi.Code {
	raw, ok := read(mod, s[0], s[1])
	if !ok {
		return abi.CodeInvalid
	}
	if len(raw) > maxModalPayloadBytes {
		return abi.CodeTooBig
	}
	var m abi.Modal
	if err := json.Unmarshal(raw, &m); err != nil {
		return abi.CodeInvalid
	}
	if len(m.Title) > maxModalTitleBytes || len(m.Content) > maxModalContentBytes ||
		len(m.ConfirmText) > maxModalButtonBytes || len(m.CancelText) > maxModalButtonBytes {
		return abi.CodeTooBig
	}
	id, err := h.ShowModal(m)
	if err != nil {
		return errCode(err)
	}
	return abi.Code(id & 0x7fffffff)
}

func wxGetSystemInfo(h HostAPI, mod api.Module, s []uint64) abi.Code {
	data, err := json.Marshal(h.SystemInfo())
	if err != nil {
		return abi.CodeIO
	}
	return writeResult(mod, s[0], s[1], data)
}
