//go:build wasip1

package wx

import "github.com/minihost/minihost/samples/wx/abi"

// GetUpdateManager returns the mini program's update manager, as
// wx.getUpdateManager does. The first call tells the host that the mini
// program wants update events (the import update_manager_register); later
// calls return the same manager without calling the host. Call it from init
// or a handler, and add the manager's handlers in the same callback: the
// host delivers the results it already has right after that callback
// returns.
func GetUpdateManager() *UpdateManager {
	return guest.updateManager(func() {
		// The ABI defines no failure; a host that reports one is logged,
		// not fatal: the mini program runs on without update events.
		if err := check("update_manager_register", wxUpdateManagerRegister()); err != nil {
			Logf(abi.LevelWarn, "%v", err)
		}
	})
}

// ApplyUpdate restarts the mini program into the newer version once it is
// ready (after OnUpdateReady). It only records the request and returns nil:
// the current handler, and the callback it runs in, finish first; then the
// host discards this instance, with its Go state and unanswered modals,
// and starts the new version, whose OnLaunch handlers run with reason
// "update". Storage is kept. When no update is ready, ApplyUpdate returns
// an error that unwraps to abi.CodeNotReady.
func (m *UpdateManager) ApplyUpdate() error {
	return check("apply_update", wxApplyUpdate())
}
