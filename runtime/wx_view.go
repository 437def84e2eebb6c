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

// maxViewDataBytes bounds one set_data payload, refused with
// abi.CodeTooBig before it is parsed (abi.ViewData's doc gives it to
// guests): a page's data is what one screen shows, not a database.
const maxViewDataBytes = 64 << 10

// wxSetData checks a set_data payload before the embedder sees it: in
// guest memory, bounded before it is parsed, a valid page name, and data
// that is a JSON object, so that a template always ranges over named
// fields.
func wxSetData(h HostAPI, mod api.Module, s []uint64) abi.Code {
	var v abi.ViewData
	if c := decodeBounded(mod, s[0], s[1], maxViewDataBytes, &v); c != codeOK {
		return c
	}
	if !abi.ValidPageName(v.Page) {
		return abi.CodeInvalid
	}
	if d := bytes.TrimLeft(v.Data, " \t\r\n"); len(d) == 0 || d[0] != '{' {
		return abi.CodeInvalid
	}
	return errCode(h.SetData(v))
}

// decodeBounded decodes the JSON argument at [ptr, ptr+n) into v: EINVAL
// outside memory or for malformed JSON, ETOOBIG past limit bytes (checked
// before parsing). v holds copies: the bytes alias guest memory.
func decodeBounded(mod api.Module, ptr, n uint64, limit int, v any) abi.Code {
	raw, ok := read(mod, ptr, n)
	switch {
	case !ok:
		return abi.CodeInvalid
	case len(raw) > limit:
		return abi.CodeTooBig
	case json.Unmarshal(raw, v) != nil:
		return abi.CodeInvalid
	}
	return codeOK
}
