package wx

import "github.com/minihost/minihost/samples/wx/abi"

// hostError is a failed call to the host module: the wx import that
// failed and the negative code it returned. It unwraps to the code, so
// errors.Is(err, abi.CodeNotFound) tests it and errors.As(err, &code)
// (a variable of type abi.Code) reads it. Values are plain data, safe to
// share when not modified.
type hostError struct {
	// op is the name of the wx import, for example "get_storage".
	op string
	// code is the negative result code, for example abi.CodeNotFound.
	code abi.Code
}

// Error returns, for example, "wx get_storage: no such storage key (ENOTFOUND)".
func (e *hostError) Error() string { return "wx " + e.op + ": " + e.code.Error() }

// Unwrap returns e.code.
func (e *hostError) Unwrap() error { return e.code }

// check turns a result code into nil (code >= 0) or a *hostError.
func check(op string, code int32) error {
	if code >= 0 {
		return nil
	}
	return &hostError{op: op, code: abi.Code(code)}
}
