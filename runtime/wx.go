package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ABI result codes (see ABI.md).
const (
	codeOK       = 0
	codeInvalid  = -1
	codeNotFound = -2
	codeQuota    = -3
	codeIO       = -4
	codeTooBig   = -5
	codeDenied   = -6
	codeBusy     = -7
	codeNotReady = -8
)

// maxLogBytes bounds one wx.log message; longer ones are truncated.
const maxLogBytes = DefaultMaxLogLineBytes

// Bounds of a wx.showModal call (ABI.md); past them the guest gets ETOOBIG.
// WeChat's own dialogs take a short title, a few lines of content and
// button texts of four characters.
const (
	maxModalPayloadBytes = 64 << 10 // the JSON, refused before it is parsed
	maxModalTitleBytes   = 256
	maxModalContentBytes = 4096
	maxModalButtonBytes  = 64 // confirmText and cancelText each
)

// errCode maps a HostAPI error to its ABI code.
func errCode(err error) int32 {
	switch {
	case err == nil:
		return codeOK
	case errors.Is(err, ErrNotFound):
		return codeNotFound
	case errors.Is(err, ErrQuota):
		return codeQuota
	case errors.Is(err, ErrTooBig):
		return codeTooBig
	case errors.Is(err, ErrDenied):
		return codeDenied
	case errors.Is(err, ErrBusy):
		return codeBusy
	case errors.Is(err, ErrInvalid):
		return codeInvalid
	case errors.Is(err, ErrNotReady):
		return codeNotReady
	}
	return codeIO
}

// wxFunctionNames are the imports of module wx that ABI v1 offers.
var wxFunctionNames = map[string]bool{}

type wxFunc struct {
	name    string
	params  int
	results int
	fn      func(h HostAPI, mod api.Module, stack []uint64) int32
}

var wxFuncs = []wxFunc{
	{"log", 3, 1, wxLog},
	{"set_storage", 4, 1, wxSetStorage},
	{"get_storage", 4, 1, wxGetStorage},
	{"remove_storage", 2, 1, wxRemoveStorage},
	{"clear_storage", 0, 1, func(h HostAPI, _ api.Module, _ []uint64) int32 { return errCode(h.ClearStorage()) }},
	{"get_storage_info", 2, 1, wxGetStorageInfo},
	{"show_modal", 2, 1, wxShowModal},
	{"get_system_info", 2, 1, wxGetSystemInfo},
	{"update_manager_register", 0, 1, func(h HostAPI, _ api.Module, _ []uint64) int32 { return errCode(h.RegisterUpdateManager()) }},
	{"apply_update", 0, 1, func(h HostAPI, _ api.Module, _ []uint64) int32 { return errCode(h.ApplyUpdate()) }},
}

func init() {
	for _, f := range wxFuncs {
		wxFunctionNames[f.name] = true
	}
}

// newWxModule builds the host module "wx" serving api. Functions are
// registered with WithGoModuleFunction: the reflection-based WithFunc costs
// about 9x more per call.
func newWxModule(rt wazero.Runtime, h HostAPI) wazero.HostModuleBuilder {
	b := rt.NewHostModuleBuilder("wx")
	for _, f := range wxFuncs {
		f := f
		params := make([]api.ValueType, f.params)
		for i := range params {
			params[i] = api.ValueTypeI32
		}
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, mod api.Module, stack []uint64) {
				stack[0] = uint64(uint32(f.fn(h, mod, stack)))
			}), params, []api.ValueType{api.ValueTypeI32}).
			Export(f.name)
	}
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
func writeResult(mod api.Module, buf, capacity uint64, data []byte) int32 {
	// wazero leaves the upper half of an i32 slot unspecified.
	buf, capacity = uint64(uint32(buf)), uint64(uint32(capacity))
	if uint64(len(data)) > uint64(^uint32(0)>>1) {
		return codeTooBig
	}
	// The whole buffer the guest offers must be its memory, written or not.
	if buf+capacity > uint64(mod.Memory().Size()) {
		return codeInvalid
	}
	if uint64(len(data)) > capacity {
		return int32(len(data))
	}
	if len(data) > 0 && !mod.Memory().Write(uint32(buf), data) {
		return codeInvalid
	}
	return int32(len(data))
}

func wxLog(h HostAPI, mod api.Module, s []uint64) int32 {
	level := LogLevel(int32(s[0]))
	if level < LevelDebug || level > LevelError {
		return codeInvalid
	}
	msg, ok := readString(mod, s[1], s[2])
	if !ok {
		return codeInvalid
	}
	if len(msg) > maxLogBytes {
		msg = strings.ToValidUTF8(msg[:maxLogBytes], "")
	}
	h.Log(level, StreamLog, msg)
	return codeOK
}

func wxSetStorage(h HostAPI, mod api.Module, s []uint64) int32 {
	key, ok := readString(mod, s[0], s[1])
	if !ok {
		return codeInvalid
	}
	val, ok := read(mod, s[2], s[3])
	if !ok {
		return codeInvalid
	}
	return errCode(h.SetStorage(key, append([]byte(nil), val...)))
}

func wxGetStorage(h HostAPI, mod api.Module, s []uint64) int32 {
	key, ok := readString(mod, s[0], s[1])
	if !ok {
		return codeInvalid
	}
	val, err := h.GetStorage(key)
	if err != nil {
		return errCode(err)
	}
	return writeResult(mod, s[2], s[3], val)
}

func wxRemoveStorage(h HostAPI, mod api.Module, s []uint64) int32 {
	key, ok := readString(mod, s[0], s[1])
	if !ok {
		return codeInvalid
	}
	return errCode(h.RemoveStorage(key))
}

func wxGetStorageInfo(h HostAPI, mod api.Module, s []uint64) int32 {
	info, err := h.StorageInfo()
	if err != nil {
		return errCode(err)
	}
	if info.Keys == nil {
		info.Keys = []string{}
	}
	data, err := json.Marshal(info)
	if err != nil {
		return codeIO
	}
	return writeResult(mod, s[0], s[1], data)
}

func wxShowModal(h HostAPI, mod api.Module, s []uint64) int32 {
	raw, ok := read(mod, s[0], s[1])
	if !ok {
		return codeInvalid
	}
	if len(raw) > maxModalPayloadBytes {
		return codeTooBig
	}
	var m Modal
	if err := json.Unmarshal(raw, &m); err != nil {
		return codeInvalid
	}
	if len(m.Title) > maxModalTitleBytes || len(m.Content) > maxModalContentBytes ||
		len(m.ConfirmText) > maxModalButtonBytes || len(m.CancelText) > maxModalButtonBytes {
		return codeTooBig
	}
	id, err := h.ShowModal(m)
	if err != nil {
		return errCode(err)
	}
	return int32(id & 0x7fffffff)
}

func wxGetSystemInfo(h HostAPI, mod api.Module, s []uint64) int32 {
	data, err := json.Marshal(h.SystemInfo())
	if err != nil {
		return codeIO
	}
	return writeResult(mod, s[0], s[1], data)
}
