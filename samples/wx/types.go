package wx

import "github.com/minihost/minihost/samples/wx/abi"

// LaunchOptions is what the host tells a mini program when it starts an
// instance, the payload of minihost_on_launch: Version, Reason ("launch",
// "update" or "relaunch") and AppID. See abi.LaunchOptions.
type LaunchOptions = abi.LaunchOptions

// Modal describes a dialog for ShowModal, as wx.showModal takes it. See
// abi.Modal for the fields and their bounds.
type Modal = abi.Modal

// ModalResult is a person's answer to a modal: ID is the modal's id; at
// most one of Confirm and Cancel is true, and both are false when the
// dialog was dismissed otherwise. See abi.ModalResult.
type ModalResult = abi.ModalResult

// StorageInfo describes the mini program's storage, as GetStorageInfo
// returns it: the keys and the space used and allowed, in KiB. See
// abi.StorageInfo.
type StorageInfo = abi.StorageInfo

// SystemInfo describes the host and the running mini program, as
// GetSystemInfo returns it. See abi.SystemInfo.
type SystemInfo = abi.SystemInfo

// ViewEvent is a tap or an input on a page element bound to a handler,
// as OnView handlers receive it: Page, Handler and, for an input, Value.
// See abi.ViewEvent.
type ViewEvent = abi.ViewEvent
