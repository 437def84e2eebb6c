package host

import (
	"context"
	"fmt"

	"github.com/minihost/minihost/samples/wx/abi"
)

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
	// Err is why no version is ready when HasUpdate promised one (the
	// update failed: onUpdateFailed), or why the wait ended without an
	// outcome (ctx's error, ErrClosed, errors.ErrUnsupported; HasUpdate
	// is then false). Nil when a version is ready or the check found nothing.
	Err error
}

// WaitUpdate blocks until this cold start's update has an outcome (the
// check found nothing, or the newer version is ready or failed), ctx
// ends, or the app closes, so a shell never sleeps to learn whether to
// offer "restart to update": it offers it when Version is set. A wait
// that ends without an outcome says why in Err, wrapping ctx's error,
// ErrClosed, or errors.ErrUnsupported for an app launched without
// updates (Host.LaunchPackage). Every call after the outcome returns it at once,
// also after ApplyUpdate. Safe for concurrent use, from any goroutine but
// Config.OnEvent (which the outcome's own events are delivered on).
func (a *App) WaitUpdate(ctx context.Context) UpdateResult {
	ended := func(err error) UpdateResult {
		return UpdateResult{Err: fmt.Errorf("wait for update of %s: %w", a.id, err)}
	}
	if !a.updates {
		return ended(errNoUpdates)
	}
	select {
	case <-a.settled:
		return a.updateResult()
	case <-a.done:
		select {
		case <-a.settled:
			return a.updateResult()
		default:
			return ended(fmt.Errorf("app is %w", ErrClosed))
		}
	case <-ctx.Done():
		return ended(ctx.Err())
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
// shell's "restart to update" button calls. When no version is ready
// (before onUpdateReady, after a failed update, once applied, or on an
// app launched without updates) it wraps abi.CodeNotReady, the error of
// the guest's applyUpdate then: test with errors.Is. When the new version
// cannot start, the old one keeps running, onUpdateFailed fires and the
// error says why. Safe
// for concurrent use; it runs on the app's dispatcher, after the callback
// in progress.
func (a *App) ApplyUpdate(ctx context.Context) error {
	return a.do(ctx, func(ctx context.Context) error {
		if a.upd.ready == nil {
			return fmt.Errorf("apply update to %s: %w", a.id, abi.CodeNotReady)
		}
		if err := a.swap(ctx); err != nil {
			return fmt.Errorf("apply update to %s: %w", a.id, err)
		}
		return nil
	})
}
