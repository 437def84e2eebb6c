//go:build wasip1

package wx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/minihost/minihost/samples/wx/abi"
)

// OnLaunch adds f to the handlers run when the host starts an instance
// (reasons "launch", "update" and "relaunch"). Call it from init. It
// panics if f is nil.
func OnLaunch(f func(abi.LaunchOptions)) {
	if f == nil {
		panic("wx: OnLaunch: nil handler")
	}
	guest.launch = append(guest.launch, f)
}

// OnShow adds f to the handlers run when the mini program comes to the
// foreground. Call it from init. It panics if f is nil.
func OnShow(f func()) {
	if f == nil {
		panic("wx: OnShow: nil handler")
	}
	guest.show = append(guest.show, f)
}

// OnHide adds f to the handlers run when the mini program goes to the
// background. Call it from init. It panics if f is nil.
func OnHide(f func()) {
	if f == nil {
		panic("wx: OnHide: nil handler")
	}
	guest.hide = append(guest.hide, f)
}

// OnEvent adds f to the handlers of custom events, which the embedder sends
// by name with arbitrary JSON data (nil when the event has none). data is
// valid only while f runs; copy it to keep it. Call OnEvent from init. It
// panics if f is nil.
func OnEvent(f func(name string, data []byte)) {
	if f == nil {
		panic("wx: OnEvent: nil handler")
	}
	guest.event = append(guest.event, f)
}

var (
	// logBuf is reused by every log call, so logging does not allocate a
	// line; logBusy marks it in use, for a String method that logs.
	logBuf  []byte
	logBusy bool
)

// Logf writes one line to the host log at level (abi.LevelDebug,
// abi.LevelInfo, abi.LevelWarn or abi.LevelError), formatted as fmt.Sprintf does; a
// trailing newline is dropped and malformed UTF-8 replaced. It only logs;
// at LevelError it does not make an error. Like the rest of the package it
// is meant for handlers and the goroutines they start.
func Logf(level abi.LogLevel, format string, args ...any) {
	nested := logBusy
	var b []byte
	if !nested {
		b = logBuf[:0]
		logBusy = true
	}
	b = fmt.Appendf(b, format, args...)
	b = bytes.TrimSuffix(b, []byte("\n"))
	if !utf8.Valid(b) {
		// The host refuses malformed UTF-8; keep the line rather than lose it.
		b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	}
	wxLog(uint32(level), bufPtr(b), uint32(len(b)))
	if !nested {
		logBuf = b[:0]
		logBusy = false
	}
}

// resultBuf is the result buffer shared by the functions that read a
// result from the host; each copies what it returns.
var resultBuf []byte

// SetStorage stores value under key in the mini program's storage, which
// persists across launches, updates and host restarts. Keys are non-empty
// UTF-8 of at most 1 KiB, values at most 1 MiB, and the total is bounded
// by the host's quota (10 MiB by default): errors unwrap to abi.CodeInvalid,
// abi.CodeTooBig, abi.CodeQuota or abi.CodeIO.
func SetStorage(key, value string) error {
	return check("set_storage", wxSetStorage(strPtr(key), uint32(len(key)), strPtr(value), uint32(len(value))))
}

// GetStorage returns the value stored under key, or an error that unwraps
// to abi.CodeNotFound when there is none.
func GetStorage(key string) (string, error) {
	b, code := readResult(&resultBuf, func(p []byte) int32 {
		return wxGetStorage(strPtr(key), uint32(len(key)), bufPtr(p), uint32(len(p)))
	})
	if err := check("get_storage", code); err != nil {
		return "", err
	}
	return string(b), nil
}

// RemoveStorage deletes key; removing a missing key is not an error.
func RemoveStorage(key string) error {
	return check("remove_storage", wxRemoveStorage(strPtr(key), uint32(len(key))))
}

// ClearStorage deletes every key of the mini program.
func ClearStorage() error {
	return check("clear_storage", wxClearStorage())
}

// GetStorageInfo returns the stored keys and the space used and allowed.
func GetStorageInfo() (abi.StorageInfo, error) {
	var info abi.StorageInfo
	err := readJSON("get_storage_info", wxGetStorageInfo, &info)
	return info, err
}

// GetSystemInfo describes the host and the running mini program.
func GetSystemInfo() (abi.SystemInfo, error) {
	var info abi.SystemInfo
	err := readJSON("get_system_info", wxGetSystemInfo, &info)
	return info, err
}

// readJSON reads a JSON result from a (buf, cap) import into v.
func readJSON(op string, imp func(buf unsafe.Pointer, bufCap uint32) int32, v any) error {
	b, code := readResult(&resultBuf, func(p []byte) int32 { return imp(bufPtr(p), uint32(len(p))) })
	if err := check(op, code); err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("wx %s: decode result: %w", op, err)
	}
	return nil
}

// ShowModal asks the host to show a dialog and returns at once: the host
// never blocks on a person. success, if not nil, runs in a later callback,
// when the answer arrives. If the instance is re-created before then (after
// a trap or an update), the answer is dropped. ShowModal fails with an
// error that unwraps to abi.CodeBusy when too many dialogs are unanswered.
func ShowModal(m abi.Modal, success func(abi.ModalResult)) error {
	p, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("wx show_modal: encode modal: %w", err)
	}
	id := wxShowModal(bufPtr(p), uint32(len(p)))
	if err := check("show_modal", id); err != nil {
		return err
	}
	guest.awaitModal(uint32(id), success) // id > 0: check passed
	return nil
}
