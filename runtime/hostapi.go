package runtime

// The embedder's side of the wx ABI: HostAPI. The values it passes are
// package abi's (samples/wx/abi), shared with the guest SDK.

import "github.com/minihost/minihost/samples/wx/abi"

// Stream names where a guest line came from.
type Stream string

// Streams of guest output.
const (
	StreamLog    Stream = "log" // wx.log
	StreamStdout Stream = "stdout"
	StreamStderr Stream = "stderr"
)

// HostAPI is what the "wx" host module needs from the embedder. The runtime
// calls it from the goroutine that is calling into the guest, one call at a
// time per Sandbox; implementations shared by several Sandboxes must be
// goroutine-safe. Returning an abi.Code (abi.CodeNotFound, abi.CodeQuota,
// abi.CodeBusy...), wrapped or not, gives the guest that code; any other
// error reads EIO. No method may block on a person or call back into the
// guest.
type HostAPI interface {
	Log(level abi.LogLevel, stream Stream, msg string)
	GetStorage(key string) ([]byte, error)
	SetStorage(key string, value []byte) error
	RemoveStorage(key string) error
	ClearStorage() error
	StorageInfo() (abi.StorageInfo, error)
	ShowModal(m abi.Modal) (id uint32, err error)
	SystemInfo() abi.SystemInfo
	// RegisterUpdateManager records that the guest wants update events.
	RegisterUpdateManager() error
	// ApplyUpdate records a request to restart into the ready update; it
	// must not swap modules during the call (the guest is running).
	ApplyUpdate() error
	// SetData replaces the data of page v.Page, for the view layer to
	// render. The runtime has checked v: its size (abi.MaxViewDataBytes),
	// its page name (abi.ValidPageName) and that v.Data is a JSON object.
	SetData(v abi.ViewData) error
}
