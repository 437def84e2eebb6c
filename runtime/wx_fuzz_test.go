package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"

	"github.com/minihost/minihost/samples/wx/abi"
)

// memoryModule is the smallest module with what the wx functions touch: one
// exported memory of one 64 KiB page. The fuzz target calls the host
// functions directly against it, as wazero would on a guest's behalf.
var memoryModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
	0x05, 0x03, 0x01, 0x00, 0x01, // memory section: one memory, min 1 page
	0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00, // export "memory"
}

// fuzzAPI is a HostAPI that records what the wx functions hand it.
type fuzzAPI struct {
	value          []byte // the value stored under "k"
	logs           []string
	setKey         string
	setValue       []byte
	modals         []abi.Modal
	removed        []string
	storageErr     error // returned by SetStorage and RemoveStorage
	keys           []string
	registerCalled bool
	views          []abi.ViewData
}

var _ HostAPI = (*fuzzAPI)(nil)

func (a *fuzzAPI) Log(_ abi.LogLevel, _ string, msg string) { a.logs = append(a.logs, msg) }

func (a *fuzzAPI) GetStorage(key string) ([]byte, error) {
	if key == "k" {
		return a.value, nil
	}
	return nil, abi.CodeNotFound
}

func (a *fuzzAPI) SetStorage(key string, value []byte) error {
	a.setKey, a.setValue = key, value
	return a.storageErr
}

func (a *fuzzAPI) RemoveStorage(key string) error {
	a.removed = append(a.removed, key)
	return a.storageErr
}

func (a *fuzzAPI) ClearStorage() error { return a.storageErr }

func (a *fuzzAPI) StorageInfo() (abi.StorageInfo, error) {
	return abi.StorageInfo{Keys: a.keys, CurrentSize: int64(len(a.value)), LimitSize: 10240}, nil
}

func (a *fuzzAPI) ShowModal(m abi.Modal) (uint32, error) {
	a.modals = append(a.modals, m)
	return uint32(len(a.modals)), nil
}

func (a *fuzzAPI) SystemInfo() abi.SystemInfo {
	return abi.SystemInfo{HostVersion: "fuzz", AppID: "test.fuzz", AppVersion: "1.0.0", ABIVersion: abi.Version, Platform: "minihost"}
}

func (a *fuzzAPI) RegisterUpdateManager() error           { a.registerCalled = true; return nil }
func (a *fuzzAPI) ApplyUpdate() error                     { return abi.CodeNotReady }
func (a *fuzzAPI) SetTimer(time.Duration) (uint32, error) { return 1, nil }
func (a *fuzzAPI) ClearTimer(uint32)                      {}
func (a *fuzzAPI) SetData(v abi.ViewData) error           { a.views = append(a.views, v); return a.storageErr }

// span is a (pointer, length) argument pair: stack indexes.
type span struct{ ptr, n int }

// wxArgs says, per wx function, which argument pairs it reads from guest
// memory and which one is its result buffer (ptr = -1: none).
var wxArgs = map[string]struct {
	reads  []span
	result span
}{
	"log":                     {[]span{{1, 2}}, span{-1, -1}},
	"set_storage":             {[]span{{0, 1}, {2, 3}}, span{-1, -1}},
	"get_storage":             {[]span{{0, 1}}, span{2, 3}},
	"remove_storage":          {[]span{{0, 1}}, span{-1, -1}},
	"clear_storage":           {nil, span{-1, -1}},
	"get_storage_info":        {nil, span{0, 1}},
	"show_modal":              {[]span{{0, 1}}, span{-1, -1}},
	"get_system_info":         {nil, span{0, 1}},
	"update_manager_register": {nil, span{-1, -1}},
	"apply_update":            {nil, span{-1, -1}},
	"set_timer":               {nil, span{-1, -1}},
	"clear_timer":             {nil, span{-1, -1}},
	"set_data":                {[]span{{0, 1}}, span{-1, -1}},
}

// inRange reports whether guest memory holds [ptr, ptr+n), reading the i32
// arguments as wazero gives them (the upper half of a slot is garbage).
func inRange(ptr, n uint64, size uint32) bool {
	p, l := uint64(uint32(ptr)), uint64(uint32(n))
	return l == 0 || p+l <= uint64(size)
}

// FuzzWxHostFunctions calls every wx host function with arbitrary stack
// values (upper halves included) against a one-page memory holding
// arbitrary bytes: the host never panics, answers only ABI codes, answers
// EINVAL for any span outside memory, writes guest memory only inside the
// result buffer it was given and only what it reports, and copies
// whatever it keeps.
func FuzzWxHostFunctions(f *testing.F) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, memoryModule)
	if err != nil {
		f.Fatal(err)
	}
	mem := mod.Memory()
	size := mem.Size()

	if len(wxArgs) != len(wxFuncs) {
		f.Fatalf("wxArgs describes %d functions, the ABI has %d", len(wxArgs), len(wxFuncs))
	}
	modal := []byte(`{"title":"t","content":"c","showCancel":true}`)
	for i := range wxFuncs {
		// Valid calls: key "k" at 0, a payload at 16, a buffer at 1024.
		data := append([]byte("k\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), modal...)
		f.Add(uint8(i), uint64(0), uint64(1), uint64(1024), uint64(512), data, []byte("value"))
		f.Add(uint8(i), uint64(16), uint64(len(modal)), uint64(1024), uint64(4), data, []byte("value"))
		// Out of range, wrapping, garbage in the upper halves.
		f.Add(uint8(i), uint64(0xFFFFFFF0), uint64(0x20), uint64(size-4), uint64(8), data, []byte(nil))
		f.Add(uint8(i), uint64(1)<<40|16, uint64(0xdead)<<32|uint64(len(modal)), uint64(7)<<33|1024, uint64(1)<<63|64, data, []byte("v"))
		f.Add(uint8(i), uint64(size), uint64(0), uint64(size), uint64(0), []byte("\xff\xfe"), bytes.Repeat([]byte("x"), 600))
	}
	f.Fuzz(func(t *testing.T, which uint8, a0, a1, a2, a3 uint64, memData, value []byte) {
		fn := wxFuncs[int(which)%len(wxFuncs)]
		spec := wxArgs[fn.name]
		// Fresh memory: the fuzz bytes, then zeros.
		zero := make([]byte, size)
		copy(zero, memData)
		if !mem.Write(0, zero) {
			t.Fatal("reset memory")
		}
		before := append([]byte(nil), zero...)
		h := &fuzzAPI{value: value, keys: []string{"k", "\u00e9"}}
		stack := []uint64{a0, a1, a2, a3}

		code := fn.fn(h, mod, stack)

		if code < abi.CodeNotReady {
			t.Fatalf("%s returned %d, not an ABI code", fn.name, code)
		}
		// Any span read outside memory is EINVAL.
		for _, sp := range spec.reads {
			if !inRange(stack[sp.ptr], stack[sp.n], size) && code != abi.CodeInvalid {
				t.Fatalf("%s(%#x, %#x) read outside memory and returned %d, want EINVAL", fn.name, stack[sp.ptr], stack[sp.n], code)
			}
		}
		after, _ := mem.Read(0, size)
		// Writes happen only inside the result buffer, only when the result
		// fits, and only the reported length.
		written := span{-1, -1}
		if spec.result.ptr >= 0 && code >= 0 {
			buf, capacity := uint64(uint32(stack[spec.result.ptr])), uint64(uint32(stack[spec.result.n]))
			if buf+capacity > uint64(size) {
				t.Fatalf("%s wrote a result into a buffer [%#x, +%#x) outside memory", fn.name, buf, capacity)
			}
			if uint64(code) <= capacity {
				written = span{int(buf), int(code)}
				var want []byte
				switch fn.name {
				case "get_storage":
					want = value
				case "get_storage_info":
					info, _ := h.StorageInfo()
					want, _ = json.Marshal(info)
				case "get_system_info":
					want, _ = json.Marshal(h.SystemInfo())
				}
				if got := after[buf : buf+uint64(code)]; !bytes.Equal(got, want) {
					t.Fatalf("%s wrote %q, want %q", fn.name, got, want)
				}
			}
		}
		for i := range after {
			if after[i] != before[i] && (written.ptr < 0 || i < written.ptr || i >= written.ptr+written.n) {
				t.Fatalf("%s changed guest memory at %#x outside its result", fn.name, i)
			}
		}
		// What the host keeps is a copy of guest memory, not an alias.
		slice := func(sp span) []byte {
			p, n := uint32(stack[sp.ptr]), uint32(stack[sp.n])
			if n == 0 {
				return nil
			}
			return before[p : p+n]
		}
		scribble := bytes.Repeat([]byte{0xAA}, int(size))
		switch fn.name {
		case "set_storage":
			if code != abi.CodeInvalid {
				key, val := slice(spec.reads[0]), slice(spec.reads[1])
				if h.setKey != string(key) || !bytes.Equal(h.setValue, val) {
					t.Fatalf("set_storage stored %q=%q, guest passed %q=%q", h.setKey, h.setValue, key, val)
				}
				mem.Write(0, scribble)
				if !bytes.Equal(h.setValue, val) {
					t.Fatal("set_storage kept an alias of guest memory")
				}
			}
		case "log":
			if code == codeOK {
				msg := slice(spec.reads[0])
				if len(h.logs) != 1 || !utf8.ValidString(h.logs[0]) || !strings.HasPrefix(string(msg), h.logs[0]) ||
					len(h.logs[0]) > maxLogLineBytes {
					t.Fatalf("log passed %q for %q", h.logs, msg)
				}
				mem.Write(0, scribble)
				if !strings.HasPrefix(string(msg), h.logs[0]) {
					t.Fatal("log kept an alias of guest memory")
				}
			} else if len(h.logs) != 0 {
				t.Fatalf("log returned %d and still logged %q", code, h.logs)
			}
		case "set_data":
			if code != codeOK && code != errCode(h.storageErr) && len(h.views) != 0 {
				t.Fatalf("set_data returned %d and still set %+v", code, h.views)
			}
			if len(h.views) == 1 {
				kept := append([]byte(nil), h.views[0].Data...)
				mem.Write(0, scribble)
				if !bytes.Equal(h.views[0].Data, kept) {
					t.Fatal("set_data kept an alias of guest memory")
				}
			}
		case "show_modal":
			if code > 0 && len(h.modals) != 1 {
				t.Fatalf("show_modal returned id %d for %d modals", code, len(h.modals))
			}
			if code < 0 && len(h.modals) != 0 {
				t.Fatalf("show_modal returned %d and still showed %+v", code, h.modals)
			}
		}
	})
}
