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

	"github.com/minihost/minihost/samples/wx/abi"
)

// sandboxConfig configures a Sandbox: NewSandbox's app id and HostAPI,
// and limits that zero leaves at the Engine's (Config), which NewSandbox
// always does; the package's tests give a Sandbox limits of its own.
type sandboxConfig struct {
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
// also closes its Instances and Modules, or parks the Runtime with the
// running Module in the Engine's pool for the app's next Sandbox. Compile
// and Instantiate are safe for concurrent use, with each other and with
// Close; after Close they fail with ErrClosed. An Instance is not safe
// for concurrent use.
type Sandbox struct {
	eng *Engine
	cfg sandboxConfig // cfg.API is the embedder's HostAPI, unlimited
	c   *core         // the Runtime, new or taken from the Engine's pool
	rt  wazero.Runtime
	out *outputBudget
	// noPark keeps Close from parking the Runtime (Validate's throwaway
	// Sandboxes).
	noPark bool
	// failed is set when an instance trapped, exited, ran out of time or
	// memory, or was stopped: such a Runtime is closed, never parked.
	failed atomic.Bool

	// life ends when Close starts; it stops the guest code that
	// Instantiate calls and callbacks in progress run.
	life context.Context
	kill context.CancelFunc
	// calls counts the callbacks running (Instance.call): a Runtime one
	// is still in is not parked.
	calls atomic.Int32

	mu      sync.Mutex
	closed  atomic.Bool             // set under mu, read anywhere
	busy    sync.WaitGroup          // Compile and Instantiate calls in progress; Add under mu
	modules map[*Module]struct{}    // open Modules, guarded by mu; nil once closed
	insts   map[api.Module]struct{} // guest instances not closed by Instance.Close, guarded by mu
	last    *Module                 // of the last successful Instantiate, guarded by mu
	done    chan struct{}           // closed when Close has finished
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

// NewSandbox creates the Runtime of one app, under the Engine's limits
// (Config): appID tags its logs and errors, and api, which is required,
// serves its guests' wx calls. It takes instead the Runtime the app's
// last Sandbox parked in the Engine's pool when it closed (same appID;
// see Close): then Compile of the same module returns the compiled
// module kept with it, at no compile cost. Either way the new Sandbox
// has its own call deadlines, output budgets and HostAPI: the wx host
// functions call api from now on.
func (e *Engine) NewSandbox(ctx context.Context, appID string, api HostAPI) (*Sandbox, error) {
	return e.newSandbox(ctx, sandboxConfig{AppID: appID, API: api}, true)
}

func (e *Engine) newSandbox(ctx context.Context, cfg sandboxConfig, pooled bool) (*Sandbox, error) {
	if cfg.API == nil {
		return nil, errors.New("new sandbox: HostAPI is nil")
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
	key := poolKey{appID: cfg.AppID, memoryLimitPages: cfg.MemoryLimitPages, maxTableElements: cfg.MaxTableElements}
	var c *core
	if pooled {
		c = e.pool.take(key)
	}
	if c == nil {
		var err error
		if c, err = e.newCore(ctx, key); err != nil {
			return nil, err
		}
	}
	s := &Sandbox{eng: e, cfg: cfg, c: c, rt: c.rt, out: newOutputBudget(cfg.API, cfg), noPark: !pooled,
		modules: map[*Module]struct{}{}, insts: map[api.Module]struct{}{}, done: make(chan struct{})}
	s.life, s.kill = context.WithCancel(context.Background())
	// Before the Sandbox is returned, so every guest call of it reaches
	// its own HostAPI, through its own budget.
	c.api.Store(&limitedAPI{HostAPI: cfg.API, out: s.out})
	return s, nil
}

// Close closes the Runtime and everything compiled or instantiated in it,
// or parks the Runtime in the Engine's pool for the app's next Sandbox.
// It refuses new Compile and Instantiate calls at once, stops the guest
// code of those in progress and waits for them to return: a compile in
// progress runs to its end, since wazero can neither stop it nor survive
// the Runtime closing under it. Then it closes every Instance, and every
// Module not closed yet (with a shared compilation cache, closing the
// Runtime alone would keep their compiled code until the Engine closes).
// The Module of the last successful Instantiate, when it is still open
// and no instance ever failed (trapped, exited, ran out of time or
// memory, was stopped), stays compiled with the Runtime in the pool, if
// the pool has room (Config.IdleBytes); else the Runtime is closed. Safe
// to call more than once and concurrently: later calls wait for the
// first. Do not call it from a HostAPI method that a guest calls during
// Instantiate (from its start function or _initialize): Close would wait
// for that Instantiate, which waits for it.
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
	modules, insts, keep := s.modules, s.insts, s.last
	s.modules, s.insts, s.last = nil, nil, nil
	s.mu.Unlock()
	if _, open := modules[keep]; !open || s.noPark || s.failed.Load() || s.calls.Load() > 0 {
		keep = nil
	}
	var errs []error
	for mod := range insts {
		errs = append(errs, mod.Close(ctx))
	}
	for m := range modules {
		if m != keep {
			errs = append(errs, m.Close(ctx))
		}
	}
	if err := errors.Join(errs...); keep != nil && err == nil && s.park(ctx, keep) {
		return nil
	}
	if keep != nil {
		errs = append(errs, keep.Close(ctx))
	}
	errs = append(errs, s.c.close(ctx))
	if err := errors.Join(errs...); err != nil {
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
// Instance will be made from it any more (Sandbox.Close also does); leave
// the running one open for Sandbox.Close to park.
// Safe for concurrent use.
type Module struct {
	sb        *Sandbox
	compiled  wazero.CompiledModule
	hash      [32]byte // rewriteHash of the bytes given to Compile
	src       source   // of the bytes given to Compile
	size      int      // of the bytes compiled
	rw        *rewritten
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
// tables' elements stay under Config.MaxTableElements; tables
// whose minima exceed it are refused with ErrNotABI ("table limit
// reached").
func (s *Sandbox) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	if err := s.enter(); err != nil {
		return nil, &compileError{AppID: s.cfg.AppID, Err: err}
	}
	defer s.busy.Done()
	src := s.eng.sourceOf(wasm)
	if m, err := s.takeKept(ctx, src); m != nil || err != nil {
		return m, err
	}
	maxElems, workers := s.cfg.MaxTableElements, s.eng.cfg.CompileWorkers
	rw, err := s.eng.rewrites.get(wasm, src, maxElems, workers)
	if err != nil {
		return nil, &compileError{AppID: s.cfg.AppID, Err: err}
	}
	compiled, err := s.compileRewrite(ctx, rw)
	if errors.Is(err, errNotFromSource) {
		// A rewrite file of other bytes, or damaged: make it again.
		if rw, err = s.eng.rewrites.make(wasm, rw.hash, src, maxElems, workers); err == nil {
			compiled, err = s.compileRewrite(ctx, rw)
		}
	}
	if err != nil {
		return nil, &compileError{AppID: s.cfg.AppID, Err: err}
	}
	return s.addModule(ctx, &Module{sb: s, compiled: compiled, hash: rw.hash, src: src, size: len(rw.wasm), rw: rw})
}

// errNotFromSource is compileRewrite's when its rewrite was read from
// disk and was not made from the bytes being compiled.
var errNotFromSource = errors.New("rewrite not made from this module")

// compileRewrite compiles rw through the cache, its entry pinned (until
// the Module closes, or unpinned here on error), and checks the ABI. A
// rewrite read from disk is compiled while its source is checked, and
// the compile is dropped unless the check passes: no guest code runs
// before it.
func (s *Sandbox) compileRewrite(ctx context.Context, rw *rewritten) (wazero.CompiledModule, error) {
	cctx := experimental.WithCompilationWorkers(ctx, s.eng.cfg.CompileWorkers)
	// The pin keeps the cache entry from eviction until the Module closes.
	s.eng.lru.Pin(rw.hash)
	var compiled wazero.CompiledModule
	// wazero caches by the bytes it compiles, so the lock is on those.
	unlock := compileLocks.lock(rw.hash)
	err := s.eng.lru.Use(rw.hash, func() (err error) {
		compiled, err = s.rt.CompileModule(cctx, rw.wasm)
		return err
	})
	unlock()
	if !rw.fromSource() {
		if err == nil {
			compiled.Close(ctx)
		}
		err = errNotFromSource
	}
	if err == nil {
		if err = s.checkABI(compiled); err != nil {
			compiled.Close(ctx)
		}
	}
	if err != nil {
		s.eng.lru.Unpin(rw.hash)
		return nil, err
	}
	return compiled, nil
}

// addModule registers m, or releases it when Close started meanwhile: it
// would outlive the Sandbox.
func (s *Sandbox) addModule(ctx context.Context, m *Module) (*Module, error) {
	s.mu.Lock()
	closed := s.closed.Load()
	if !closed {
		s.modules[m] = struct{}{}
	}
	s.mu.Unlock()
	if closed {
		m.release(ctx)
		return nil, &compileError{AppID: s.cfg.AppID, Err: errSandboxClosed}
	}
	return m, nil
}

// isStopped reports whether err is a guest stopped by a cancelled context.
func isStopped(err error) bool {
	var exit *sys.ExitError
	return errors.Is(err, context.Canceled) ||
		(errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeContextCanceled)
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
			if !wxFunctionNames[name] && name != interruptFunc { // Compile's own import
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
		m.closeErr = m.release(ctx)
	})
	return m.closeErr
}

// release unpins and closes the compiled code; the caller calls it once.
func (m *Module) release(ctx context.Context) error {
	m.sb.eng.lru.Unpin(m.hash)
	return m.compiled.Close(ctx)
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
		return nil, &callError{AppID: s.cfg.AppID, Callback: "instantiate", Err: err}
	}
	defer s.busy.Done()
	if m.closed.Load() {
		return nil, &callError{AppID: s.cfg.AppID, Callback: "instantiate", Err: errModuleClosed}
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
		var ce *callError
		if errors.As(err, &ce) {
			callback = ce.Callback
		}
		return nil, &callError{AppID: s.cfg.AppID, Callback: callback, Err: errSandboxClosed}
	}
	return inst, err
}

func (s *Sandbox) instantiate(ctx context.Context, m *Module, fsys fs.FS) (*Instance, error) {
	inst := newInstance(s)
	mc := wazero.NewModuleConfig().
		WithName(fmt.Sprintf("%s#%d", s.cfg.AppID, s.c.seq.Add(1))).
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
	s.mu.Lock()
	s.insts[mod] = struct{}{} // Close closes it, unless Instance.Close does
	s.mu.Unlock()
	if err := inst.bind(mod); err != nil {
		mod.Close(ctx)
		return nil, &compileError{AppID: s.cfg.AppID, Err: err}
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
		return nil, &compileError{AppID: s.cfg.AppID, Err: fmt.Errorf("%w: guest speaks ABI version %d, host speaks %d", ErrNotABI, v, abi.Version)}
	}
	s.mu.Lock()
	s.last = m
	s.mu.Unlock()
	return inst, nil
}
