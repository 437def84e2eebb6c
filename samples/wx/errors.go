package wx

import (
	"errors"
	"strconv"

	"github.com/minihost/minihost/samples/wx/abi"
)

// The sentinel errors, one per negative result code of ABI version 1. An
// *Error returned by this package unwraps to one of them.
var (
	// ErrInvalid is EINVAL (-1): a pointer or length out of range, or
	// malformed UTF-8 or JSON, such as an empty storage key.
	ErrInvalid = errors.New("wx: invalid argument")
	// ErrNotFound is ENOTFOUND (-2): no such storage key.
	ErrNotFound = errors.New("wx: no such storage key")
	// ErrQuota is EQUOTA (-3): the app's storage quota would be exceeded.
	ErrQuota = errors.New("wx: storage quota exceeded")
	// ErrIO is EIO (-4): the host could not read or write its storage.
	ErrIO = errors.New("wx: host i/o error")
	// ErrTooBig is ETOOBIG (-5): a key or value larger than allowed.
	ErrTooBig = errors.New("wx: key or value too big")
	// ErrDenied is EDENIED (-6): not permitted to this mini program.
	ErrDenied = errors.New("wx: permission denied")
	// ErrBusy is EBUSY (-7): too many requests outstanding, for example
	// unanswered modals.
	ErrBusy = errors.New("wx: too many requests outstanding")
	// ErrNotReady is ENOTREADY (-8): ApplyUpdate was called while no
	// update is ready.
	ErrNotReady = errors.New("wx: no update is ready")
)

// sentinels maps each result code of ABI version 1 to its sentinel.
var sentinels = map[int32]error{
	abi.CodeInvalid:  ErrInvalid,
	abi.CodeNotFound: ErrNotFound,
	abi.CodeQuota:    ErrQuota,
	abi.CodeIO:       ErrIO,
	abi.CodeTooBig:   ErrTooBig,
	abi.CodeDenied:   ErrDenied,
	abi.CodeBusy:     ErrBusy,
	abi.CodeNotReady: ErrNotReady,
}

// Error is a failed call to the host module: the wx import that failed and
// the negative code it returned. It unwraps to the code's sentinel (nil for
// a code ABI version 1 does not define).
type Error struct {
	// Op is the name of the wx import, for example "get_storage".
	Op string
	// Code is the negative result code, for example -2 (ENOTFOUND).
	Code int32
}

// Error returns, for example, "wx get_storage: no such storage key (ENOTFOUND)".
func (e *Error) Error() string {
	if err := sentinels[e.Code]; err != nil {
		return "wx " + e.Op + ": " + err.Error()[len("wx: "):] + " (" + abi.CodeName(e.Code) + ")"
	}
	return "wx " + e.Op + ": error code " + strconv.Itoa(int(e.Code))
}

// Unwrap returns the sentinel for e.Code, or nil for an unknown code.
func (e *Error) Unwrap() error { return sentinels[e.Code] }

// check turns a result code into nil (code >= 0) or an *Error.
func check(op string, code int32) error {
	if code >= 0 {
		return nil
	}
	return &Error{Op: op, Code: code}
}
