package runtime

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
	"github.com/minihost/minihost/samples/wx/abi"
)

// SandboxConfig configures a Sandbox. Zero limits take the Engine's.
type SandboxConfig struct {
	// AppID tags logs and errors.
	AppID string
	// API serves the guest's wx calls. Required.
	API HostAPI
	// MemoryLimitPages caps each instance's linear memory.
	MemoryLimitPages uint32
	// CallTimeout bounds each call into the guest, instantiation (the
	// module's start function) included.
	CallTimeout time.Duration
	// MaxTableElements caps the elements of each module's tables and
	// element segments, in all (see Config).
	MaxTableElements uint32
	// LogLinesPerSecond, LogBurst, ModalsPerSecond and ModalBurst bound
	// the app's output, for all its instances together (see Config).
	LogLinesPerSecond, LogBurst, ModalsPerSecond, ModalBurst int
}

// Sandbox is the runtime of one app: a wazero Runtime (limits are per
// Runtime) with the WASI and wx host modules, and the app's output budget,
// shared by all its instances. Modules compiled in it are only for it.
// Create one with Engine.NewSandbox and Close it when the app ends; Close
// also closes its Modules and Instances. Compile and Instantiate are safe
// for concurrent use, with each other and with Close; after Close they
// fail with ErrClosed. An Instance is not safe for concurrent use.
type Sandbox struct {
	eng *Engine
	cfg SandboxConfig // cfg.API is the embedder's HostAPI, unlimited
	rt  wazero.Runtime
	out *outputBudget
	seq atomic.Uint64
	// memPeak is the largest linear memory an instance reached: the next
	// one (a hot swap, a relaunch) starts with that much (cappedAllocator).
	memPeak atomic.Uint64

	// life ends when Close starts; it stops the guest code that
	// Instantiate calls in progress run.
	life context.Context
	kill context.CancelFunc

	mu      sync.Mutex
	closed  atomic.Bool          // set under mu, read anywhere
	busy    sync.WaitGroup       // Compile and Instantiate calls in progress; Add under mu
	modules map[*Module]struct{} // open Modules, guarded by mu; nil once closed
	done    chan struct{}        // closed when Close has finished
}

// closedError reports the use of a closed Sandbox or Module; it is
// ErrClosed for errors.Is.
type closedError string

func (e closedError) Error() string        { return string(e) + " closed" }
func (e closedError) Is(target error) bool { return target == ErrClosed }

const (
	errSandboxClosed = closedError("sandbox")
	errModuleClosed  = closedError("module")
)

// NewSandbox creates the Runtime of one app.
func (e *Engine) NewSandbox(ctx context.Context, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.API == nil {
		return nil, errors.New("new sandbox: SandboxConfig.API is nil")
	}
	if cfg.MemoryLimitPages == 0 {
		cfg.MemoryLimitPages = e.cfg.MemoryLimitPages
	}
	if cfg.MemoryLimitPages > 65536 {
		return nil, fmt.Errorf("new sandbox %s: memory limit %d pages exceeds 65536", cfg.AppID, cfg.MemoryLimitPages)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = e.cfg.CallTimeout
	}
	if cfg.MaxTableElements == 0 {
		cfg.MaxTableElements = e.cfg.MaxTableElements
	}
	cfg.LogLinesPerSecond = positiveOr(cfg.LogLinesPerSecond, e.cfg.LogLinesPerSecond)
	cfg.LogBurst = positiveOr(cfg.LogBurst, e.cfg.LogBurst)
	cfg.ModalsPerSecond = positiveOr(cfg.ModalsPerSecond, e.cfg.ModalsPerSecond)
	cfg.ModalBurst = positiveOr(cfg.ModalBurst, e.cfg.ModalBurst)
	// The memory cap is enforced by cappedAllocator rather than by
	// WithMemoryLimitPages, so that a refused grow is seen and reported as
	// "memory limit reached" instead of a bare trap (see RATIONALE.md).
	rc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(true).
		WithCompilationCache(e.cache)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	s := &Sandbox{eng: e, cfg: cfg, rt: rt, out: newOutputBudget(cfg.API, cfg),
		modules: map[*Module]struct{}{}, done: make(chan struct{})}
	s.life, s.kill = context.WithCancel(context.Background())
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		s.kill()
		rt.Close(ctx)
		return nil, fmt.Errorf("new sandbox %s: instantiate wasi: %w", cfg.AppID, err)
	}
	if _, err := newWxModule(rt, &limitedAPI{HostAPI: cfg.API, out: s.out}).Instantiate(ctx); err != nil {
		s.kill()
		rt.Close(ctx)
		return nil, fmt.Errorf("new sandbox %s: instantiate wx: %w", cfg.AppID, err)
	}
	return s, nil
}

// Close closes the Runtime and everything compiled or instantiated in it.
// It refuses new Compile and Instantiate calls at once, stops the guest
// code of those in progress and waits for them to return: a compile in
// progress runs to its end, since wazero can neither stop it nor survive
// the Runtime closing under it. Then it closes the Runtime, with every
// Instance, and every Module not closed yet (with a shared compilation
// cache, closing the Runtime alone would keep their compiled code until
// the Engine closes). Safe to call more than once and concurrently: later
// calls wait for the first. Do not call it from a HostAPI method that a
// guest calls during Instantiate (from its start function or _initialize):
// Close would wait for that Instantiate, which waits for it.
func (s *Sandbox) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed.Store(true)
	s.mu.Unlock()
	defer close(s.done)
	s.kill()
	s.busy.Wait()
	s.mu.Lock()
	modules := s.modules
	s.modules = nil
	s.mu.Unlock()
	err := s.rt.Close(ctx)
	for m := range modules {
		m.Close(ctx)
	}
	if err != nil {
		return fmt.Errorf("close sandbox %s: %w", s.cfg.AppID, err)
	}
	return nil
}

// enter registers a Compile or Instantiate call; the caller calls
// s.busy.Done when it returns.
func (s *Sandbox) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errSandboxClosed
	}
	s.busy.Add(1)
	return nil
}

// Module is a guest compiled in one Sandbox. Close it once when no
// Instance will be made from it any more (Sandbox.Close also does).
// Safe for concurrent use.
type Module struct {
	sb        *Sandbox
	compiled  wazero.CompiledModule
	hash      [32]byte // of the bytes compiled, after LimitTables
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// requiredExports are the guest functions of ABI v1 and their signatures.
var requiredExports = []struct {
	name            string
	params, results int
}{
	{"_initialize", 0, 0},
	{exportABIVersion, 0, 1},
	{exportAlloc, 1, 1},
	{exportOnLaunch, 2, 1},
	{exportOnShow, 0, 1},
	{exportOnHide, 0, 1},
	{exportOnEvent, 3, 1},
}

// Compile compiles wasm for this Sandbox, using the shared compilation
// cache, and checks that it implements guest ABI v1: the exports above,
// a memory that fits the cap, imports only from wasi_snapshot_preview1 and
// wx, no imported table. Every table gets a maximum first, so that the
// tables' elements stay under SandboxConfig.MaxTableElements; tables
// whose minima exceed it are refused with ErrTableLimit.
func (s *Sandbox) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	if err := s.enter(); err != nil {
		return nil, &CompileError{AppID: s.cfg.AppID, Err: err}
	}
	defer s.busy.Done()
	wasm, err := limitTables(wasm, s.cfg.MaxTableElements)
	if err != nil {
		return nil, &CompileError{AppID: s.cfg.AppID, Err: err}
	}
	// wazero caches by the bytes it compiles, so the lock is on those.
	hash := moduleHash(wasm)
	cctx := experimental.WithCompilationWorkers(ctx, s.eng.cfg.CompileWorkers)
	// The pin keeps the cache entry from eviction until the Module closes.
	s.eng.lru.Pin(hash)
	var compiled wazero.CompiledModule
	unlock := compileLocks.lock(hash)
	err = s.eng.lru.Use(hash, func() (err error) {
		compiled, err = s.rt.CompileModule(cctx, wasm)
		return err
	})
	unlock()
	if err != nil {
		s.eng.lru.Unpin(hash)
		return nil, &CompileError{AppID: s.cfg.AppID, Err: err}
	}
	if err := s.checkABI(compiled); err != nil {
		s.eng.lru.Unpin(hash)
		compiled.Close(ctx)
		return nil, &CompileError{AppID: s.cfg.AppID, Err: err}
	}
	m := &Module{sb: s, compiled: compiled, hash: hash}
	s.mu.Lock()
	closed := s.closed.Load()
	if !closed {
		s.modules[m] = struct{}{}
	}
	s.mu.Unlock()
	if closed {
		// Close started during the compile: the Module would outlive it.
		s.eng.lru.Unpin(hash)
		compiled.Close(ctx)
		return nil, &CompileError{AppID: s.cfg.AppID, Err: errSandboxClosed}
	}
	return m, nil
}

// isStopped reports whether err is a guest stopped by a cancelled context.
func isStopped(err error) bool {
	var exit *sys.ExitError
	return errors.Is(err, context.Canceled) ||
		(errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled)
}

// limitTables gives wasm's tables a maximum (see wasmbin.LimitTables),
// and maps wasmbin's errors to the runtime's sentinels.
func limitTables(wasm []byte, maxElems uint32) ([]byte, error) {
	out, err := wasmbin.LimitTables(wasm, maxElems)
	switch {
	case errors.Is(err, wasmbin.ErrUnsupported):
		return nil, fmt.Errorf("%w: %w", ErrNotABI, err)
	case errors.Is(err, wasmbin.ErrMalformed):
		// wasmbin's message already says "malformed wasm module".
		return nil, &sentinelError{ErrMalformedWasm, err}
	}
	return out, err // ErrTableLimit is wasmbin's
}

func (s *Sandbox) checkABI(c wazero.CompiledModule) error {
	exports := c.ExportedFunctions()
	if _, ok := exports[exportABIVersion]; !ok {
		if _, ok := exports["_start"]; ok && exports["_initialize"] == nil {
			return fmt.Errorf("%w: a command module (exports _start), not a reactor: build with -buildmode=c-shared", ErrNotABI)
		}
		return fmt.Errorf("%w: no export minihost_abi_version (not built with the minihost SDK)", ErrNotABI)
	}
	for _, want := range requiredExports {
		fn, ok := exports[want.name]
		if !ok {
			return fmt.Errorf("%w: missing export %s", ErrNotABI, want.name)
		}
		if !allI32(fn.ParamTypes(), want.params) || !allI32(fn.ResultTypes(), want.results) {
			return fmt.Errorf("%w: export %s has signature %v -> %v, want %d i32 params and %d i32 results",
				ErrNotABI, want.name, fn.ParamTypes(), fn.ResultTypes(), want.params, want.results)
		}
	}
	mem, ok := c.ExportedMemories()["memory"]
	if !ok {
		return fmt.Errorf("%w: no exported memory", ErrNotABI)
	}
	if mem.Min() > s.cfg.MemoryLimitPages {
		return fmt.Errorf("%w: initial memory of %d pages exceeds the limit of %d", ErrMemoryLimit, mem.Min(), s.cfg.MemoryLimitPages)
	}
	for _, fn := range c.ImportedFunctions() {
		mod, name, _ := fn.Import()
		switch mod {
		case wasi_snapshot_preview1.ModuleName:
		case hostModule:
			if !wxFunctionNames[name] {
				return fmt.Errorf("%w: imports wx.%s, which ABI v1 does not offer", ErrNotABI, name)
			}
		default:
			return fmt.Errorf("%w: imports %s.%s: only wasi_snapshot_preview1 and wx are available", ErrNotABI, mod, name)
		}
	}
	return nil
}

func allI32(types []api.ValueType, n int) bool {
	if len(types) != n {
		return false
	}
	for _, t := range types {
		if t != api.ValueTypeI32 {
			return false
		}
	}
	return true
}

// Close releases the compiled code. It is safe to call more than once;
// only the first call closes.
func (m *Module) Close(ctx context.Context) error {
	m.closeOnce.Do(func() {
		m.closed.Store(true)
		m.sb.mu.Lock()
		delete(m.sb.modules, m)
		m.sb.mu.Unlock()
		m.sb.eng.lru.Unpin(m.hash)
		m.closeErr = m.compiled.Close(ctx)
	})
	return m.closeErr
}

// Instantiate starts an instance of m with fsys mounted read-only at "/"
// (nil mounts nothing), runs the module's start function (if it has one)
// and _initialize, each under the call deadline, and checks the guest's
// ABI version. The instance gets a fresh module name, so an old instance
// of the same app may still be running during a hot swap.
func (s *Sandbox) Instantiate(ctx context.Context, m *Module, fsys fs.FS) (*Instance, error) {
	if m.sb != s {
		return nil, fmt.Errorf("instantiate %s: module was compiled in another sandbox", s.cfg.AppID)
	}
	if err := s.enter(); err != nil {
		return nil, &CallError{AppID: s.cfg.AppID, Callback: "instantiate", Err: err}
	}
	defer s.busy.Done()
	if m.closed.Load() {
		return nil, &CallError{AppID: s.cfg.AppID, Callback: "instantiate", Err: errModuleClosed}
	}
	// Close stops the guest code run here at once, rather than wait up
	// to three call deadlines for it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.life, cancel)()
	inst, err := s.instantiate(ctx, m, fsys)
	// Only a failure that Close caused (its cancel stopped the guest) reads
	// as closed; any other error keeps its own cause.
	if err != nil && s.closed.Load() && isStopped(err) {
		callback := "instantiate"
		var ce *CallError
		if errors.As(err, &ce) {
			callback = ce.Callback
		}
		return nil, &CallError{AppID: s.cfg.AppID, Callback: callback, Err: errSandboxClosed}
	}
	return inst, err
}

func (s *Sandbox) instantiate(ctx context.Context, m *Module, fsys fs.FS) (*Instance, error) {
	inst := newInstance(s)
	mc := wazero.NewModuleConfig().
		WithName(fmt.Sprintf("%s#%d", s.cfg.AppID, s.seq.Add(1))).
		WithStartFunctions(). // _initialize runs below, under the deadline
		WithStdout(inst.stdout).
		WithStderr(inst.stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(crand.Reader).
		WithNanosleep(inst.nanosleep)
	if fsys != nil {
		mc = mc.WithFSConfig(wazero.NewFSConfig().WithFSMount(fsys, "/"))
	}
	mod, err := inst.start(ctx, m.compiled, mc)
	if err != nil {
		return nil, err
	}
	if err := inst.bind(mod); err != nil {
		mod.Close(ctx)
		return nil, &CompileError{AppID: s.cfg.AppID, Err: err}
	}
	if _, err := inst.call(ctx, "_initialize", inst.fnInit); err != nil {
		return nil, err
	}
	v, err := inst.call(ctx, exportABIVersion, inst.fnABI)
	if err != nil {
		return nil, err
	}
	if v != abi.Version {
		inst.Close(ctx)
		return nil, &CompileError{AppID: s.cfg.AppID, Err: fmt.Errorf("%w: guest speaks ABI version %d, host speaks %d", ErrNotABI, v, abi.Version)}
	}
	return inst, nil
}

// Validate checks that wasm would launch, as a publisher and the release
// server do before a client sees it: it compiles it in a throwaway Sandbox
// with the Engine's limits, checks that it implements guest ABI v1, and
// instantiates it once with nothing mounted, so its start function and
// _initialize run under the same limits and call deadline as on a client.
// No callback (onLaunch and the rest) runs, and the guest's host calls are
// denied. A module that cannot compile, lacks the exports, traps, exits or
// runs out of time in its start code is refused with the runtime's error
// (ErrMalformedWasm, ErrNotABI, ErrTrap, ErrExit, ErrTimeout...).
func (e *Engine) Validate(ctx context.Context, appID string, wasm []byte) error {
	sb, err := e.NewSandbox(ctx, SandboxConfig{AppID: appID, API: nopAPI{}})
	if err != nil {
		return err
	}
	defer sb.Close(ctx)
	m, err := sb.Compile(ctx, wasm)
	if err != nil {
		return err
	}
	defer m.Close(ctx)
	inst, err := sb.Instantiate(ctx, m, nil)
	if err != nil {
		return err
	}
	return inst.Close(ctx)
}

// nopAPI serves a Sandbox that never runs guest code.
type nopAPI struct{}

var _ HostAPI = nopAPI{}

func (nopAPI) Log(abi.LogLevel, Stream, string)      {}
func (nopAPI) GetStorage(string) ([]byte, error)     { return nil, abi.CodeDenied }
func (nopAPI) SetStorage(string, []byte) error       { return abi.CodeDenied }
func (nopAPI) RemoveStorage(string) error            { return abi.CodeDenied }
func (nopAPI) ClearStorage() error                   { return abi.CodeDenied }
func (nopAPI) StorageInfo() (abi.StorageInfo, error) { return abi.StorageInfo{}, abi.CodeDenied }
func (nopAPI) ShowModal(abi.Modal) (uint32, error)   { return 0, abi.CodeDenied }
func (nopAPI) SystemInfo() abi.SystemInfo            { return abi.SystemInfo{} }
func (nopAPI) RegisterUpdateManager() error          { return nil }
func (nopAPI) ApplyUpdate() error                    { return abi.CodeNotReady }
func (nopAPI) SetData(abi.ViewData) error            { return abi.CodeDenied }
