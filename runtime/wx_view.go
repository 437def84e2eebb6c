package runtime

import (
	"bytes"
	"encoding/json"

	"github.com/tetratelabs/wazero/api"

	"github.com/minihost/minihost/samples/wx/abi"
)

// wxViewFuncs are the view layer's functions of module wx (ABI.md, View
// layer), kept apart from wx.go's core so that the view can grow without
// touching it.
var wxViewFuncs = []wxFunc{
	{"set_data", 2, 1, wxSetData}, // (ptr, len), abi.ViewData
}

// wxSetData checks a set_data payload before the embedder sees it: in
// guest memory, bounded before it is parsed, a valid page name, and data that is a JSON object,
// so that a template always ranges over named fields.
func wxSetData(h HostAPI, mod api.Module, s []uint64) abi.Code {
	raw, ok := read(mod, s[0], s[1])
	if !ok {
		return abi.CodeInvalid
	}
	if len(raw) > abi.MaxViewDataBytes {
		return abi.CodeTooBig
	}
	var v abi.ViewData
	if err := json.Unmarshal(raw, &v); err != nil {
		return abi.CodeInvalid
	}
	if !abi.ValidPageName(v.Page) {
		return abi.CodeInvalid
	}
	if d := bytes.TrimLeft(v.Data, " \t\r\n"); len(d) == 0 || d[0] != '{' {
		return abi.CodeInvalid
	}
	// raw aliases guest memory; Unmarshal copied Data out of it.
	return errCode(h.SetData(v))
}
