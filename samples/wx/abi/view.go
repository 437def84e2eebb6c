package abi

import "encoding/json"

// EventView carries a ViewEvent: a tap or an input on an element of a
// page that is bound to one of the guest's handlers.
const EventView EventKind = 6

// maxPageNameBytes bounds a page or handler name (ValidPageName).
const maxPageNameBytes = 64

// ViewData is the payload of set_data: the data a page is rendered from,
// replacing what the page had. Page is a page name (letters, digits, '-'
// and '_', at most maxPageNameBytes) and Data a JSON object. The host
// refuses, with CodeTooBig, a payload over 64 KiB before it is parsed: a
// page's data is what one screen shows, not a database. Values are plain
// data, safe to share when not modified.
type ViewData struct {
	Page string          `json:"page"`
	Data json.RawMessage `json:"data"`
}

// ViewEvent is the payload of EventView: Handler is the handler name the
// element is bound to (its data-tap or data-input attribute), Value the
// input's value (empty for a tap). Values are plain data, safe to share
// when not modified.
type ViewEvent struct {
	Page    string `json:"page"`
	Handler string `json:"handler"`
	Value   string `json:"value,omitempty"`
}

// ValidPageName reports whether s may name a page: 1 to maxPageNameBytes
// ASCII letters, digits, '-' and '_', so that it is also a file name and
// a URL path segment. It is safe for concurrent use.
func ValidPageName(s string) bool {
	if s == "" || len(s) > maxPageNameBytes {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
