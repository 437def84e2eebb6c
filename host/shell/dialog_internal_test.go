package shell

import (
	"context"
	"testing"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// TestDialogs checks the UI seam: a modal waits as a dialog until it is
// answered once; a dialog of a closed app, and one shown after Close, is
// answered cancel.
func TestDialogs(t *testing.T) {
	s, err := New(Config{Host: host.Config{Home: t.TempDir(), Runtime: runtime.Config{CacheDir: runtimetest.CacheDir(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	var answers []bool
	answer := func(confirm bool) { answers = append(answers, confirm) }
	ui := (*shellUI)(s)

	ui.ShowModal("demo.a", abi.Modal{Title: "one"}, answer)
	ui.ShowModal("demo.a", abi.Modal{Title: "two"}, answer)
	st := s.apps["demo.a"]
	if len(st.modals) != 2 {
		t.Fatalf("%d dialogs waiting, want 2", len(st.modals))
	}
	first := st.modals[0].ID
	if !s.answer("demo.a", first, true) || s.answer("demo.a", first, true) {
		t.Fatal("a dialog must be answered exactly once")
	}
	if s.answer("demo.b", st.modals[0].ID, true) {
		t.Fatal("another app answered demo.a's dialog")
	}
	s.dropDialogs(st) // as when demo.a closes
	if len(st.modals) != 0 {
		t.Fatalf("%d dialogs left after the app closed", len(st.modals))
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	ui.ShowModal("demo.a", abi.Modal{Title: "late"}, answer)
	if want := []bool{true, false, false}; len(answers) != 3 || answers[0] != want[0] || answers[1] != want[1] || answers[2] != want[2] {
		t.Fatalf("answers %v, want %v (confirmed, dropped on close, after Close)", answers, want)
	}
}
