package runtime

// The embedder's side of the wx ABI: HostAPI and the values it passes,
// which are those of package abi (samples/wx/abi), shared with the guest
// SDK.

import "github.com/minihost/minihost/samples/wx/abi"

// LogLevel is the severity of a guest log line (abi.LogLevel).
type LogLevel = abi.LogLevel

// Log levels, as the ABI numbers them.
const (
	LevelDebug = abi.LevelDebug
	LevelInfo  = abi.LevelInfo
	LevelWarn  = abi.LevelWarn
	LevelError = abi.LevelError
)

// Stream names where a guest line came from.
type Stream string

// Streams of guest output.
const (
	StreamLog    Stream = "log" // wx.log
	StreamStdout Stream = "stdout"
	StreamStderr Stream = "stderr"
)

// Modal is the payload of wx.showModal (abi.Modal). Values are plain data.
type Modal = abi.Modal

// ModalResult answers a Modal; the host delivers it as EventModal
// (abi.ModalResult). Values are plain data.
type ModalResult = abi.ModalResult

// StorageInfo is the result of wx.getStorageInfo; sizes in KiB as in WeChat
// (abi.StorageInfo). Values are plain data.
type StorageInfo = abi.StorageInfo

// SystemInfo is the result of wx.getSystemInfo (abi.SystemInfo). Values
// are plain data.
type SystemInfo = abi.SystemInfo

// CustomEvent is the payload of EventCustom (abi.CustomEvent). Values are
// plain data.
type CustomEvent = abi.CustomEvent

// UpdateCheck is the payload of EventUpdateCheck (abi.UpdateCheck). Values
// are plain data.
type UpdateCheck = abi.UpdateCheck

// HostAPI is what the "wx" host module needs from the embedder. The runtime
// calls it from the goroutine that is calling into the guest, one call at a
// time per Sandbox; implementations shared by several Sandboxes must be
// goroutine-safe. Returning ErrNotFound, ErrQuota, ErrTooBig, ErrDenied,
// ErrBusy or ErrInvalid (wrapped or not) gives the guest that ABI code; any
// other error reads EIO. No method may block on a person or call back into
// the guest.
type HostAPI interface {
	Log(level LogLevel, stream Stream, msg string)
	GetStorage(key string) ([]byte, error)
	SetStorage(key string, value []byte) error
	RemoveStorage(key string) error
	ClearStorage() error
	StorageInfo() (StorageInfo, error)
	ShowModal(m Modal) (id uint32, err error)
	SystemInfo() SystemInfo
	// RegisterUpdateManager records that the guest wants update events.
	RegisterUpdateManager() error
	// ApplyUpdate records a request to restart into the ready update; it
	// must not swap modules during the call (the guest is running).
	ApplyUpdate() error
}
