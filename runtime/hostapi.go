package runtime

// The embedder's side of the wx ABI: HostAPI. The values it passes are
// package abi's (samples/wx/abi), shared with the guest SDK.

import (
	"time"

	"github.com/minihost/minihost/samples/wx/abi"
)

// The streams of guest output HostAPI.Log names.
const (
	streamLog    = "log" // wx.log
	streamStdout = "stdout"
	streamStderr = "stderr"
)

// HostAPI is what the "wx" host module needs from the embedder. The runtime
// calls it from the goroutine that is calling into the guest, one call at a
// time per Sandbox; implementations shared by several Sandboxes must be
// goroutine-safe. Returning an abi.Code (abi.CodeNotFound, abi.CodeQuota,
// abi.CodeBusy...), wrapped or not, gives the guest that code; any other
// error reads EIO. No method may block on a person or call back into the
// guest.
type HostAPI interface {
	// Log receives one line of guest output; stream says where it came
	// from: "log" (wx.log), "stdout" or "stderr".
	Log(level abi.LogLevel, stream, msg string)
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
	// SetTimer starts a one-shot timer that delivers abi.EventTimer with
	// the returned id (> 0) after delay, in a later callback, or returns
	// abi.CodeBusy when 256 are pending (runtime/ABI.md, Timers).
	SetTimer(delay time.Duration) (id uint32, err error)
	// ClearTimer cancels a pending timer; an unknown id is ignored.
	ClearTimer(id uint32)
	// SetData replaces the data of page v.Page, for the view layer to
	// render. The runtime has checked v: its size (at most 64 KiB),
	// its page name (abi.ValidPageName) and that v.Data is a JSON object.
	SetData(v abi.ViewData) error
}

// nopAPI serves a Sandbox that never runs guest code.
type nopAPI struct{}

var _ HostAPI = nopAPI{}

func (nopAPI) Log(abi.LogLevel, string, string)       {}
func (nopAPI) GetStorage(string) ([]byte, error)      { return nil, abi.CodeDenied }
func (nopAPI) SetStorage(string, []byte) error        { return abi.CodeDenied }
func (nopAPI) RemoveStorage(string) error             { return abi.CodeDenied }
func (nopAPI) ClearStorage() error                    { return abi.CodeDenied }
func (nopAPI) StorageInfo() (abi.StorageInfo, error)  { return abi.StorageInfo{}, abi.CodeDenied }
func (nopAPI) ShowModal(abi.Modal) (uint32, error)    { return 0, abi.CodeDenied }
func (nopAPI) SystemInfo() abi.SystemInfo             { return abi.SystemInfo{} }
func (nopAPI) RegisterUpdateManager() error           { return nil }
func (nopAPI) ApplyUpdate() error                     { return abi.CodeNotReady }
func (nopAPI) SetTimer(time.Duration) (uint32, error) { return 0, abi.CodeDenied }
func (nopAPI) ClearTimer(uint32)                      {}
func (nopAPI) SetData(abi.ViewData) error             { return abi.CodeDenied }
