// Package host is the mini program host: it launches code packages as
// sandboxed apps (runtime), drives their lifecycle (launch, show, hide,
// close) through one dispatcher goroutine per app, gives guests the wx API
// (log, storage, modals, system info), talks to the desktop shell through
// the UI interface, and reports everything as Events. It is the library a
// desktop shell embeds and the engine behind cmd/minihost.
package host

// Version is the host's version, reported to guests by wx.getSystemInfo.
const Version = "0.1.0"
