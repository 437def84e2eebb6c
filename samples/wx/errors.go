package wx

import "github.com/minihost/minihost/samples/wx/abi"

// The sentinel errors, one per negative result code of ABI version 1: each
// is the abi.Code itself, so errors.Is(err, ErrNotFound) and
// errors.Is(err, abi.CodeNotFound) say the same. An *Error returned by this
// package unwraps to one of them. They are constants, safe for concurrent
// use.
const (
	// ErrInvalid is EINVAL (-1): a pointer or length out of range, or
	// malformed UTF-8 or JSON, such as an empty storage key.
	ErrInvalid = abi.CodeInvalid
	// ErrNotFound is ENOTFOUND (-2): no such storage key.
	ErrNotFound = abi.CodeNotFound
	// ErrQuota is EQUOTA (-3): the app's storage quota would be exceeded.
	ErrQuota = abi.CodeQuota
	// ErrIO is EIO (-4): the host could not read or write its storage.
	ErrIO = abi.CodeIO
	// ErrTooBig is ETOOBIG (-5): a key, value or modal text larger than
	// allowed.
	ErrTooBig = abi.CodeTooBig
	// ErrDenied is EDENIED (-6): not permitted to this mini program.
	ErrDenied = abi.CodeDenied
	// ErrBusy is EBUSY (-7): too many requests outstanding, for example
	// unanswered modals.
	ErrBusy = abi.CodeBusy
	// ErrNotReady is ENOTREADY (-8): ApplyUpdate was called while no
	// update is ready.
	ErrNotReady = abi.CodeNotReady
)

// Error is a failed call to the host module: the wx import that failed and
// the negative code it returned. It unwraps to the code, one of the
// sentinels above for a code ABI version 1 defines. Values are plain data,
// safe to share when not modified.
type Error struct {
	// Op is the name of the wx import, for example "get_storage".
	Op string
	// Code is the negative result code, for example ErrNotFound (-2).
	Code abi.Code
}

// Error returns, for example, "wx get_storage: no such storage key (ENOTFOUND)".
func (e *Error) Error() string { return "wx " + e.Op + ": " + e.Code.Error() }

// Unwrap returns e.Code.
func (e *Error) Unwrap() error { return e.Code }

// check turns a result code into nil (code >= 0) or an *Error.
func check(op string, code int32) error {
	if code >= 0 {
		return nil
	}
	return &Error{Op: op, Code: abi.Code(code)}
}
