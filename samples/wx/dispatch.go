package wx

import (
	"encoding/json"
	"unsafe"

	"github.com/minihost/minihost/samples/wx/abi"
)

// Codes the callbacks return when the host broke the ABI.
const (
	resultOK         int32 = 0
	resultBadPointer int32 = 1 // payload outside the minihost_alloc buffer
	resultBadPayload int32 = 2 // payload is not the JSON the ABI specifies
)

const (
	// minPayloadBuf is the smallest payload buffer minihost_alloc hands
	// out: launch options and most events fit, so the host asks once.
	minPayloadBuf = 512
	// maxAlloc bounds one minihost_alloc; larger requests get 0 rather
	// than a Go out-of-memory crash.
	maxAlloc = 1 << 30
	// minResultBuf is the first size of the result buffer.
	minResultBuf = 256
	// maxResultTries bounds the grow-and-retry loop of readResult, in case
	// a result keeps growing between calls.
	maxResultTries = 4
)

// guestApp is the guest side of the ABI, free of wasm: the registered
// handlers, the update manager, the payload buffer, and the modal callbacks
// awaiting their answer. The exported minihost_* functions forward to one package-level
// guestApp. It is not goroutine-safe; a wasip1 module runs one goroutine
// at a time.
type guestApp struct {
	launch []func(abi.LaunchOptions)
	show   []func()
	hide   []func()
	event  []func(name string, data []byte)
	view   []func(abi.ViewEvent)
	modals map[uint32]func(abi.ModalResult)
	// timers are the functions of pending timers, by set_timer's id.
	timers map[uint32]func()
	// updates is the one update manager, handed out by GetUpdateManager.
	updates UpdateManager
	// payload is the buffer minihost_alloc handed out last; len == cap.
	// Being referenced here keeps it alive and in place (Go's collector
	// does not move objects) while the host holds its address.
	payload []byte
}

// alloc implements minihost_alloc: it returns a buffer of at least size
// bytes, reusing the current one when it fits, or nil when size is
// unreasonable. The previous buffer is released.
func (a *guestApp) alloc(size uint32) []byte {
	if size > maxAlloc {
		return nil
	}
	if len(a.payload) > 0 && int(size) <= len(a.payload) {
		return a.payload
	}
	n := max(minPayloadBuf, 2*len(a.payload))
	for n < int(size) {
		n *= 2
	}
	a.payload = make([]byte, n)
	return a.payload
}

// payloadAt returns the n bytes at address ptr, which must lie inside the
// payload buffer. An empty payload may have any address.
func (a *guestApp) payloadAt(ptr uintptr, n uint32) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if len(a.payload) == 0 {
		return nil, false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(a.payload)))
	if ptr < base || uint64(ptr-base)+uint64(n) > uint64(len(a.payload)) {
		return nil, false
	}
	off := ptr - base
	return a.payload[off : off+uintptr(n) : off+uintptr(n)], true
}

// decode decodes the n-byte JSON payload at ptr into v. It returns
// resultOK, or the code to return to the host when the payload is out of
// bounds or not the JSON the ABI specifies.
func (a *guestApp) decode(ptr uintptr, n uint32, v any) int32 {
	p, ok := a.payloadAt(ptr, n)
	if !ok {
		return resultBadPointer
	}
	if err := json.Unmarshal(p, v); err != nil {
		return resultBadPayload
	}
	return resultOK
}

// decodeFor decodes the payload of an event for its handlers hs. With no
// handlers it decodes nothing: a payload that no one would read does not
// fail the event. When ok is false the caller returns code at once:
// resultOK when there are no handlers, or the code of a payload that
// breaks the ABI.
func decodeFor[T, H any](a *guestApp, ptr uintptr, n uint32, hs []H) (v T, code int32, ok bool) {
	if len(hs) == 0 {
		return v, resultOK, false
	}
	if code = a.decode(ptr, n, &v); code != resultOK {
		return v, code, false
	}
	return v, resultOK, true
}

func (a *guestApp) onLaunch(ptr uintptr, n uint32) int32 {
	var o abi.LaunchOptions
	if c := a.decode(ptr, n, &o); c != resultOK {
		return c
	}
	for _, f := range a.launch {
		f(o)
	}
	return resultOK
}

func (a *guestApp) onShow() int32 {
	for _, f := range a.show {
		f()
	}
	return resultOK
}

func (a *guestApp) onHide() int32 {
	for _, f := range a.hide {
		f()
	}
	return resultOK
}

func (a *guestApp) onEvent(kind uint32, ptr uintptr, n uint32) int32 {
	switch abi.EventKind(kind) {
	case abi.EventCustom:
		e, c, ok := decodeFor[abi.CustomEvent](a, ptr, n, a.event)
		if !ok {
			return c
		}
		for _, f := range a.event {
			f(e.Name, e.Data)
		}
	case abi.EventModal:
		var r abi.ModalResult
		if c := a.decode(ptr, n, &r); c != resultOK {
			return c
		}
		// An unknown id is an answer meant for an instance that no
		// longer exists (the host re-created it): nothing waits for it.
		f, ok := a.modals[r.ID]
		if !ok {
			return resultOK
		}
		delete(a.modals, r.ID)
		f(r)
	case abi.EventUpdateCheck:
		r, c, ok := decodeFor[abi.UpdateCheck](a, ptr, n, a.updates.check)
		if !ok {
			return c
		}
		if r.HasUpdate == nil {
			// The field is required; a missing or null one breaks the ABI.
			return resultBadPayload
		}
		for _, f := range a.updates.check {
			f(*r.HasUpdate)
		}
	case abi.EventUpdateReady:
		// The payload is empty; a future host may add fields, which this
		// version does not need.
		for _, f := range a.updates.ready {
			f()
		}
	case abi.EventUpdateFailed:
		for _, f := range a.updates.failed {
			f()
		}
	case abi.EventTimer:
		var t abi.TimerEvent
		if c := a.decode(ptr, n, &t); c != resultOK {
			return c
		}
		// Like a modal's answer, an unknown id was meant for an earlier
		// instance, or was cleared.
		if f, ok := a.timers[t.ID]; ok {
			delete(a.timers, t.ID)
			f()
		}
	case abi.EventView:
		e, c, ok := decodeFor[abi.ViewEvent](a, ptr, n, a.view)
		if !ok {
			return c
		}
		for _, f := range a.view {
			f(e)
		}
	}
	return resultOK
}

// awaitModal records success as the callback for modal id.
func (a *guestApp) awaitModal(id uint32, success func(abi.ModalResult)) {
	if success == nil {
		return
	}
	if a.modals == nil {
		a.modals = make(map[uint32]func(abi.ModalResult))
	}
	a.modals[id] = success
}

// readResult implements the ABI's grow-and-retry protocol: it calls call
// with the whole of *buf as the result buffer and, while the host reports a
// result longer than the buffer, grows *buf to that length and calls again.
// It returns the result, which aliases *buf, and the host's code (the
// length, or a negative error). *buf is kept for the next call.
func readResult(buf *[]byte, call func(p []byte) int32) ([]byte, int32) {
	if len(*buf) < minResultBuf {
		*buf = make([]byte, minResultBuf)
	}
	for range maxResultTries {
		n := call(*buf)
		switch {
		case n < 0:
			return nil, n
		case int(n) <= len(*buf):
			return (*buf)[:n], n
		}
		*buf = make([]byte, n)
	}
	return nil, int32(abi.CodeIO)
}
