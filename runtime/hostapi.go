package runtime

// The embedder's side of the wx ABI: HostAPI and the values it passes.

import "fmt"

// LogLevel is the severity of a guest log line.
type LogLevel int32

// Log levels, as the ABI numbers them.
const (
	LevelDebug LogLevel = 0
	LevelInfo  LogLevel = 1
	LevelWarn  LogLevel = 2
	LevelError LogLevel = 3
)

func (l LogLevel) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int32(l))
}

// Stream names where a guest line came from.
type Stream string

// Streams of guest output.
const (
	StreamLog    Stream = "log" // wx.log
	StreamStdout Stream = "stdout"
	StreamStderr Stream = "stderr"
)

// Modal is the payload of wx.showModal.
type Modal struct {
	Title       string `json:"title"`
	Content     string `json:"content"`
	ShowCancel  bool   `json:"showCancel"`
	ConfirmText string `json:"confirmText,omitempty"`
	CancelText  string `json:"cancelText,omitempty"`
}

// ModalResult answers a Modal; the host delivers it as EventModal.
type ModalResult struct {
	ID      uint32 `json:"id"`
	Confirm bool   `json:"confirm"`
	Cancel  bool   `json:"cancel"`
}

// StorageInfo is the result of wx.getStorageInfo; sizes in KiB as in WeChat.
type StorageInfo struct {
	Keys        []string `json:"keys"`
	CurrentSize int64    `json:"currentSize"`
	LimitSize   int64    `json:"limitSize"`
}

// SystemInfo is the result of wx.getSystemInfo.
type SystemInfo struct {
	HostVersion string `json:"hostVersion"`
	AppID       string `json:"appId"`
	AppVersion  string `json:"appVersion"`
	ABIVersion  int    `json:"abiVersion"`
	Platform    string `json:"platform"`
}

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
