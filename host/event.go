package host

import (
	"time"

	"github.com/minihost/minihost/samples/wx/abi"
)

// Event names. The JSON stream of `minihost run --events json` prints one
// Event per line; README.md documents every name and field.
const (
	EventLaunch      = "launch"      // onLaunch delivered; Reason is launch, update or relaunch
	EventShow        = "show"        // onShow delivered
	EventHide        = "hide"        // onHide delivered
	EventLog         = "log"         // a guest log line (wx.log, stdout, stderr)
	EventModal       = "modal"       // the guest asked for a modal; ModalID and Modal
	EventModalResult = "modalResult" // the person answered; ModalID and Confirm
	EventError       = "error"       // a callback failed; Err is why (Reason its kind, Message its text)
	EventExit        = "exit"        // the app closed; Reason says why
	EventView        = "view"        // the guest set a page's data (wx.SetData); Page names it
)

// Event is one thing that happened to an app, as embedders and the CLI see
// it. Fields that do not apply to an event are zero (and omitted in JSON).
type Event struct {
	Event   string    `json:"event"`
	App     string    `json:"app"`
	Version string    `json:"version,omitempty"`
	Time    time.Time `json:"time"`
	// Reason: the launch reason, why the app exited, or the kind of an
	// EventError's Err, for people and the JSON stream: timeout, memory,
	// trap, exit, callback or host.
	Reason string `json:"reason,omitempty"`
	// Level and Stream qualify EventLog.
	Level  string `json:"level,omitempty"`
	Stream string `json:"stream,omitempty"`
	// Message is the log line or the error text.
	Message string `json:"message,omitempty"`
	// Err is an EventError's error: test it with errors.Is on runtime's
	// sentinels (runtime.ErrTimeout, ErrMemoryLimit, ErrTrap, ErrExit,
	// ErrCallback); none of them for a host failure. Not in JSON, where
	// Reason and Message carry it.
	Err error `json:"-"`
	// Callback names the guest callback an EventError came from.
	Callback string `json:"callback,omitempty"`
	// ModalID, Modal and Confirm qualify EventModal and EventModalResult.
	ModalID uint32     `json:"modalId,omitempty"`
	Modal   *abi.Modal `json:"modal,omitempty"`
	Confirm *bool      `json:"confirm,omitempty"`
	// HasUpdate qualifies EventCheckForUpdate.
	HasUpdate *bool `json:"hasUpdate,omitempty"`
	// Attempt, Bytes and Total qualify EventBlocked: the retry number and
	// the download's progress.
	Attempt int   `json:"attempt,omitempty"`
	Bytes   int64 `json:"bytes,omitempty"`
	Total   int64 `json:"total,omitempty"`
	// Page qualifies EventView.
	Page string `json:"page,omitempty"`
	// Decision qualifies EventDecision.
	Decision *Decision `json:"decision,omitempty"`
}
