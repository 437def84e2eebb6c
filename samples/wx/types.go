package wx

// LaunchOptions is what the host tells a mini program when it starts an
// instance: the payload of minihost_on_launch.
type LaunchOptions struct {
	// Version is the running package's semantic version, e.g. "1.2.0".
	Version string `json:"version"`
	// Reason is "launch" (a cold start), "update" (the host swapped in a
	// new version after an update was applied) or "relaunch" (the
	// previous instance trapped or timed out and this one replaces it).
	Reason string `json:"reason"`
	// AppID is the app id from the package's app.json.
	AppID string `json:"appId"`
}

// Modal describes a dialog for ShowModal, as wx.showModal takes it.
type Modal struct {
	Title   string `json:"title"`
	Content string `json:"content"`
	// ShowCancel adds a cancel button beside the confirm button.
	ShowCancel bool `json:"showCancel"`
	// ConfirmText and CancelText label the buttons; empty means the
	// host's default labels.
	ConfirmText string `json:"confirmText,omitempty"`
	CancelText  string `json:"cancelText,omitempty"`
}

// ModalResult is a person's answer to a modal. At most one of Confirm and
// Cancel is true; both are false when the dialog was dismissed otherwise.
type ModalResult struct {
	Confirm bool `json:"confirm"`
	Cancel  bool `json:"cancel"`
}

// StorageInfo describes the mini program's storage, as GetStorageInfo
// returns it.
type StorageInfo struct {
	// Keys lists every stored key.
	Keys []string `json:"keys"`
	// CurrentSize is the space used, keys plus values, in KB (1024 bytes),
	// as in WeChat.
	CurrentSize int `json:"currentSize"`
	// LimitSize is the quota in KB.
	LimitSize int `json:"limitSize"`
}

// SystemInfo describes the host and the running mini program.
type SystemInfo struct {
	HostVersion string `json:"hostVersion"`
	AppID       string `json:"appId"`
	AppVersion  string `json:"appVersion"`
	// Platform is the host's platform, e.g. "linux/amd64".
	Platform string `json:"platform"`
	// ABIVersion is the guest ABI version the host speaks (1).
	ABIVersion int `json:"abiVersion"`
}
