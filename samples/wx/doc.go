// Package wx is the Go guest SDK for minihost: it turns a Go program built
// with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared into a mini program that
// speaks guest ABI version 1 (runtime/ABI.md), exporting the minihost_*
// callbacks and wrapping the host module "wx" (log, storage, modal, system
// info, update manager) in ordinary Go functions. The data those functions
// take and return (LaunchOptions, Modal, ModalResult, ViewEvent, ...), the
// log levels and the error codes are package abi's, the one definition the
// host shares; a mini program imports both:
//
//	import (
//		"github.com/minihost/minihost/samples/wx"
//		"github.com/minihost/minihost/samples/wx/abi"
//	)
//
// # Registering handlers
//
// A mini program is a WASI reactor: the host runs package initialisation
// (_initialize) once per instance and then calls exported callbacks; main
// never runs. Register handlers in an init function:
//
//	func init() {
//		wx.OnLaunch(func(o abi.LaunchOptions) { wx.Logf(abi.LevelInfo, "v%s up (%s)", o.Version, o.Reason) })
//		wx.OnEvent(func(name string, data []byte) { wx.Logf(abi.LevelInfo, "event %s %s", name, data) })
//	}
//
//	func main() {}
//
// Each On* function adds a handler; handlers of one kind run in the order
// they were added. A handler added while a callback runs sees the next
// callback, not the current one.
//
// # Updates
//
// GetUpdateManager is wx.getUpdateManager of WeChat. The host checks for a
// newer version at every cold start; the update manager's handlers hear
// the answer and, when there is a newer version, whether it is ready:
//
//	func init() {
//		um := wx.GetUpdateManager()
//		um.OnCheckForUpdate(func(hasUpdate bool) { wx.Logf(abi.LevelInfo, "hasUpdate: %t", hasUpdate) })
//		um.OnUpdateReady(func() {
//			wx.ShowModal(abi.Modal{Title: "Update", Content: "Restart now?", ShowCancel: true},
//				func(r abi.ModalResult) {
//					if r.Confirm {
//						um.ApplyUpdate()
//					}
//				})
//		})
//		um.OnUpdateFailed(func() { wx.Logf(abi.LevelWarn, "update failed") })
//	}
//
// The first GetUpdateManager call registers with the host, which then
// delivers the results it already has right after the current callback
// returns, and later ones as they come: each event once per cold start,
// even to a mini program that registers late. ApplyUpdate only records the
// request; after the current callback the host replaces the instance with
// the new version, whose OnLaunch handlers run with reason "update" (not a
// cold start: it gets no update events). An instance that replaces a
// crashed one (reason "relaunch") gets the events again when it registers.
//
// # Pages
//
// A mini program may ship pages, pages/<name>.html in its package: Go
// html/template files the host renders from the data set with SetData, as
// a WeChat page renders from setData. Elements with data-tap="handler"
// (or data-input="handler" on an input) send view events back, which
// OnView handlers receive in the order the person made them:
//
//	func init() {
//		wx.OnView(func(ev abi.ViewEvent) {
//			if ev.Handler == "inc" {
//				count++
//				wx.SetData("index", map[string]int{"count": count})
//			}
//		})
//	}
//
// Pages run no script and load nothing but the package's own images
// (assets/...); runtime/ABI.md (View layer) gives the bounds.
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
// host (SetStorage, Logf, ...) pass pointers to the caller's own memory for
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
// Functions that call the host return an error carrying the ABI's negative
// result code, one of package abi's codes (abi.CodeInvalid,
// abi.CodeNotFound, abi.CodeQuota, abi.CodeIO, abi.CodeTooBig,
// abi.CodeDenied, abi.CodeBusy, abi.CodeNotReady): callers test it with
// errors.Is(err, abi.CodeNotFound), or read it with errors.As into an
// abi.Code. They are the same values a host returns to give the guest a
// code.
package wx
