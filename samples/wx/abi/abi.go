// Package abi holds the constants and payload types of minihost's guest
// ABI, version 1, as runtime/ABI.md specifies it: the host side (package
// runtime and its embedders) and the Go guest SDK (package wx) both import
// it, so neither writes a code, a kind or a JSON field by hand, and a mini
// program takes its payload types, log levels and error codes from here
// too (errors.Is(err, abi.CodeNotFound)). Byte bounds that only the host
// checks are the runtime's; the payload types' docs give their values.
// The import and export names are not here: a Go guest must spell them as
// literals in its directives, so the runtime holds them and its tests
// check the SDK's directives against them. The package lives beside the
// SDK so that the SDK stays self-contained, imports only the standard
// library and builds for GOOS=wasip1 GOARCH=wasm as well as for the host.
// Everything in it is a constant or plain data: safe for concurrent use.
package abi

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Version is the guest ABI version this package describes: what
// minihost_abi_version returns and what app.json's "abi" must say.
const Version = 1

// Code is a result of the host module's functions: a result >= 0 is
// success (0, a length or an id), a negative one is one of the codes below.
// A negative Code is an error: a host's implementation of the wx API
// returns one, wrapped or not, to give the guest that code, and the guest
// SDK's errors unwrap to one, so errors.Is(err, CodeNotFound) works on
// both sides. A Code is a plain value, safe for concurrent use.
type Code int32

// Result codes of ABI version 1.
const (
	// CodeInvalid is EINVAL: a pointer or length out of range, or
	// malformed UTF-8 or JSON.
	CodeInvalid Code = -1
	// CodeNotFound is ENOTFOUND: no such storage key.
	CodeNotFound Code = -2
	// CodeQuota is EQUOTA: the app's storage quota would be exceeded.
	CodeQuota Code = -3
	// CodeIO is EIO: the host could not read or write its storage.
	CodeIO Code = -4
	// CodeTooBig is ETOOBIG: a key, value or modal text larger than
	// allowed.
	CodeTooBig Code = -5
	// CodeDenied is EDENIED: not permitted to this guest.
	CodeDenied Code = -6
	// CodeBusy is EBUSY: too many requests outstanding or too frequent.
	CodeBusy Code = -7
	// CodeNotReady is ENOTREADY: apply_update without a ready update.
	CodeNotReady Code = -8
)

// codeTexts are the meanings and ABI names of CodeInvalid (index 0) to
// CodeNotReady.
var codeTexts = [...]string{
	"invalid argument (EINVAL)",
	"no such storage key (ENOTFOUND)",
	"storage quota exceeded (EQUOTA)",
	"host i/o error (EIO)",
	"argument too big (ETOOBIG)",
	"permission denied (EDENIED)",
	"too many requests outstanding (EBUSY)",
	"no update is ready (ENOTREADY)",
}

// Error returns the code's meaning and ABI name, such as "no such storage
// key (ENOTFOUND)" for CodeNotFound, or "error code N" for a code version
// 1 does not define (0 and lengths included). It is safe for
// concurrent use.
func (c Code) Error() string {
	if i := -int(c) - 1; i >= 0 && i < len(codeTexts) {
		return codeTexts[i]
	}
	return "error code " + strconv.Itoa(int(c))
}

// LogLevel is the level argument of the log import, a plain value safe
// for concurrent use.
type LogLevel int32

// Log levels.
const (
	LevelDebug LogLevel = 0
	LevelInfo  LogLevel = 1
	LevelWarn  LogLevel = 2
	LevelError LogLevel = 3
)

// String returns "debug", "info", "warn", "error" or, for a level the ABI
// does not define, "level(N)". It is safe for concurrent use.
func (l LogLevel) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int32(l))
}

// EventKind is the kind argument of minihost_on_event, a plain value safe
// for concurrent use. A guest ignores kinds it does not know (returns 0).
type EventKind int32

// Event kinds and their payloads.
const (
	// EventCustom carries a CustomEvent the embedder sent.
	EventCustom EventKind = 1
	// EventModal carries the ModalResult answering a show_modal.
	EventModal EventKind = 2
	// EventUpdateCheck carries an UpdateCheck, once per cold start.
	EventUpdateCheck EventKind = 3
	// EventUpdateReady has no payload: apply_update will work.
	EventUpdateReady EventKind = 4
	// EventUpdateFailed has no payload: the newer version could not be
	// prepared.
	EventUpdateFailed EventKind = 5
	// EventTimer carries the TimerEvent of a set_timer that fired. Kind
	// 6 is left for page events.
	EventTimer EventKind = 7
)

// Launch reasons, the Reason of LaunchOptions.
const (
	// ReasonLaunch is a cold start.
	ReasonLaunch = "launch"
	// ReasonUpdate follows apply_update: the host swapped in the new
	// version.
	ReasonUpdate = "update"
	// ReasonRelaunch replaces an instance that trapped or timed out.
	ReasonRelaunch = "relaunch"
)

// LaunchOptions is the payload of minihost_on_launch: what the host tells
// a mini program when it starts an instance. Values are plain data, safe
// to share when not modified.
type LaunchOptions struct {
	// Version is the running package's semantic version, e.g. "1.2.0".
	Version string `json:"version"`
	// Reason is ReasonLaunch, ReasonUpdate or ReasonRelaunch.
	Reason string `json:"reason"`
	// AppID is the app id from the package's app.json.
	AppID string `json:"appId"`
}

// Modal is the payload of show_modal: a dialog, as wx.showModal takes it.
// The host refuses, with CodeTooBig, a payload over 64 KiB of JSON or a
// text over its field's bound, in UTF-8 bytes: WeChat's own dialogs take a
// short title, a few lines of content and button texts of four
// characters. Values are plain data, safe to share when not modified.
type Modal struct {
	// Title is at most 256 bytes.
	Title string `json:"title"`
	// Content is at most 4096 bytes.
	Content string `json:"content"`
	// ShowCancel adds a cancel button beside the confirm button.
	ShowCancel bool `json:"showCancel"`
	// ConfirmText and CancelText label the buttons, at most 64 bytes
	// each; empty means the host's default labels.
	ConfirmText string `json:"confirmText,omitempty"`
	CancelText  string `json:"cancelText,omitempty"`
}

// ModalResult is the payload of EventModal: a person's answer to a modal.
// At most one of Confirm and Cancel is true; both are false when the
// dialog was dismissed otherwise. Values are plain data, safe to share
// when not modified.
type ModalResult struct {
	// ID is the modal's id, as show_modal returned it (> 0).
	ID      uint32 `json:"id"`
	Confirm bool   `json:"confirm"`
	Cancel  bool   `json:"cancel"`
}

// StorageInfo is the result of get_storage_info. Values are plain data,
// safe to share when not modified.
type StorageInfo struct {
	// Keys lists every stored key.
	Keys []string `json:"keys"`
	// CurrentSize is the space used, keys plus values, in KiB (1024
	// bytes), as in WeChat.
	CurrentSize int64 `json:"currentSize"`
	// LimitSize is the quota in KiB.
	LimitSize int64 `json:"limitSize"`
}

// SystemInfo is the result of get_system_info: the host and the running
// mini program. Values are plain data, safe to share when not modified.
type SystemInfo struct {
	// HostVersion is the host's own version.
	HostVersion string `json:"hostVersion"`
	// AppID and AppVersion name the running package.
	AppID      string `json:"appId"`
	AppVersion string `json:"appVersion"`
	// ABIVersion is the guest ABI version the host speaks (Version).
	ABIVersion int `json:"abiVersion"`
	// Platform names the host program, as WeChat's platform names its
	// client ("ios", "devtools"); the minihost host says "minihost". It
	// is not the operating system.
	Platform string `json:"platform"`
}

// CustomEvent is the payload of EventCustom: an event the embedder sends
// by name, with any JSON data (nil for none). Values are plain data, safe
// to share when not modified.
type CustomEvent struct {
	Name string          `json:"name"`
	Data json.RawMessage `json:"data,omitempty"`
}

// UpdateCheck is the payload of EventUpdateCheck. Values are plain data,
// safe to share when not modified.
type UpdateCheck struct {
	// HasUpdate says whether a version newer than the one running exists
	// for this client. The field is required: a payload where it is
	// missing or null (nil once decoded) breaks the ABI, and the guest
	// SDK refuses it.
	HasUpdate *bool `json:"hasUpdate"`
}

// TimerEvent is the payload of EventTimer: the id set_timer returned.
// Values are plain data, safe to share when not modified.
type TimerEvent struct {
	ID uint32 `json:"id"`
}
