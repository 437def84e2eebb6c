package runtime

import (
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/minihost/minihost/samples/wx/abi"
)

// wxSetTimer is set_timer (delay_ms) -> id: the host fires the timer as
// abi.EventTimer. The delay is an unsigned i32 of milliseconds, clamped to
// 2^31-1 (about 24 days) as browsers clamp setTimeout.
func wxSetTimer(h HostAPI, _ api.Module, s []uint64) abi.Code {
	ms := min(uint32(s[0]), 1<<31-1)
	id, err := h.SetTimer(time.Duration(ms) * time.Millisecond)
	if err != nil {
		return errCode(err)
	}
	if id == 0 || id > 1<<31-1 {
		return abi.CodeIO // a HostAPI bug; 0 and negatives are not ids
	}
	return abi.Code(id)
}

// wxClearTimer is clear_timer (id) -> 0.
func wxClearTimer(h HostAPI, _ api.Module, s []uint64) abi.Code {
	h.ClearTimer(uint32(s[0]))
	return codeOK
}
