package wx

import (
	"bytes"
	"reflect"
	"testing"
	"unsafe"

	"github.com/minihost/minihost/samples/wx/abi"
)

// deliver writes payload the way the host does, into the buffer alloc hands
// out, and returns the address and length to pass to a callback.
func deliver(t *testing.T, a *guestApp, payload string) (uintptr, uint32) {
	t.Helper()
	b := a.alloc(uint32(len(payload)))
	if len(b) < len(payload) {
		t.Fatalf("alloc(%d) returned %d bytes", len(payload), len(b))
	}
	copy(b, payload)
	return uintptr(unsafe.Pointer(unsafe.SliceData(b))), uint32(len(payload))
}

func TestAlloc(t *testing.T) {
	var a guestApp
	small := a.alloc(10)
	if len(small) != minPayloadBuf {
		t.Fatalf("alloc(10) = %d bytes, want the minimum %d", len(small), minPayloadBuf)
	}
	if again := a.alloc(minPayloadBuf); unsafe.SliceData(again) != unsafe.SliceData(small) {
		t.Error("alloc of a size that fits did not reuse the buffer")
	}
	if zero := a.alloc(0); unsafe.SliceData(zero) != unsafe.SliceData(small) {
		t.Error("alloc(0) did not reuse the buffer")
	}
	big := a.alloc(5000)
	if len(big) < 5000 {
		t.Fatalf("alloc(5000) = %d bytes", len(big))
	}
	if unsafe.SliceData(big) == unsafe.SliceData(small) {
		t.Error("alloc(5000) returned the old, too small buffer")
	}
	if b := a.alloc(maxAlloc + 1); b != nil {
		t.Errorf("alloc(maxAlloc+1) = %d bytes, want nil", len(b))
	}
	if unsafe.SliceData(a.payload) != unsafe.SliceData(big) {
		t.Error("a refused alloc released the current buffer")
	}
	var fresh guestApp
	if b := fresh.alloc(0); len(b) == 0 {
		t.Error("alloc(0) on a fresh app returned no buffer; the host needs a non-zero address")
	}
}

func TestPayloadAt(t *testing.T) {
	var a guestApp
	buf := a.alloc(100)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	size := uint32(len(buf))
	tests := []struct {
		name string
		ptr  uintptr
		n    uint32
		ok   bool
	}{
		{"whole buffer", base, size, true},
		{"inside", base + 10, 20, true},
		{"ends at the end", base + uintptr(size) - 1, 1, true},
		{"empty anywhere", 0, 0, true},
		{"before", base - 1, 4, false},
		{"past the end", base + uintptr(size) - 1, 2, false},
		{"starts after", base + uintptr(size), 1, false},
		{"huge length", base, 0xFFFFFFFF, false},
		{"null", 0, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := a.payloadAt(tt.ptr, tt.n)
			if ok != tt.ok {
				t.Fatalf("payloadAt = %t, want %t", ok, tt.ok)
			}
			if ok && len(p) != int(tt.n) {
				t.Errorf("len = %d, want %d", len(p), tt.n)
			}
			if ok && tt.n > 0 && uintptr(unsafe.Pointer(&p[0])) != tt.ptr {
				t.Error("payload does not start at ptr")
			}
		})
	}
	var none guestApp
	if _, ok := none.payloadAt(base, 1); ok {
		t.Error("payloadAt before any alloc accepted a pointer")
	}
}

func TestOnLaunch(t *testing.T) {
	var a guestApp
	var got []string
	a.launch = append(a.launch,
		func(o abi.LaunchOptions) { got = append(got, "first "+o.Version+" "+o.Reason+" "+o.AppID) },
		func(o abi.LaunchOptions) { got = append(got, "second "+o.Reason) })

	ptr, n := deliver(t, &a, `{"version":"1.2.0","reason":"update","appId":"demo.counter","future":true}`)
	if code := a.onLaunch(ptr, n); code != resultOK {
		t.Fatalf("onLaunch = %d, want 0", code)
	}
	want := []string{"first 1.2.0 update demo.counter", "second update"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("handlers saw %q, want %q", got, want)
	}

	got = nil
	ptr, n = deliver(t, &a, `{"version":`)
	if code := a.onLaunch(ptr, n); code != resultBadPayload {
		t.Errorf("onLaunch(truncated JSON) = %d, want %d", code, resultBadPayload)
	}
	if code := a.onLaunch(ptr+uintptr(len(a.payload)), 1); code != resultBadPointer {
		t.Errorf("onLaunch(outside buffer) = %d, want %d", code, resultBadPointer)
	}
	if got != nil {
		t.Errorf("handlers ran on a bad payload: %q", got)
	}
}

func TestShowHide(t *testing.T) {
	var a guestApp
	var got []string
	a.show = append(a.show, func() { got = append(got, "show1") }, func() { got = append(got, "show2") })
	a.hide = append(a.hide, func() { got = append(got, "hide") })
	if a.onShow() != resultOK || a.onHide() != resultOK || a.onShow() != resultOK {
		t.Fatal("a callback failed")
	}
	want := []string{"show1", "show2", "hide", "show1", "show2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { a.onHide() }); n != 0 {
		t.Errorf("onHide allocates %v times per call", n)
	}
}

func TestCustomEvent(t *testing.T) {
	type ev struct{ name, data string }
	tests := []struct {
		name    string
		payload string
		code    int32
		want    []ev
	}{
		{"object data", `{"name":"echo","data":{"a":[1,2]}}`, resultOK, []ev{{"echo", `{"a":[1,2]}`}}},
		{"string data", `{"name":"s","data":"x"}`, resultOK, []ev{{"s", `"x"`}}},
		{"no data", `{"name":"ping"}`, resultOK, []ev{{"ping", ""}}},
		{"not JSON", `{"name":`, resultBadPayload, nil},
		{"bad data", `{"name":"x","data":nope}`, resultBadPayload, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a guestApp
			var got []ev
			a.event = append(a.event, func(name string, data []byte) { got = append(got, ev{name, string(data)}) })
			ptr, n := deliver(t, &a, tt.payload)
			if code := a.onEvent(uint32(abi.EventCustom), ptr, n); code != tt.code {
				t.Fatalf("onEvent = %d, want %d", code, tt.code)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("handler saw %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("no handler", func(t *testing.T) {
		var a guestApp
		ptr, n := deliver(t, &a, `not even JSON`)
		if code := a.onEvent(uint32(abi.EventCustom), ptr, n); code != resultOK {
			t.Errorf("onEvent without handlers = %d, want 0", code)
		}
	})
	t.Run("bad pointer", func(t *testing.T) {
		var a guestApp
		a.event = append(a.event, func(string, []byte) { t.Error("handler ran") })
		ptr, _ := deliver(t, &a, `{"name":"x"}`)
		if code := a.onEvent(uint32(abi.EventCustom), ptr-1, 4); code != resultBadPointer {
			t.Errorf("onEvent = %d, want %d", code, resultBadPointer)
		}
	})
}

func TestModalResult(t *testing.T) {
	var a guestApp
	var got []abi.ModalResult
	a.awaitModal(7, func(r abi.ModalResult) { got = append(got, r) })
	a.awaitModal(8, nil) // nobody waits: nothing recorded
	if len(a.modals) != 1 {
		t.Fatalf("%d modals recorded, want 1", len(a.modals))
	}

	ptr, n := deliver(t, &a, `{"id":9,"confirm":true,"cancel":false}`)
	if code := a.onEvent(uint32(abi.EventModal), ptr, n); code != resultOK || got != nil {
		t.Fatalf("unknown id: code %d, callbacks %v", code, got)
	}
	ptr, n = deliver(t, &a, `{"id":7,"confirm":false,"cancel":true}`)
	if code := a.onEvent(uint32(abi.EventModal), ptr, n); code != resultOK {
		t.Fatalf("onEvent = %d", code)
	}
	if want := []abi.ModalResult{{ID: 7, Cancel: true}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("callback saw %v, want %v", got, want)
	}
	// A second answer with the same id finds nobody waiting.
	if code := a.onEvent(uint32(abi.EventModal), ptr, n); code != resultOK || len(got) != 1 {
		t.Errorf("repeated answer: code %d, %d callbacks", code, len(got))
	}
	ptr, n = deliver(t, &a, `{"id":"7"}`)
	if code := a.onEvent(uint32(abi.EventModal), ptr, n); code != resultBadPayload {
		t.Errorf("malformed answer = %d, want %d", code, resultBadPayload)
	}
}

// A timer event runs its function once; an id cleared, fired or set by an
// earlier instance finds nothing.
func TestTimerEvent(t *testing.T) {
	var a guestApp
	fired := 0
	a.timers = map[uint32]func(){3: func() { fired++ }}
	ptr, n := deliver(t, &a, `{"id":3}`)
	for range 2 {
		if code := a.onEvent(uint32(abi.EventTimer), ptr, n); code != resultOK {
			t.Fatalf("timer event: code %d", code)
		}
	}
	if fired != 1 {
		t.Errorf("timer ran %d times, want once", fired)
	}
	ptr, n = deliver(t, &a, `{"id":"3"}`)
	if code := a.onEvent(uint32(abi.EventTimer), ptr, n); code != resultBadPayload {
		t.Errorf("malformed timer event = %d, want %d", code, resultBadPayload)
	}
}

func TestViewEvent(t *testing.T) {
	tests := []struct {
		name     string
		payloads []string
		code     int32
		want     []abi.ViewEvent
	}{
		{"taps in order", []string{`{"page":"index","handler":"inc"}`, `{"page":"index","handler":"dec"}`}, resultOK,
			[]abi.ViewEvent{{Page: "index", Handler: "inc"}, {Page: "index", Handler: "dec"}}},
		{"input value", []string{`{"page":"form","handler":"name","value":"Ada"}`}, resultOK,
			[]abi.ViewEvent{{Page: "form", Handler: "name", Value: "Ada"}}},
		{"not JSON", []string{`{"page":`}, resultBadPayload, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a guestApp
			var got []abi.ViewEvent
			a.view = append(a.view, func(e abi.ViewEvent) { got = append(got, e) })
			for _, p := range tt.payloads {
				ptr, n := deliver(t, &a, p)
				if code := a.onEvent(uint32(abi.EventView), ptr, n); code != tt.code {
					t.Fatalf("onEvent(%s) = %d, want %d", p, code, tt.code)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("handler saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestUnknownKindsIgnored(t *testing.T) {
	var a guestApp
	a.event = append(a.event, func(string, []byte) { t.Error("custom handler ran") })
	ptr, n := deliver(t, &a, `{"hasUpdate":true}`)
	for _, kind := range []uint32{0, 8, 99, 1 << 31} {
		if code := a.onEvent(kind, ptr, n); code != resultOK {
			t.Errorf("kind %d: code %d, want 0", kind, code)
		}
		if code := a.onEvent(kind, 0, 0); code != resultOK {
			t.Errorf("kind %d, empty: code %d, want 0", kind, code)
		}
	}
}

func TestReadResult(t *testing.T) {
	// host returns result through the (buf, cap) protocol and counts calls.
	host := func(result []byte, calls *int) func(p []byte) int32 {
		return func(p []byte) int32 {
			*calls++
			if len(result) <= len(p) {
				copy(p, result)
			}
			return int32(len(result))
		}
	}
	t.Run("fits", func(t *testing.T) {
		var buf []byte
		calls := 0
		got, code := readResult(&buf, host([]byte("value"), &calls))
		if string(got) != "value" || code != 5 || calls != 1 {
			t.Errorf("got %q, code %d, %d calls", got, code, calls)
		}
		if len(buf) != minResultBuf {
			t.Errorf("buffer %d bytes, want %d", len(buf), minResultBuf)
		}
	})
	t.Run("grows", func(t *testing.T) {
		var buf []byte
		calls := 0
		want := bytes.Repeat([]byte("ab"), 1000)
		got, code := readResult(&buf, host(want, &calls))
		if !bytes.Equal(got, want) || code != 2000 || calls != 2 {
			t.Errorf("got %d bytes, code %d, %d calls", len(got), code, calls)
		}
		calls = 0
		if got, _ := readResult(&buf, host(want, &calls)); !bytes.Equal(got, want) || calls != 1 {
			t.Errorf("second read: %d bytes, %d calls; the grown buffer was not kept", len(got), calls)
		}
	})
	t.Run("empty", func(t *testing.T) {
		var buf []byte
		calls := 0
		got, code := readResult(&buf, host(nil, &calls))
		if len(got) != 0 || code != 0 {
			t.Errorf("got %q, code %d", got, code)
		}
	})
	t.Run("error", func(t *testing.T) {
		var buf []byte
		got, code := readResult(&buf, func([]byte) int32 { return int32(abi.CodeNotFound) })
		if got != nil || code != int32(abi.CodeNotFound) {
			t.Errorf("got %q, code %d", got, code)
		}
	})
	t.Run("keeps growing", func(t *testing.T) {
		var buf []byte
		calls := 0
		got, code := readResult(&buf, func(p []byte) int32 { calls++; return int32(len(p) + 1) })
		if got != nil || code != int32(abi.CodeIO) || calls != maxResultTries {
			t.Errorf("got %q, code %d, %d calls", got, code, calls)
		}
	})
	t.Run("no allocation once grown", func(t *testing.T) {
		buf := make([]byte, minResultBuf)
		calls := 0
		call := host([]byte("value"), &calls)
		if n := testing.AllocsPerRun(100, func() { readResult(&buf, call) }); n != 0 {
			t.Errorf("readResult allocates %v times per call", n)
		}
	})
}
