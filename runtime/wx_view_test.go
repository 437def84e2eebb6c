package runtime

import (
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/minihost/minihost/samples/wx/abi"
)

// TestSetDataChecks calls set_data directly against a two-page memory
// (memoryModule with a minimum of 2 pages, room for a payload over the
// bound), as wazero would: the host's SetData sees only payloads within
// the bounds, with a valid page name and an object for data.
func TestSetDataChecks(t *testing.T) {
	rt := wazero.NewRuntime(t.Context())
	defer rt.Close(t.Context())
	twoPages := append([]byte(nil), memoryModule...)
	twoPages[12] = 2 // the memory's minimum
	mod, err := rt.Instantiate(t.Context(), twoPages)
	if err != nil {
		t.Fatal(err)
	}
	big := `{"page":"index","data":{"s":"` + strings.Repeat("x", maxViewDataBytes) + `"}}`
	tests := []struct {
		name    string
		payload string
		n       uint64 // length passed; 0: len(payload)
		want    abi.Code
		page    string // what SetData saw; empty: not called
	}{
		{"object", `{"page":"index","data":{"count":1}}`, 0, codeOK, "index"},
		{"space before object", `{"page":"p-2","data": {"a":[1]}}`, 0, codeOK, "p-2"},
		{"array data", `{"page":"index","data":[1]}`, 0, abi.CodeInvalid, ""},
		{"no data", `{"page":"index"}`, 0, abi.CodeInvalid, ""},
		{"null data", `{"page":"index","data":null}`, 0, abi.CodeInvalid, ""},
		{"bad page", `{"page":"../x","data":{}}`, 0, abi.CodeInvalid, ""},
		{"empty page", `{"page":"","data":{}}`, 0, abi.CodeInvalid, ""},
		{"not JSON", `{"page":`, 0, abi.CodeInvalid, ""},
		{"outside memory", `{}`, 1<<17 + 1, abi.CodeInvalid, ""},
		{"too big", big, 0, abi.CodeTooBig, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.payload
			if len(p) > int(mod.Memory().Size()) {
				p = p[:mod.Memory().Size()]
			}
			if !mod.Memory().WriteString(0, p) {
				t.Fatal("write payload")
			}
			n := tt.n
			if n == 0 {
				n = uint64(len(tt.payload))
			}
			h := &fuzzAPI{}
			if got := wxSetData(h, mod, []uint64{0, n}); got != tt.want {
				t.Errorf("set_data = %v, want %v", got, tt.want)
			}
			switch {
			case tt.page == "" && len(h.views) != 0:
				t.Errorf("SetData saw %+v, want no call", h.views)
			case tt.page != "" && (len(h.views) != 1 || h.views[0].Page != tt.page):
				t.Errorf("SetData saw %+v, want page %q", h.views, tt.page)
			}
		})
	}
}
