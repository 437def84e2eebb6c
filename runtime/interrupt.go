package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
)

// How a running guest is stopped. wazero's WithCloseOnContextDone leaves
// its machine code for Go at the head of every loop to see whether the
// module was closed, and Go's compiler makes every function a loop, so
// that check tripled the cost of a guest's function calls (a wx call from
// a Go guest 4.1 µs with it, 1.5 µs without). Compile instead adds a
// countdown to every loop head (wasmbin.AddInterrupts) that calls
// interruptFunc every interruptEvery iterations; it ends the call, as
// wazero would, once the call's context is done: its deadline, or a
// Sandbox.Close, whose cancel reaches every call.
const (
	interruptFunc = "minihost_interrupt"
	// interruptEvery is tens of microseconds of a guest's loops between
	// checks: the deadline is late by no more, and a check (a host call,
	// about 0.1 µs) costs a fraction of a percent.
	interruptEvery = 1 << 13
)

// interrupt is the host function the countdown calls. A panic with an
// exit error is how a host function ends the guest's call (proc_exit does
// the same); the module is closed first, so it is never reused.
func interrupt(ctx context.Context, mod api.Module, _ []uint64) {
	err := ctx.Err()
	if err == nil {
		return
	}
	code := sys.ExitCodeContextCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		code = sys.ExitCodeDeadlineExceeded
	}
	_ = mod.CloseWithExitCode(context.WithoutCancel(ctx), code)
	panic(sys.NewExitError(code))
}

// exportInterrupt adds interrupt to the host module b.
func exportInterrupt(b wazero.HostModuleBuilder) {
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(interrupt), nil, nil).Export(interruptFunc)
}

// addInterrupts is wasmbin.AddInterrupts with the runtime's import, its
// errors mapped to the runtime's sentinels.
func addInterrupts(wasm []byte, workers int) ([]byte, error) {
	out, err := wasmbin.AddInterrupts(wasm, wasmbin.Interrupt{Module: hostModule, Name: interruptFunc, Every: interruptEvery, Workers: workers})
	switch {
	case errors.Is(err, wasmbin.ErrMalformed):
		return nil, &sentinelError{ErrMalformedWasm, err}
	case errors.Is(err, wasmbin.ErrUnsupported):
		return nil, fmt.Errorf("%w: %w", ErrNotABI, err)
	}
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	return out, nil
}
