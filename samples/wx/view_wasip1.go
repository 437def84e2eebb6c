//go:build wasip1

package wx

import (
	"encoding/json"
	"fmt"

	"github.com/minihost/minihost/samples/wx/abi"
)

// SetData sets the data page is rendered from, as a WeChat page's setData
// does, replacing what the page had: the host renders the package's
// pages/<page>.html template from it. data must encode as a JSON object
// (a struct or a map). Errors unwrap to abi.CodeInvalid (a bad page name, data
// that is not an object) or abi.CodeTooBig (over 64 KiB encoded, or more than
// 32 pages holding data).
func SetData(page string, data any) error {
	d, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("wx set_data: encode data: %w", err)
	}
	p, err := json.Marshal(abi.ViewData{Page: page, Data: d})
	if err != nil {
		return fmt.Errorf("wx set_data: encode payload: %w", err)
	}
	return check("set_data", wxSetData(bufPtr(p), uint32(len(p))))
}

// OnView adds f to the handlers of view events: a tap or an input on an
// element of a page bound to a handler name (data-tap="inc",
// data-input="name"). Events arrive in the order the person made them.
// Call OnView from init. It panics if f is nil.
func OnView(f func(abi.ViewEvent)) {
	if f == nil {
		panic("wx: OnView: nil handler")
	}
	guest.view = append(guest.view, f)
}
