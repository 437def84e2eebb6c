package wx

// UpdateManager is the mini program's update manager, wx.getUpdateManager
// of WeChat. At every cold start the host checks for a newer version of the
// mini program; the manager's handlers hear what it found (OnCheckForUpdate),
// and then, when there is a newer version, whether it is downloaded and
// ready (OnUpdateReady) or could not be prepared (OnUpdateFailed).
// ApplyUpdate restarts the mini program into the ready version.
//
// Get the one manager of the instance with GetUpdateManager; a zero
// UpdateManager made any other way never hears an event. Handlers of one
// kind run in the order they were added; a handler added while a callback
// runs sees the next event of its kind, not the current one. The host
// delivers each event once per cold start, and delivers the results it
// already has right after the callback that first called GetUpdateManager
// returns, so add the handlers in that same callback (typically init), as
// the WeChat sample does. Like the rest of the package, an UpdateManager
// is not goroutine-safe; a wasip1 module runs one goroutine at a time.
type UpdateManager struct {
	registered bool
	check      []func(hasUpdate bool)
	ready      []func()
	failed     []func()
}

// OnCheckForUpdate adds f to the handlers run when the host has checked for
// a newer version, once per cold start: hasUpdate says whether a version
// newer than the one running exists. It panics if f is nil.
func (m *UpdateManager) OnCheckForUpdate(f func(hasUpdate bool)) {
	if f == nil {
		panic("wx: OnCheckForUpdate: nil handler")
	}
	m.check = append(m.check, f)
}

// OnUpdateReady adds f to the handlers run when the newer version is
// downloaded, verified and compiled, so that ApplyUpdate will work. It
// panics if f is nil.
func (m *UpdateManager) OnUpdateReady(f func()) {
	if f == nil {
		panic("wx: OnUpdateReady: nil handler")
	}
	m.ready = append(m.ready, f)
}

// OnUpdateFailed adds f to the handlers run when the newer version could
// not be downloaded, verified, compiled or started. The running version
// goes on; a later cold start checks again. It panics if f is nil.
func (m *UpdateManager) OnUpdateFailed(f func()) {
	if f == nil {
		panic("wx: OnUpdateFailed: nil handler")
	}
	m.failed = append(m.failed, f)
}

// updateManager returns the app's update manager, calling register (which
// tells the host the guest wants update events) on the first call only.
func (a *guestApp) updateManager(register func()) *UpdateManager {
	m := &a.updates
	if !m.registered {
		m.registered = true
		register()
	}
	return m
}
