package runtime

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// The warm pool: the Engine keeps the Runtimes of recently closed apps,
// with their last compiled module, so that reopening one costs an
// instantiate instead of a compile from cache (wazero decodes and
// validates the whole module again at every CompileModule, cache hit or
// not, and a CompiledModule belongs to its Runtime). See RATIONALE.md.

// poolKey is what a parked Runtime must match to be reused: the app, and
// the limits its compiled module was checked against (Compile's table
// rewrite and initial-memory check). The other limits (call deadline,
// output budgets) and the HostAPI are the new Sandbox's own.
type poolKey struct {
	appID            string
	memoryLimitPages uint32
	maxTableElements uint32
}

// core is the part of a Sandbox that may outlive it in the Engine's pool:
// the wazero Runtime with its WASI and wx host modules, and what a new
// Sandbox of the same app continues. Exactly one owner holds a core: one
// Sandbox, or the pool.
type core struct {
	key poolKey
	rt  wazero.Runtime
	// api is what the wx host functions call, read at each call: a new
	// Sandbox sets its own before it is returned, and parking sets
	// parkedAPI, so that no pointer to a closed app's HostAPI survives.
	api atomic.Pointer[limitedAPI]
	seq atomic.Uint64 // instance names, unique in rt
	// peak is the largest linear memory an instance reached: the next one
	// (a hot swap, a relaunch) starts with that much (cappedAllocator).
	peak atomic.Uint64
	eng  *Engine
	// kept is the compiled module parked with the Runtime, nil when none;
	// guarded by the owning Sandbox's mu while it has one. A parked core
	// always has one.
	kept *keptModule
}

// parkedAPI serves the wx module of a parked Runtime, where no guest runs.
var parkedAPI = &limitedAPI{HostAPI: nopAPI{}, out: newOutputBudget(nopAPI{}, sandboxConfig{LogLinesPerSecond: 1, LogBurst: 1, ModalsPerSecond: 1, ModalBurst: 1})}

// What a parked core holds, as the pool counts it. Measured (RSS after GC,
// five distinct test guests of 4.6 MB on average, parked): 17.6 MiB a
// guest, 4.0 times its wasm, for the compiled code (which wazero holds
// while a CompiledModule of it is open) and the decoded module beside it;
// 4.6 MiB, once its wasm, when another Runtime holds the same module,
// since the Engine's Runtimes share one compilation cache and wazero
// shares the code among them. So the pool counts each core's decoded
// module, and the code once per distinct module: every JS app runs the
// same base library (19.7 MB), whose code is then counted once, not once
// per app. Instances are all closed, so no linear memory is held.
func decodedBytes(wasmLen int) int64 { return int64(wasmLen) }
func codeBytes(wasmLen int) int64    { return 3 * int64(wasmLen) }

// estimateBytes is the most a parked core is counted: its module's code
// and its decoded module.
func estimateBytes(wasmLen int) int64 { return decodedBytes(wasmLen) + codeBytes(wasmLen) }

// keptModule is a compiled module parked with its Runtime: its code and
// the compile cache's pin of it.
type keptModule struct {
	compiled wazero.CompiledModule
	hash     [32]byte // rewriteHash of the bytes given to Compile
	src      source   // of the bytes given to Compile
	size     int      // of the bytes compiled
	rw       *rewritten
}

// source identifies the bytes given to Compile, for a parked module's
// reuse: their length and their maphash under the Engine's seed, which
// is random per process. A sha256 of our 3.7 MB guest takes 2.7 ms, about
// the whole instantiate a reuse costs, and the table rewrite before it 1
// ms more; the maphash takes 0.4 ms. Taking another build of the app for
// this one needs a 64-bit collision of two of its builds under a key
// their author cannot see. The compile cache's bookkeeping and lock key on
// rewriteHash, and wazero's cache on its own sha256.
type source struct {
	n int
	h uint64
}

// sourceOf returns the source of wasm.
func (e *Engine) sourceOf(wasm []byte) source {
	return source{n: len(wasm), h: maphash.Bytes(e.seed, wasm)}
}

func (k *keptModule) release(ctx context.Context, e *Engine) error {
	e.lru.Unpin(k.hash)
	return k.compiled.Close(ctx)
}

// dropKept releases the kept module, if any.
func (c *core) dropKept(ctx context.Context) error {
	if c.kept == nil {
		return nil
	}
	err := c.kept.release(ctx, c.eng)
	c.kept = nil
	return err
}

// close closes the core's kept module and its Runtime.
func (c *core) close(ctx context.Context) error {
	return errors.Join(c.dropKept(ctx), c.rt.Close(ctx))
}

// pool is the Engine's LRU of parked cores, bounded by what they hold:
// each one's decoded module, and the code of each distinct module once
// (see decodedBytes). It is safe for concurrent use. Cores it evicts are
// closed by the call that evicted them, outside the lock.
type pool struct {
	budget int64 // negative: reuse is off

	mu     sync.Mutex
	used   int64
	lru    []*core          // least recently parked first
	codes  map[[32]byte]int // parked cores per module hash
	closed bool
}

// add counts c in; with p.mu held.
func (p *pool) add(c *core) {
	if p.codes == nil {
		p.codes = map[[32]byte]int{}
	}
	p.used += decodedBytes(c.kept.size)
	if p.codes[c.kept.hash] == 0 {
		p.used += codeBytes(c.kept.size)
	}
	p.codes[c.kept.hash]++
}

// remove counts c out; with p.mu held.
func (p *pool) remove(c *core) {
	p.used -= decodedBytes(c.kept.size)
	if p.codes[c.kept.hash]--; p.codes[c.kept.hash] == 0 {
		delete(p.codes, c.kept.hash)
		p.used -= codeBytes(c.kept.size)
	}
}

// take removes and returns the parked core of key, or nil.
func (p *pool) take(key poolKey) *core {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.lru) - 1; i >= 0; i-- {
		if c := p.lru[i]; c.key == key {
			p.lru = append(p.lru[:i], p.lru[i+1:]...)
			p.remove(c)
			return c
		}
	}
	return nil
}

// put parks c, evicting the least recently parked cores past the budget
// (and a core parked under the same key: one per app), and closes them.
// It reports false, closing nothing, when c does not fit or the pool is
// off or closed: the caller closes c.
func (p *pool) put(ctx context.Context, c *core) (bool, error) {
	p.mu.Lock()
	if p.closed || p.budget < 0 || estimateBytes(c.kept.size) > p.budget {
		p.mu.Unlock()
		return false, nil
	}
	var evicted []*core
	keep := p.lru[:0]
	for _, o := range p.lru {
		if o.key == c.key {
			evicted = append(evicted, o)
			p.remove(o)
			continue
		}
		keep = append(keep, o)
	}
	p.lru = append(keep, c)
	p.add(c)
	for p.used > p.budget {
		o := p.lru[0]
		p.lru = p.lru[1:]
		p.remove(o)
		evicted = append(evicted, o)
	}
	p.mu.Unlock()
	var errs []error
	for _, o := range evicted {
		errs = append(errs, o.close(ctx))
	}
	return true, errors.Join(errs...)
}

// size returns the bytes of the parked cores.
func (p *pool) size() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// close closes every parked core and refuses later ones.
func (p *pool) close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	parked := p.lru
	p.lru, p.used, p.codes = nil, 0, nil
	p.mu.Unlock()
	var errs []error
	for _, c := range parked {
		errs = append(errs, c.close(ctx))
	}
	return errors.Join(errs...)
}

// newCore creates a Runtime with the WASI and wx host modules.
func (e *Engine) newCore(ctx context.Context, key poolKey) (*core, error) {
	// The memory cap is enforced by cappedAllocator rather than by
	// WithMemoryLimitPages, so that a refused grow is seen and reported as
	// "memory limit reached" instead of a bare trap (see RATIONALE.md).
	// A running guest is stopped by the countdown Compile adds, not by
	// WithCloseOnContextDone (see interrupt.go).
	rc := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(e.cache)
	c := &core{eng: e, key: key, rt: wazero.NewRuntimeWithConfig(ctx, rc)}
	c.api.Store(parkedAPI)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, c.rt); err != nil {
		c.rt.Close(ctx)
		return nil, fmt.Errorf("new sandbox %s: instantiate wasi: %w", key.appID, err)
	}
	if _, err := newWxModule(c.rt, &c.api).Instantiate(ctx); err != nil {
		c.rt.Close(ctx)
		return nil, fmt.Errorf("new sandbox %s: instantiate wx: %w", key.appID, err)
	}
	return c, nil
}

// park hands the Runtime, with keep's compiled code, to the Engine's pool
// and reports whether the pool took it. Every instance is closed; keep's
// handle is closed for its Sandbox without releasing the code, which the
// core owns now (with keep's cache pin).
func (s *Sandbox) park(ctx context.Context, keep *Module) bool {
	owned := false
	keep.closeOnce.Do(func() { keep.closed.Store(true); owned = true })
	if !owned {
		return false // its Close ran meanwhile and released the code
	}
	c := s.c
	c.dropKept(ctx) // kept from before and taken by no Compile here
	// No pointer to this app's HostAPI may stay with the parked Runtime.
	c.api.Store(parkedAPI)
	c.kept = &keptModule{compiled: keep.compiled, hash: keep.hash, src: keep.src, size: keep.size, rw: keep.rw}
	ok, err := s.eng.pool.put(ctx, c)
	if err != nil {
		s.eng.log.Warn("close evicted sandboxes", "err", err)
	}
	if !ok {
		c.dropKept(ctx)
	}
	return ok
}

// takeKept returns the module parked with the Sandbox's Runtime when it
// was compiled from the same bytes (src; the limits, and so the table
// rewrite, are the same: they are the pool's key), or nil. Any other
// module kept is released: this Sandbox runs other code.
func (s *Sandbox) takeKept(ctx context.Context, src source) (*Module, error) {
	s.mu.Lock()
	k := s.c.kept
	s.c.kept = nil
	s.mu.Unlock()
	if k == nil {
		return nil, nil
	}
	if k.src != src {
		k.release(ctx, s.eng)
		return nil, nil
	}
	return s.addModule(ctx, &Module{sb: s, compiled: k.compiled, hash: k.hash, src: k.src, size: k.size, rw: k.rw})
}

// forget drops mod, which Instance.Close closed, from the instances
// Close closes.
func (s *Sandbox) forget(mod api.Module) {
	s.mu.Lock()
	delete(s.insts, mod)
	s.mu.Unlock()
}
