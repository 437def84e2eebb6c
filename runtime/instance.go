package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/minihost/minihost/samples/wx/abi"
)

// Instance is one running instance of a Module. It is not goroutine-safe:
// one goroutine (the app's dispatcher) makes every call. After a trap, a
// timeout or an exit, Err reports why and every later call fails: discard
// the Instance and instantiate a new one. Close it when done.
type Instance struct {
	sb  *Sandbox
	mod api.Module

	fnInit, fnABI, fnAlloc, fnLaunch, fnShow, fnHide, fnEvent api.Function

	stack  [3]uint64
	bufPtr uint32 // guest buffer from minihost_alloc, reused while it fits
	bufCap uint32

	stdout, stderr *lineWriter
	memRefused     atomic.Bool
	done           <-chan struct{} // the current call's ctx.Done, for nanosleep
	err            error
}

func newInstance(s *Sandbox) *Instance {
	return &Instance{
		sb:     s,
		stdout: newLineWriter(s.out, streamStdout, abi.LevelInfo),
		stderr: newLineWriter(s.out, streamStderr, abi.LevelWarn),
	}
}

// start instantiates compiled under the call deadline. wazero runs a
// module's start function (the wasm start section; WithStartFunctions()
// turns off only _start and _initialize) inside InstantiateModule, so
// without a deadline a guest looping there would hold the host forever.
func (i *Instance) start(ctx context.Context, compiled wazero.CompiledModule, mc wazero.ModuleConfig) (api.Module, error) {
	cctx, cancel := context.WithTimeout(ctx, i.sb.cfg.CallTimeout)
	defer cancel()
	actx := experimental.WithMemoryAllocator(cctx, &cappedAllocator{
		limit: uint64(i.sb.cfg.MemoryLimitPages) * 65536, refused: &i.memRefused, peak: &i.sb.c.peak})
	i.done = cctx.Done() // a start function may sleep
	mod, err := i.sb.rt.InstantiateModule(actx, compiled, mc)
	i.done = nil
	if err == nil {
		return mod, nil
	}
	i.stdout.Flush()
	i.stderr.Flush()
	// Only a stopped or starved guest is classified; other errors (an
	// import wazero cannot resolve, a trap in the start function) read as
	// wazero wrote them.
	var exit *sys.ExitError
	if errors.As(err, &exit) || cctx.Err() != nil || i.memRefused.Load() {
		err = i.classify(cctx, err)
	}
	i.err = err
	i.sb.failed.Store(true)
	return nil, &callError{AppID: i.sb.cfg.AppID, Callback: "instantiate", Err: err, Stderr: i.stderr.summary()}
}

func (i *Instance) bind(mod api.Module) error {
	i.mod = mod
	for _, f := range []struct {
		dst  *api.Function
		name string
	}{
		{&i.fnInit, "_initialize"}, {&i.fnABI, exportABIVersion}, {&i.fnAlloc, exportAlloc},
		{&i.fnLaunch, exportOnLaunch}, {&i.fnShow, exportOnShow}, {&i.fnHide, exportOnHide},
		{&i.fnEvent, exportOnEvent},
	} {
		if *f.dst = mod.ExportedFunction(f.name); *f.dst == nil {
			return fmt.Errorf("%w: missing export %s", ErrNotABI, f.name)
		}
	}
	return nil
}

// Err returns nil while the instance is usable, else why it is not.
func (i *Instance) Err() error { return i.err }

// Close closes the instance. Safe to call more than once.
func (i *Instance) Close(ctx context.Context) error {
	if i.err == nil {
		i.err = ErrClosed
	}
	i.stdout.Flush()
	i.stderr.Flush()
	i.sb.forget(i.mod)
	return i.mod.Close(ctx)
}

// OnLaunch delivers minihost_on_launch.
func (i *Instance) OnLaunch(ctx context.Context, opts abi.LaunchOptions) error {
	payload, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("encode launch options: %w", err)
	}
	ptr, err := i.writePayload(ctx, payload)
	if err != nil {
		return err
	}
	i.stack[0], i.stack[1] = uint64(ptr), uint64(len(payload))
	return i.callCode(ctx, "onLaunch", i.fnLaunch)
}

// OnShow delivers minihost_on_show.
func (i *Instance) OnShow(ctx context.Context) error {
	return i.callCode(ctx, "onShow", i.fnShow)
}

// OnHide delivers minihost_on_hide.
func (i *Instance) OnHide(ctx context.Context) error {
	return i.callCode(ctx, "onHide", i.fnHide)
}

// OnEvent delivers minihost_on_event with a payload (nil for none).
func (i *Instance) OnEvent(ctx context.Context, kind abi.EventKind, payload []byte) error {
	var ptr uint32
	if len(payload) > 0 {
		var err error
		if ptr, err = i.writePayload(ctx, payload); err != nil {
			return err
		}
	}
	i.stack[0], i.stack[1], i.stack[2] = uint64(uint32(kind)), uint64(ptr), uint64(len(payload))
	return i.callCode(ctx, eventCallbackName(kind), i.fnEvent)
}

func eventCallbackName(kind abi.EventKind) string {
	switch kind {
	case abi.EventCustom:
		return "onEvent"
	case abi.EventModal:
		return "onEvent(modal)"
	case abi.EventUpdateCheck:
		return "onCheckForUpdate"
	case abi.EventUpdateReady:
		return "onUpdateReady"
	case abi.EventUpdateFailed:
		return "onUpdateFailed"
	case abi.EventView:
		return "onEvent(view)"
	case abi.EventTimer:
		return "onEvent(timer)"
	}
	return fmt.Sprintf("onEvent(kind %d)", kind)
}

// writePayload copies payload into the guest buffer, asking the guest for
// a bigger one only when it does not fit (ABI.md: the buffer stays reserved
// for the host until the next minihost_alloc).
func (i *Instance) writePayload(ctx context.Context, payload []byte) (uint32, error) {
	n := uint32(len(payload))
	if uint64(len(payload)) > uint64(^uint32(0)>>1) {
		return 0, fmt.Errorf("write payload: %d bytes is too big", len(payload))
	}
	if n > i.bufCap || i.bufPtr == 0 {
		i.stack[0] = uint64(n)
		ptr, err := i.call(ctx, exportAlloc, i.fnAlloc)
		if err != nil {
			return 0, err
		}
		if ptr == 0 {
			return 0, &callError{AppID: i.sb.cfg.AppID, Callback: exportAlloc, Err: fmt.Errorf("%w: guest could not allocate %d bytes", ErrMemoryLimit, n)}
		}
		i.bufPtr, i.bufCap = ptr, n
	}
	if !i.mod.Memory().Write(i.bufPtr, payload) {
		return 0, &callError{AppID: i.sb.cfg.AppID, Callback: exportAlloc, Err: fmt.Errorf("%w: buffer at %#x of %d bytes is outside guest memory", ErrTrap, i.bufPtr, n)}
	}
	return i.bufPtr, nil
}

// callCode calls a callback whose i32 result is an error code.
func (i *Instance) callCode(ctx context.Context, name string, fn api.Function) error {
	code, err := i.call(ctx, name, fn)
	if err != nil {
		return err
	}
	if code != 0 {
		return &callError{AppID: i.sb.cfg.AppID, Callback: name, Err: fmt.Errorf("%w: %d", ErrCallback, int32(code))}
	}
	return nil
}

// call runs fn with the values in i.stack under the call
// deadline and returns its i32 result. Any failure breaks the instance.
// i.stack is sized for the widest signature; wazero reads what fn takes.
func (i *Instance) call(ctx context.Context, name string, fn api.Function) (uint32, error) {
	if i.err == nil && i.sb.closed.Load() {
		i.err = errSandboxClosed
	}
	if i.err != nil {
		return 0, &callError{AppID: i.sb.cfg.AppID, Callback: name, Err: fmt.Errorf("%w: %w", ErrClosed, i.err)}
	}
	cctx, cancel := context.WithTimeout(ctx, i.sb.cfg.CallTimeout)
	// Close stops a running callback at once (the guest's next countdown
	// sees the cancel), and does not park a Runtime a call is in.
	stop := context.AfterFunc(i.sb.life, cancel)
	i.sb.calls.Add(1)
	i.done = cctx.Done()
	err := fn.CallWithStack(cctx, i.stack[:])
	i.done = nil
	i.sb.calls.Add(-1)
	stop()
	if err == nil {
		cancel()
		return uint32(i.stack[0]), nil
	}
	cause := i.classify(cctx, err)
	cancel()
	i.err = cause
	i.sb.failed.Store(true) // its Runtime is not parked (Sandbox.Close)
	i.stdout.Flush()
	i.stderr.Flush()
	ce := &callError{AppID: i.sb.cfg.AppID, Callback: name, Err: cause, Stderr: i.stderr.summary()}
	// wazero already closed the module on exit or deadline; close it on a
	// trap too, so it is never reused.
	i.mod.Close(context.WithoutCancel(ctx))
	return 0, ce
}

func (i *Instance) classify(cctx context.Context, err error) error {
	if i.sb.closed.Load() {
		return errSandboxClosed // Close stopped the guest
	}
	if i.memRefused.Load() {
		return fmt.Errorf("%w (%d pages)", ErrMemoryLimit, i.sb.cfg.MemoryLimitPages)
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%w after %v", ErrTimeout, i.sb.cfg.CallTimeout)
		case sys.ExitCodeContextCanceled:
			return context.Canceled
		default:
			return fmt.Errorf("%w with code %d", ErrExit, exit.ExitCode())
		}
	}
	if errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w after %v", ErrTimeout, i.sb.cfg.CallTimeout)
	}
	return fmt.Errorf("%w: %w", ErrTrap, err)
}

// nanosleep is the guest's sleep (poll_oneoff with a clock): unlike
// wazero's default, it wakes when the current call's deadline passes, so
// a sleeping guest is stopped on time.
func (i *Instance) nanosleep(ns int64) {
	if ns <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(ns))
	select {
	case <-t.C:
	case <-i.done:
		t.Stop()
	}
}
