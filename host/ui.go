package host

import "github.com/minihost/minihost/samples/wx/abi"

// UI is what a desktop shell implements to show the host's dialogs. The
// host calls it from its own goroutines, possibly for several apps at once,
// so implementations must be goroutine-safe.
type UI interface {
	// ShowModal presents m for app and calls answer exactly once, from
	// any goroutine, when the person answers (confirm true for the confirm
	// button). It must return without waiting for the person: a guest's
	// callback deadline never runs while someone reads a dialog.
	ShowModal(app string, m abi.Modal, answer func(confirm bool))
}

// AutoAnswer returns a UI that answers every modal at once with confirm,
// for tests, scripts and `minihost run --yes/--no`.
func AutoAnswer(confirm bool) UI { return autoAnswer(confirm) }

type autoAnswer bool

func (a autoAnswer) ShowModal(_ string, _ abi.Modal, answer func(bool)) { answer(bool(a)) }

var _ UI = autoAnswer(false)
