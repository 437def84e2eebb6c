package host

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoUpdateReady is wrapped by App.ApplyUpdate when no newer version is
// ready: before onUpdateReady, after a failed update, once applied, or on
// an app launched without updates. Test with errors.Is.
var ErrNoUpdateReady = errors.New("no update is ready")

// UpdateResult is how a cold start's update ended, as App.WaitUpdate
// reports it: what onCheckForUpdate said, then onUpdateReady or
// onUpdateFailed. It is a plain value.
type UpdateResult struct {
	// HasUpdate is onCheckForUpdate's answer: a newer version is on its
	// way. When false, nothing else follows in this cold start.
	HasUpdate bool
	// Version is the version ready for App.ApplyUpdate (onUpdateReady);
	// "" when none is.
	Version string
	// Err is why the update failed (onUpdateFailed); nil when it did not.
	Err error
}

// WaitUpdate blocks until this cold start's update has an outcome (the
// check found nothing, or the newer version is ready or failed), ctx
// ends, or the app closes (ErrClosed), so a shell never sleeps to learn
// whether to offer "restart to update". Every call after the outcome
// returns it at once, also after ApplyUpdate. It wraps ErrNoUpdates for
// an app launched without updates (Host.LaunchPackage). Safe for
// concurrent use, from any goroutine but Config.OnEvent (which the
// outcome's own events are delivered on).
func (a *App) WaitUpdate(ctx context.Context) (UpdateResult, error) {
	if !a.updates {
		return UpdateResult{}, fmt.Errorf("wait for update of %s: %w", a.id, ErrNoUpdates)
	}
	select {
	case <-a.settled:
		return a.updateResult(), nil
	case <-a.done:
		select {
		case <-a.settled:
			return a.updateResult(), nil
		default:
			return UpdateResult{}, fmt.Errorf("wait for update of %s: app is %w", a.id, ErrClosed)
		}
	case <-ctx.Done():
		return UpdateResult{}, fmt.Errorf("wait for update of %s: %w", a.id, ctx.Err())
	}
}

func (a *App) updateResult() UpdateResult {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.result
}

// settle records the cold start's outcome once; on the dispatcher.
func (a *App) settle(r UpdateResult) {
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.settled:
	default:
		a.result = r
		close(a.settled)
	}
}

// ApplyUpdate swaps the running module for the version that is ready
// (onUpdateReady), as the guest's wx applyUpdate does and on the same
// path: the new instance starts (onLaunch with reason update, then
// onShow) before the old one closes, and storage is kept. It is what a
// shell's "restart to update" button calls. It wraps ErrNoUpdateReady
// when no version is ready; when the new version cannot start, the old
// one keeps running, onUpdateFailed fires and the error says why. Safe
// for concurrent use; it runs on the app's dispatcher, after the callback
// in progress.
func (a *App) ApplyUpdate(ctx context.Context) error {
	return a.do(ctx, func(ctx context.Context) error {
		if a.upd.ready == nil {
			return fmt.Errorf("apply update to %s: %w", a.id, ErrNoUpdateReady)
		}
		if err := a.swap(ctx); err != nil {
			return fmt.Errorf("apply update to %s: %w", a.id, err)
		}
		return nil
	})
}
