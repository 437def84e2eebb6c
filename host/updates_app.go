package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/samples/wx/abi"
)

// Event names of the update mechanism.
const (
	EventDecision       = "decision"       // why this version opened: Decision
	EventCheckForUpdate = "checkForUpdate" // onCheckForUpdate delivered; HasUpdate
	EventUpdateReady    = "updateReady"    // onUpdateReady delivered (or would be: the guest did not register)
	EventUpdateFailed   = "updateFailed"   // onUpdateFailed delivered; Message says why
	EventApplyUpdate    = "applyUpdate"    // the running module was swapped; Version is the new one, Reason "from X"
	EventBlocked        = "blocked"        // nothing may open yet; Message, Attempt, Bytes/Total while downloading
	EventRollback       = "rollback"       // Version could not launch (repeatedly): marked bad; Message says why
	EventCheckFailed    = "checkFailed"    // an update check failed; Message has the error and, where known, the fix
)

// outcome of this cold start's update download.
type updOutcome int

const (
	updNone updOutcome = iota
	updReady
	updFailed
)

// updateState is one cold start's update manager state. Owned by the
// dispatcher.
type updateState struct {
	enabled    bool // updates are configured for this app (Host.Launch)
	registered bool // the current instance called update_manager_register
	check      *bool
	outcome    updOutcome
	failure    string
	// emitted*: the embedder was told; sent*: the current instance was.
	emittedCheck, emittedResult bool
	sentCheck, sentResult       bool

	ready          *prepared // compiled next version, for applyUpdate
	applyRequested bool
}

// prepared is a newer version compiled in the app's sandbox.
type prepared struct {
	ver version
	mod *runtime.Module
}

// RegisterUpdateManager and ApplyUpdate run on the dispatcher, during a
// guest callback: they only record, and queue work for after the callback.

func (p *appAPI) RegisterUpdateManager() error {
	a := p.app()
	if !a.upd.registered {
		a.upd.registered = true
		a.enqueue(func(ctx context.Context) { a.deliverUpdates(ctx) })
	}
	return nil
}

func (p *appAPI) ApplyUpdate() error {
	a := p.app()
	if a.upd.ready == nil {
		return abi.CodeNotReady
	}
	a.upd.applyRequested = true
	return nil
}

// reportCheck records the cold start's check result (from any goroutine).
func (a *App) reportCheck(hasUpdate bool) {
	a.enqueue(func(ctx context.Context) {
		if a.upd.check == nil {
			a.upd.check = &hasUpdate
		}
		a.deliverUpdates(ctx)
	})
}

// prepare compiles and test-instantiates the installed version v for
// applyUpdate, on the dispatcher (nothing else touches the sandbox), and
// reports ready, or failed when it does not compile or instantiate. It
// returns why it is not ready.
func (a *App) prepare(ctx context.Context, v string) error {
	err := a.h.ensureBaseLibrary(ctx, a.id, v)
	var ver version
	if err == nil {
		ver, err = a.h.readVersion(a.id, v)
	}
	if err != nil {
		a.reportFailed(err.Error())
		return err
	}
	var compileErr error
	err = a.do(ctx, func(ctx context.Context) error {
		mod, err := a.sb.Compile(ctx, ver.wasm)
		if err != nil {
			compileErr = fmt.Errorf("compile %s: %w", ver.v, err)
			a.setOutcome(ctx, updFailed, compileErr.Error())
			return nil
		}
		// Ready means it also instantiates: its start function and
		// _initialize run once here, under the same limits and deadline,
		// so applyUpdate never swaps to a version that cannot start.
		fsys, closeFS := packageFS(a.h.cfg.Fs, ver.dir)
		prev := a.timers.enter()
		inst, err := a.sb.Instantiate(ctx, mod, fsys)
		a.timers.abort(prev) // the trial instance's timers end with it
		if err == nil {
			err = inst.Close(ctx)
		}
		closeFS()
		if err != nil {
			mod.Close(ctx)
			compileErr = fmt.Errorf("instantiate %s: %w", ver.v, err)
			a.setOutcome(ctx, updFailed, compileErr.Error())
			return nil
		}
		if a.upd.ready != nil {
			a.upd.ready.mod.Close(ctx)
		}
		ver.wasm = nil // compiled: not kept while it waits for applyUpdate
		a.upd.ready = &prepared{ver: ver, mod: mod}
		a.setOutcome(ctx, updReady, "")
		return nil
	})
	if err != nil {
		return err
	}
	return compileErr
}

// promptRestart asks the user, through Config.UI, to restart into the
// prepared version v (the running one may no longer be used: M2, R1), and
// calls answer with the reply. Declining changes nothing.
func (a *App) promptRestart(v string, answer func(restart bool)) {
	a.enqueue(func(context.Context) {
		if a.upd.ready == nil || a.upd.ready.ver.v != v {
			return
		}
		a.emit(Event{Event: EventModal, Message: "restart to update"})
		a.uiWG.Add(1)
		go func() {
			defer a.uiWG.Done()
			a.h.cfg.UI.ShowModal(a.id, restartModal(v), answer)
		}()
	})
}

// reportFailed records that the update could not be made ready.
func (a *App) reportFailed(why string) {
	a.enqueue(func(ctx context.Context) { a.setOutcome(ctx, updFailed, why) })
}

func (a *App) setOutcome(ctx context.Context, o updOutcome, why string) {
	if a.upd.outcome == updNone {
		a.upd.outcome, a.upd.failure = o, why
	}
	a.deliverUpdates(ctx)
}

// deliverUpdates tells the embedder (once per cold start) and the guest
// (once per registered instance) what they have not been told yet, in
// order: onCheckForUpdate, then onUpdateReady or onUpdateFailed.
func (a *App) deliverUpdates(ctx context.Context) {
	u := &a.upd
	if !u.enabled || a.cur.mod == nil || u.check == nil {
		return
	}
	has := *u.check
	if !u.emittedCheck {
		u.emittedCheck = true
		a.emit(Event{Event: EventCheckForUpdate, HasUpdate: &has})
		if !has {
			a.settle(UpdateResult{})
		}
	}
	if u.outcome != updNone && !u.emittedResult {
		u.emittedResult = true
		if u.outcome == updReady {
			a.settle(UpdateResult{HasUpdate: has, Version: u.ready.ver.v})
			a.emit(Event{Event: EventUpdateReady})
		} else {
			a.settle(UpdateResult{HasUpdate: has, Err: errors.New(u.failure)})
			a.emit(Event{Event: EventUpdateFailed, Message: u.failure})
		}
	}
	if !u.registered || a.cur.inst == nil {
		return
	}
	if !u.sentCheck {
		u.sentCheck = true
		payload, _ := json.Marshal(abi.UpdateCheck{HasUpdate: &has})
		a.callGuest(ctx, "onCheckForUpdate", func(inst *runtime.Instance) error {
			return inst.OnEvent(ctx, abi.EventUpdateCheck, payload)
		}, "")
	}
	if u.outcome != updNone && !u.sentResult {
		u.sentResult = true
		kind, name := abi.EventUpdateReady, "onUpdateReady"
		if u.outcome == updFailed {
			kind, name = abi.EventUpdateFailed, "onUpdateFailed"
		}
		a.callGuest(ctx, name, func(inst *runtime.Instance) error { return inst.OnEvent(ctx, kind, nil) }, "")
	}
}

// swap replaces the running module with the ready update (applyUpdate):
// the new instance starts before the old one closes, so a failure keeps
// the old one running, fires onUpdateFailed instead and is returned.
func (a *App) swap(ctx context.Context) error {
	a.upd.applyRequested = false
	next := a.upd.ready
	if next == nil {
		return abi.CodeNotReady
	}
	fsys, closeFS := packageFS(a.h.cfg.Fs, next.ver.dir)
	prev := a.timers.enter()
	inst, err := a.sb.Instantiate(ctx, next.mod, fsys)
	if err != nil {
		a.timers.abort(prev)
		closeFS()
		a.upd.ready = nil
		next.mod.Close(ctx)
		a.upd.outcome, a.upd.sentResult, a.upd.emittedResult = updFailed, false, false
		a.upd.failure = fmt.Sprintf("instantiate %s: %v", next.ver.v, err)
		a.deliverUpdates(ctx)
		return fmt.Errorf("instantiate %s: %w", next.ver.v, err)
	}
	a.timers.commit()
	old := a.cur
	a.cur = running{ver: next.ver, mod: next.mod, inst: inst, fsys: fsys, closeFS: closeFS}
	if old.inst != nil {
		old.inst.Close(ctx)
	}
	old.mod.Close(ctx)
	if old.closeFS != nil {
		old.closeFS()
	}
	// The new instance is not a cold start: it gets no update events.
	a.upd = updateState{}
	a.setVersion(next.ver.v)
	a.emit(Event{Event: EventApplyUpdate, Reason: "from " + old.ver.v})
	if a.onSwap != nil {
		a.onSwap(next.ver.v)
	}
	a.launch(ctx, abi.ReasonUpdate)
	a.show(ctx)
	return nil
}

// requestRestart asks for the swap from outside a guest callback (the
// host's own restart prompt).
func (a *App) requestRestart() {
	a.enqueue(func(ctx context.Context) {
		if a.upd.ready != nil {
			a.swap(ctx)
		}
	})
}
