package runtime

import (
	"errors"
	"fmt"
)

var (
	// ErrTimeout reports a callback that outlived its deadline.
	ErrTimeout = errors.New("deadline exceeded")
	// ErrMemoryLimit reports a guest that asked for memory past its cap.
	ErrMemoryLimit = errors.New("memory limit reached")
	// ErrTrap reports a guest trap: a panic, unreachable, a memory fault.
	ErrTrap = errors.New("guest trapped")
	// ErrExit reports a guest that exited (os.Exit, proc_exit).
	ErrExit = errors.New("guest exited")
	// ErrClosed reports a call into an instance, a module or a sandbox
	// that is already closed.
	ErrClosed = errors.New("instance closed")
	// ErrNotABI reports a module that does not implement guest ABI v1.
	// It also reports what the runtime refuses although WebAssembly allows
	// it: an imported table, or more entries of a kind than the runtime's
	// caps allow (mostly the WebAssembly JS API's limits, which browsers
	// enforce: 1 000 000 functions, 100 000 imports, and so on; tables
	// whose minima, or element segments whose entries, add up to more
	// than Config.MaxTableElements, or too many tables, which read "table
	// limit reached").
	ErrNotABI = errors.New("not a minihost ABI v1 module")
	// ErrMalformedWasm reports bytes that are not a WebAssembly module,
	// found before wazero reads them: no WebAssembly 1 header, a section
	// that runs past the end of the module, or a count (of entries, of
	// bytes) larger than the bytes left to hold it, which wazero would
	// allocate by. The error names the section, the entry and the count.
	// Other malformations are wazero's to report, as a compile error that
	// does not wrap ErrMalformedWasm.
	ErrMalformedWasm = errors.New("malformed wasm module")
	// ErrCallback reports a callback that returned a non-zero code.
	ErrCallback = errors.New("callback returned an error code")
)

// callError is a failed call into a guest: which app, which callback, why
// (one of the sentinels above, wrapped), and the last line the guest wrote
// to stderr, which usually names a panic. Callers branch on the sentinel
// (errors.Is); the message holds the rest.
type callError struct {
	AppID    string
	Callback string
	Err      error
	// Stderr is the guest's last stderr output before the failure, if any.
	Stderr string
}

func (e *callError) Error() string {
	msg := fmt.Sprintf("call %s of %s: %v", e.Callback, e.AppID, e.Err)
	if e.Stderr != "" {
		msg += " (guest stderr: " + e.Stderr + ")"
	}
	return msg
}

func (e *callError) Unwrap() error { return e.Err }

// compileError is a module that could not be compiled or does not
// implement the guest ABI.
type compileError struct {
	AppID string
	Err   error
}

func (e *compileError) Error() string { return fmt.Sprintf("compile %s: %v", e.AppID, e.Err) }
func (e *compileError) Unwrap() error { return e.Err }

// sentinelError gives err a sentinel of the runtime's as well as its own,
// and err's message.
type sentinelError struct {
	sentinel, err error
}

func (e *sentinelError) Error() string   { return e.err.Error() }
func (e *sentinelError) Unwrap() []error { return []error{e.sentinel, e.err} }
