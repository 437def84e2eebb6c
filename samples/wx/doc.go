// Package wx is the Go guest SDK for minihost: it turns a Go program built
// with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared into a mini program that
// speaks guest ABI version 1 (runtime/ABI.md), exporting the minihost_*
// callbacks and wrapping the host module "wx" (log, storage, modal, system
// info) in ordinary Go functions.
//
// # Registering handlers
//
// A mini program is a WASI reactor: the host runs package initialisation
// (_initialize) once per instance and then calls exported callbacks; main
// never runs. Register handlers in an init function:
//
//	func init() {
//		wx.OnLaunch(func(o wx.LaunchOptions) { wx.Logf("v%s up (%s)", o.Version, o.Reason) })
//		wx.OnEvent(func(name string, data []byte) { wx.Log("event", name, string(data)) })
//	}
//
//	func main() {}
//
// Each On* function adds a handler; handlers of one kind run in the order
// they were added. A handler added while a callback runs sees the next
// callback, not the current one.
//
// # Failures
//
// Handlers do not return errors, and the SDK does not recover panics: a
// panic (like any trap) ends the instance. The host logs it, discards the
// instance, and re-creates it from the compiled module before the next
// event, calling the OnLaunch handlers again with reason "relaunch". State
// kept in Go variables is lost then; state kept with SetStorage survives.
// The callbacks themselves return a non-zero code only when the host broke
// the ABI: 1 when a payload lies outside the buffer minihost_alloc handed
// out, 2 when a payload is not the JSON the ABI specifies.
//
// # Memory ownership
//
// The SDK owns every buffer the host sees. minihost_alloc hands out one
// package-level buffer, grown as needed and reserved for the host until the
// next minihost_alloc; the host writes each payload there. Payload bytes
// given to a handler (the data of OnEvent) are valid only while the
// handler runs: copy them to keep them. Functions that send data to the
// host (SetStorage, Log, ...) pass pointers to the caller's own memory for
// the duration of the call only; functions that receive data reuse one
// result buffer, retrying with a larger one when the host reports that the
// result did not fit, and return fresh copies the caller owns.
//
// # Goroutines
//
// A wasip1 module has a single thread, and Go code runs only while the host
// is inside one of the module's callbacks. Other goroutines run only while
// the current handler is blocked (on a channel, a sync.WaitGroup,
// time.Sleep, ...) or yields (runtime.Gosched): a handler may start
// goroutines and wait for them. When the handler returns, every other
// goroutine is frozen until a later callback blocks in turn; a background
// goroutine or timer therefore makes no progress between callbacks. A
// handler that waits for something no goroutine will provide either dies
// at once ("all goroutines are asleep - deadlock!") or, if some timer is
// pending, sleeps until the host's per-callback deadline ends the
// instance. Time spent waiting counts against that deadline.
//
// The functions of this package are meant to be called from handlers and
// from the goroutines they start; since only one goroutine runs at a time,
// they need no locking, but they are not safe for use from several OS
// threads (which wasip1 does not have).
//
// # Errors
//
// Functions that call the host return an *Error carrying the ABI's negative
// result code; it unwraps to one of ErrInvalid, ErrNotFound, ErrQuota,
// ErrIO, ErrTooBig, ErrDenied or ErrBusy, so callers test with errors.Is.
//
// Event kinds 3 to 5 (the update manager) are reserved by ABI version 1;
// this version of the SDK ignores them, as the ABI requires of a guest that
// does not know a kind.
package wx
