package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/host/internal/storage"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/samples/wx/abi"
)

// ErrClosed is wrapped by calls on an App or a Host that is closed (after
// Close, or an app whose host closed it); test with errors.Is. It is a
// read-only value, safe for concurrent use.
var ErrClosed = errors.New("closed")

// version is one version of an app's code, ready to compile.
type version struct {
	v    string
	dir  string // extracted package folder
	wasm []byte // the entry module, until it is compiled
}

// running is the code the dispatcher is running now.
type running struct {
	ver     version
	closeFS func() // releases fsys
	mod     *runtime.Module
	inst    *runtime.Instance // nil after a failure until the next event
	fsys    fs.FS
}

// task is a unit of work for the dispatcher.
type task func(ctx context.Context)

// App is one running mini program. Every call into the guest (lifecycle,
// events, modal answers) goes through the app's dispatcher goroutine, in
// order. Methods are safe for concurrent use; Close stops the dispatcher
// and must not be called from Config.OnEvent.
type App struct {
	h     *Host
	id    string
	sb    *runtime.Sandbox // set before the dispatcher starts; never changes
	store *storage.Store

	cur     running     // owned by the dispatcher
	upd     updateState // owned by the dispatcher
	timers  timerSet    // owned by the dispatcher
	stopped bool        // owned by the dispatcher: shutdown ran
	// hidden is owned by the dispatcher: the app is in the background (of
	// onShow and onHide, onHide came last). The host delivers each only
	// on a change, as WeChat does: a second Show or Hide in a row, or
	// Close of a hidden app, calls no callback.
	hidden bool
	view   viewState // owned by the dispatcher: pages' data (view.go)
	onSwap func(version string)

	decision  *Decision // set once by Host.Launch before the app is shared
	updates   bool      // launched with updates: set once, like decision
	launchErr error     // the cold start's onLaunch failure, set by start

	ctx    context.Context // cancelled to abort a call in progress on Close
	cancel context.CancelFunc
	done   chan struct{}
	uiWG   sync.WaitGroup

	// The app's background work (its cold start's update check and what
	// follows it): Close cancels workCtx and waits for work.
	work       sync.WaitGroup
	workCtx    context.Context
	workCancel context.CancelFunc

	mu         sync.Mutex
	queue      []task
	wake       chan struct{}
	closing    bool
	version    string
	modalSeq   uint32
	openModals int
	result     UpdateResult  // the cold start's update outcome, once settled
	settled    chan struct{} // closed when result is set (settle)
}

func (h *Host) newApp(ctx context.Context, appID string) (*App, error) {
	st, err := storage.Open(storage.Config{
		Fs:    h.cfg.Fs,
		Dir:   filepath.Join(h.cfg.Home, "storage", appID),
		Quota: h.cfg.StorageQuota,
	})
	if err != nil {
		return nil, fmt.Errorf("launch %s: open storage: %w", appID, err)
	}
	a := &App{h: h, id: appID, store: st, wake: make(chan struct{}, 1), done: make(chan struct{}), settled: make(chan struct{})}
	a.ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.workCtx, a.workCancel = context.WithCancel(h.bgCtx)
	sb, err := h.engine.NewSandbox(ctx, appID, (*appAPI)(a))
	if err != nil {
		a.workCancel()
		a.cancel()
		return nil, fmt.Errorf("launch %s: %w", appID, err)
	}
	a.sb = sb
	if err := h.track(a); err != nil {
		a.workCancel()
		a.cancel()
		sb.Close(ctx)
		return nil, fmt.Errorf("launch %s: %w", appID, err)
	}
	go a.dispatch()
	return a, nil
}

// ID returns the app id.
func (a *App) ID() string { return a.id }

// Version returns the version running now.
func (a *App) Version() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.version
}

// Done is closed when the app has closed.
func (a *App) Done() <-chan struct{} { return a.done }

// Show brings the app to the foreground (onShow, EventShow). An app in
// the foreground already (as after its launch) gets nothing: onShow and
// onHide alternate, as in WeChat. A failing onShow still leaves the app
// in the foreground; the error is returned and reported as EventError.
func (a *App) Show(ctx context.Context) error {
	return a.do(ctx, func(ctx context.Context) error { return a.setHidden(ctx, false) })
}

// Hide sends the app to the background (onHide, EventHide). A hidden app
// gets nothing, and Close then delivers no second onHide.
func (a *App) Hide(ctx context.Context) error {
	return a.do(ctx, func(ctx context.Context) error { return a.setHidden(ctx, true) })
}

// setHidden runs on the dispatcher: it delivers onHide or onShow when the
// app changes state, and nothing when it is in that state already.
func (a *App) setHidden(ctx context.Context, hidden bool) error {
	if a.hidden == hidden {
		if a.cur.mod == nil {
			return fmt.Errorf("%s: app is %w", a.id, ErrClosed)
		}
		return nil
	}
	a.hidden = hidden
	if hidden {
		return a.callGuest(ctx, "onHide", func(inst *runtime.Instance) error { return inst.OnHide(ctx) }, EventHide)
	}
	return a.show(ctx)
}

// show delivers onShow: Show, and every start of a version (a launch, an
// applied update), which brings the app to the foreground.
func (a *App) show(ctx context.Context) error {
	a.hidden = false
	return a.callGuest(ctx, "onShow", func(inst *runtime.Instance) error { return inst.OnShow(ctx) }, EventShow)
}

// Emit delivers a custom event to the guest's OnEvent handler. data must be
// JSON (nil for none).
func (a *App) Emit(ctx context.Context, name string, data json.RawMessage) error {
	if data != nil && !json.Valid(data) {
		return fmt.Errorf("emit %s to %s: data is not valid JSON", name, a.id)
	}
	payload, err := json.Marshal(abi.CustomEvent{Name: name, Data: data})
	if err != nil {
		return fmt.Errorf("emit %s to %s: %w", name, a.id, err)
	}
	return a.do(ctx, func(ctx context.Context) error {
		return a.callGuest(ctx, "onEvent", func(inst *runtime.Instance) error {
			return inst.OnEvent(ctx, abi.EventCustom, payload)
		}, "")
	})
}

// Close hides the app (unless it is hidden), closes its instance and
// sandbox and emits EventExit.
// It waits for the callback in progress; when ctx ends first, that callback
// is aborted.
func (a *App) Close(ctx context.Context) error {
	a.mu.Lock()
	already := a.closing
	a.closing = true
	if !already {
		a.queue = append(a.queue, a.shutdown)
		a.signal()
	}
	a.mu.Unlock()
	a.workCancel()
	select {
	case <-a.done:
	case <-ctx.Done():
		a.cancel()
		<-a.done
	}
	a.work.Wait()
	a.uiWG.Wait()
	return nil
}

// goWork runs fn on a goroutine the app owns, under a context that Close
// (or the host's Close) cancels; Close waits for it. It does nothing once
// the app is closing.
func (a *App) goWork(fn func(ctx context.Context)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return
	}
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		fn(a.workCtx)
	}()
}

func (a *App) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// enqueue adds t to the queue; false when the app is closing.
func (a *App) enqueue(t task) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closing {
		return false
	}
	a.queue = append(a.queue, t)
	a.signal()
	return true
}

// do runs fn on the dispatcher and waits for its result.
func (a *App) do(ctx context.Context, fn func(ctx context.Context) error) error {
	res := make(chan error, 1)
	if !a.enqueue(func(ctx context.Context) { res <- fn(ctx) }) {
		return fmt.Errorf("%s: app is %w", a.id, ErrClosed)
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-a.done:
		select {
		case err := <-res:
			return err
		default:
			return fmt.Errorf("%s: app is %w", a.id, ErrClosed)
		}
	}
}

func (a *App) dispatch() {
	defer close(a.done)
	for {
		a.mu.Lock()
		if len(a.queue) == 0 {
			a.mu.Unlock()
			select {
			case <-a.wake:
				continue
			case <-a.ctx.Done():
				// Aborted: shutdown skips onHide under the ended context.
				a.shutdown(a.ctx)
				return
			}
		}
		t := a.queue[0]
		a.queue[0] = nil
		a.queue = a.queue[1:]
		a.mu.Unlock()
		t(a.ctx)
		if a.stopped {
			return
		}
		if a.upd.applyRequested {
			a.swap(a.ctx)
		}
	}
}

// start compiles ver, instantiates it and delivers onLaunch and onShow.
func (a *App) start(ctx context.Context, ver version, reason string) error {
	return a.do(ctx, func(ctx context.Context) error {
		mod, err := a.sb.Compile(ctx, ver.wasm)
		if err != nil {
			return &startError{stage: "compile", err: fmt.Errorf("launch %s %s: %w", a.id, ver.v, err)}
		}
		ver.wasm = nil // compiled: the module's bytes (MBs) are not kept while it runs
		mount, closeFS := packageFS(a.h.cfg.Fs, ver.dir)
		a.cur = running{ver: ver, mod: mod, fsys: mount, closeFS: closeFS}
		a.setVersion(ver.v)
		a.timers.enter()
		inst, err := a.sb.Instantiate(ctx, mod, a.cur.fsys)
		if err != nil {
			mod.Close(ctx)
			closeFS()
			a.cur = running{}
			return &startError{stage: "instantiate", err: fmt.Errorf("launch %s %s: %w", a.id, ver.v, err)}
		}
		a.cur.inst = inst
		a.launchErr = a.launch(ctx, reason)
		a.show(ctx)
		return nil
	})
}

// startError is a cold start that failed before onLaunch: the module did
// not compile, or did not instantiate (its start function or _initialize
// trapped, exited or ran out of time).
type startError struct {
	stage string // "compile" or "instantiate"
	err   error
}

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// deterministic reports whether the same bytes would fail the same way
// again: a compile failure, or a start function or _initialize that trapped
// or exited; not a timeout, a cancelled context or a closed sandbox.
func (e *startError) deterministic() bool {
	switch {
	case errors.Is(e.err, runtime.ErrTimeout), errors.Is(e.err, runtime.ErrClosed),
		errors.Is(e.err, context.Canceled), errors.Is(e.err, context.DeadlineExceeded):
		return false
	case e.stage == "compile":
		return true
	}
	return errors.Is(e.err, runtime.ErrTrap) || errors.Is(e.err, runtime.ErrExit) ||
		errors.Is(e.err, runtime.ErrMemoryLimit) || errors.Is(e.err, runtime.ErrNotABI)
}

// launch delivers onLaunch to the current instance.
func (a *App) launch(ctx context.Context, reason string) error {
	err := a.cur.inst.OnLaunch(ctx, abi.LaunchOptions{Version: a.cur.ver.v, Reason: reason, AppID: a.id})
	if err != nil {
		a.guestFailed("onLaunch", err)
		return err
	}
	a.emit(Event{Event: EventLaunch, Reason: reason})
	return nil
}

// callGuest runs call on a usable instance, re-creating one (with onLaunch
// reason relaunch) if the last one failed, reports failures as EventError,
// and emits okEvent on success.
func (a *App) callGuest(ctx context.Context, name string, call func(*runtime.Instance) error, okEvent string) error {
	if a.cur.mod == nil {
		return fmt.Errorf("%s: app is %w", a.id, ErrClosed)
	}
	if a.cur.inst == nil {
		// A fresh instance must register again and is told again.
		a.upd.registered, a.upd.sentCheck, a.upd.sentResult = false, false, false
		a.timers.enter()
		inst, err := a.sb.Instantiate(ctx, a.cur.mod, a.cur.fsys)
		a.timers.commit() // the failed instance's timers end with it
		if err != nil {
			a.guestFailed("instantiate", err)
			return err
		}
		a.cur.inst = inst
		a.launch(ctx, abi.ReasonRelaunch)
		if a.cur.inst == nil {
			return fmt.Errorf("relaunch %s: onLaunch failed", a.id)
		}
	}
	if err := call(a.cur.inst); err != nil {
		a.guestFailed(name, err)
		return err
	}
	if okEvent != "" {
		a.emit(Event{Event: okEvent})
	}
	return nil
}

// guestFailed reports err and discards the instance if it is broken.
func (a *App) guestFailed(callback string, err error) {
	a.emit(Event{Event: EventError, Callback: callback, Reason: errorReason(err), Message: err.Error(), Err: err})
	if a.cur.inst != nil && a.cur.inst.Err() != nil {
		a.cur.inst.Close(context.Background())
		a.cur.inst = nil
	}
}

// errorReason is EventError's Reason: the kind of err, for people and
// the JSON stream (README.md, Events); Go code tests Event.Err with
// errors.Is on runtime's sentinels instead.
func errorReason(err error) string {
	switch {
	case errors.Is(err, runtime.ErrTimeout):
		return "timeout"
	case errors.Is(err, runtime.ErrMemoryLimit):
		return "memory"
	case errors.Is(err, runtime.ErrExit):
		return "exit"
	case errors.Is(err, runtime.ErrCallback):
		return "callback"
	case errors.Is(err, runtime.ErrTrap):
		return "trap"
	}
	return "host"
}

// crashed reports whether err broke the instance: a timeout, a trap, the
// memory limit or an exit, not a callback's error code or a host failure.
// As errorReason, a callback's error code comes before a trap it wraps.
func crashed(err error) bool {
	switch errorReason(err) {
	case "timeout", "memory", "exit", "trap":
		return true
	}
	return false
}

// shutdown runs on the dispatcher as the last task.
func (a *App) shutdown(ctx context.Context) {
	if a.stopped {
		return
	}
	a.stopped = true
	if a.cur.inst != nil && ctx.Err() == nil {
		a.setHidden(ctx, true) // nothing when hidden already
	}
	if a.cur.inst != nil {
		a.cur.inst.Close(ctx)
	}
	// a.cur.mod stays open: the Sandbox's Close parks it, with the
	// Runtime, for the app's next launch (runtime/pool.go), or closes it.
	if a.cur.closeFS != nil {
		a.cur.closeFS()
	}
	if a.upd.ready != nil {
		a.upd.ready.mod.Close(ctx)
	}
	a.cur, a.upd = running{}, updateState{}
	// a.sb stays set: host goroutines may still call it, and a closed
	// Sandbox refuses work with runtime.ErrClosed.
	a.sb.Close(ctx)
	a.h.untrack(a)
	a.emit(Event{Event: EventExit, Reason: "closed"})
	a.workCancel()
	a.cancel()
}

func (a *App) setVersion(v string) {
	a.mu.Lock()
	a.version = v
	a.mu.Unlock()
}

func (a *App) emit(ev Event) {
	if a.h.cfg.OnEvent == nil {
		return
	}
	ev.App = a.id
	if ev.Version == "" {
		ev.Version = a.Version()
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	a.h.cfg.OnEvent(ev)
}

// packageFS mounts an extracted package read-only for the guest. On the
// OS filesystem it is an os.Root, so a symlink in the folder cannot lead
// out of it; close releases the Root.
func packageFS(fsys afero.Fs, dir string) (mount fs.FS, release func()) {
	if _, ok := fsys.(*afero.OsFs); ok {
		if root, err := os.OpenRoot(dir); err == nil {
			return root.FS(), func() { root.Close() }
		}
	}
	return afero.NewIOFS(afero.NewReadOnlyFs(afero.NewBasePathFs(fsys, dir))), func() {}
}
