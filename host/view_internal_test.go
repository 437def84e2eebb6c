package host

import (
	"errors"
	"fmt"
	"testing"

	"github.com/minihost/minihost/samples/wx/abi"
)

// TestViewPagesBounded fills the pages an app may hold data for: the next
// new page is ETOOBIG, while a page that has data may still be replaced.
func TestViewPagesBounded(t *testing.T) {
	var s viewState
	for i := range maxViewPages {
		if err := s.set(abi.ViewData{Page: fmt.Sprint("p", i), Data: []byte(`{}`)}); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
	}
	if err := s.set(abi.ViewData{Page: "one-more", Data: []byte(`{}`)}); !errors.Is(err, abi.CodeTooBig) {
		t.Fatalf("page %d: %v, want ETOOBIG", maxViewPages+1, err)
	}
	if err := s.set(abi.ViewData{Page: "p0", Data: []byte(`{"n":1}`)}); err != nil {
		t.Fatalf("replacing p0: %v", err)
	}
	if got := string(s.data["p0"]); got != `{"n":1}` {
		t.Fatalf("p0 holds %s", got)
	}
}
