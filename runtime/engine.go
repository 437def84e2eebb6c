package runtime

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/minihost/minihost/runtime/internal/compilecache"
)

// Defaults for Config.
const (
	// DefaultMemoryLimitPages caps a guest's linear memory at 128 MiB
	// (64 KiB pages).
	DefaultMemoryLimitPages = 2048
	// DefaultCallTimeout bounds each callback, _initialize included.
	DefaultCallTimeout = 5 * time.Second
	// DefaultLogLinesPerSecond is the sustained rate of output lines
	// (stdout, stderr and wx.log together) all the instances of one app
	// may write over its Sandbox's life; bursts up to DefaultLogBurst
	// pass, the rest are dropped and counted.
	DefaultLogLinesPerSecond = 200
	// DefaultLogBurst is the burst of guest output lines allowed at once.
	DefaultLogBurst = 1000
	// DefaultModalsPerSecond is the sustained rate of wx.showModal calls
	// one app may make; past a burst of DefaultModalBurst the guest gets
	// EBUSY.
	DefaultModalsPerSecond = 2
	// DefaultModalBurst is the burst of modals allowed at once: as many as
	// the minihost host lets be open unanswered, so that a guest showing
	// modals at once meets one limit, not two.
	DefaultModalBurst = 16
	// DefaultMaxTableElements caps the elements of a module's tables, in
	// all: 8 MiB of host memory per instance at wazero's 8 bytes per
	// element, about 160 times the table of our largest test guest.
	DefaultMaxTableElements = 1 << 20
	// DefaultCacheMaxBytes bounds the compilation cache folder's entries:
	// 1 GiB, about 55 guests of our size (15 MB of compiled code and 4 MB
	// of rewritten module each).
	DefaultCacheMaxBytes = 1 << 30
)

// defaultIdleBytes is Config.IdleBytes' default: 128 MiB, seven or eight
// of our Go guests (15 to 21 MB each as the pool counts them: the compiled
// code and the decoded module), or the JS base library (79 MB for the
// first JS app, 20 MB for each further one, which shares its code) and a
// few Go guests, so that a JS app's relaunch is an instantiate too.
// Unexported, unlike the other defaults, to keep the package's exported
// names within .ci/apicount/budget.txt.
const defaultIdleBytes = 128 << 20

// Config configures an Engine. Zero fields take the defaults above.
type Config struct {
	// CacheDir holds the compilation cache shared by every app. Empty
	// means "wazero" under CacheRoot(); Engine.CacheDir reports the one in
	// use. When it cannot be written, the Engine falls back to an
	// in-memory cache and says so in the log.
	CacheDir string
	// CacheMaxBytes bounds the size of CacheDir's entries (wazero's
	// compiled code, and each module as Compile rewrites it, which a new
	// process reads instead of rewriting): the least recently used ones
	// are removed, at NewEngine and after a compile adds one, except
	// those of Modules still open in the process.
	// Zero means DefaultCacheMaxBytes.
	CacheMaxBytes int64
	// MemoryCache forces an in-memory compilation cache.
	MemoryCache bool
	// MemoryLimitPages caps each instance's linear memory.
	MemoryLimitPages uint32
	// CallTimeout bounds each call into a guest.
	CallTimeout time.Duration
	// MaxTableElements caps the elements of each module's tables, in all:
	// every table gets a maximum so that table.grow past it returns -1,
	// and a module whose tables' minima exceed it is refused with
	// ErrTableLimit. It also caps the entries of the module's element
	// segments, in all, since each costs every instance about as much.
	MaxTableElements uint32
	// LogLinesPerSecond and LogBurst bound the output lines (stdout,
	// stderr, wx.log) of each app; lines past them are dropped and
	// counted.
	LogLinesPerSecond, LogBurst int
	// ModalsPerSecond and ModalBurst bound each app's wx.showModal calls;
	// calls past them get EBUSY.
	ModalsPerSecond, ModalBurst int
	// IdleBytes bounds the Runtimes the Engine keeps, with their compiled
	// module, after their apps' Sandboxes closed, so that reopening such
	// an app costs an instantiate, not a compile: the least recently
	// closed go first. Zero means 128 MiB; a negative value
	// turns the reuse off.
	IdleBytes int64
	// CompileWorkers is the number of parallel compile workers per module;
	// zero means the number of CPUs.
	CompileWorkers int
	// Logger receives engine messages; nil means slog.Default().
	Logger *slog.Logger
}

// CacheRoot returns the folder under which minihost keeps its caches:
// $MINIHOST_CACHE when set, else "minihost" under the user cache folder
// (or the temp folder). The compilation cache is its "wazero" folder
// unless Config.CacheDir says otherwise; the test kits keep theirs in
// "test". It creates nothing and is safe for concurrent use.
func CacheRoot() string { return compilecache.Root() }

// Engine is the process-wide part of the runtime: the compilation cache
// shared by all apps and the configuration new Sandboxes inherit. Create
// one with NewEngine and Close it after every Sandbox made from it is
// closed: it also closes the Runtimes of closed Sandboxes it keeps for
// reuse (Config.IdleBytes). An Engine is safe for concurrent use.
type Engine struct {
	cfg      Config
	cache    wazero.CompilationCache
	cacheDir string              // "" when the cache is in memory
	lru      *compilecache.Index // nil when the cache is in memory
	pool     *pool               // Runtimes of closed apps (pool.go)
	seed     maphash.Seed        // of sourceOf
	rewrites rewrites            // the modules Compile gave wazero
	log      *slog.Logger
}

// NewEngine opens the compilation cache and returns an Engine.
func NewEngine(cfg Config) (*Engine, error) {
	if cfg.MemoryLimitPages == 0 {
		cfg.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if cfg.MemoryLimitPages > 65536 {
		return nil, fmt.Errorf("new engine: memory limit %d pages exceeds the wasm32 maximum 65536", cfg.MemoryLimitPages)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.MaxTableElements == 0 {
		cfg.MaxTableElements = DefaultMaxTableElements
	}
	cfg.LogLinesPerSecond = positiveOr(cfg.LogLinesPerSecond, DefaultLogLinesPerSecond)
	cfg.LogBurst = positiveOr(cfg.LogBurst, DefaultLogBurst)
	cfg.ModalsPerSecond = positiveOr(cfg.ModalsPerSecond, DefaultModalsPerSecond)
	cfg.ModalBurst = positiveOr(cfg.ModalBurst, DefaultModalBurst)
	if cfg.CompileWorkers <= 0 {
		cfg.CompileWorkers = goruntime.NumCPU()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = filepath.Join(CacheRoot(), "wazero")
	}
	if cfg.CacheMaxBytes <= 0 {
		cfg.CacheMaxBytes = DefaultCacheMaxBytes
	}
	if cfg.IdleBytes == 0 {
		cfg.IdleBytes = defaultIdleBytes
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, pool: &pool{budget: cfg.IdleBytes}, seed: maphash.MakeSeed()}
	if !cfg.MemoryCache {
		if err := probeWritable(cfg.CacheDir); err != nil {
			e.log.Warn("compilation cache not writable; using memory", "dir", cfg.CacheDir, "err", err)
		} else if c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			e.log.Warn("open compilation cache; using memory", "dir", cfg.CacheDir, "err", err)
		} else {
			e.cache, e.cacheDir = c, cfg.CacheDir
			e.lru = compilecache.New(cfg.CacheDir, cfg.CacheMaxBytes)
			e.lru.OnError = func(err error) { e.log.Warn("compilation cache bookkeeping", "dir", cfg.CacheDir, "err", err) }
			e.rewrites.disk = e.lru
			if _, err := e.lru.Evict(); err != nil {
				e.lru.OnError(err)
			}
		}
	}
	if e.cache == nil {
		e.cache = wazero.NewCompilationCache()
	}
	return e, nil
}

// positiveOr returns v, or def when v is not positive.
func positiveOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// probeWritable creates dir and a file in it, so that a read-only or full
// cache folder is found before wazero silently fails to store into it.
func probeWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	_, werr := f.Write([]byte{0})
	cerr := f.Close()
	os.Remove(f.Name())
	if werr != nil {
		return werr
	}
	return cerr
}

// CacheDir returns the folder of the compilation cache, or "" when the
// cache lives in memory.
func (e *Engine) CacheDir() string { return e.cacheDir }

// Close closes the Runtimes parked for reuse, waits for the rewrite files
// being written (rewrite_file.go) and releases the compilation cache.
// Close every Sandbox first.
func (e *Engine) Close(ctx context.Context) error {
	e.rewrites.saves.Wait() // milliseconds: a module's bytes to a file
	if err := e.pool.close(ctx); err != nil {
		e.log.Warn("close idle sandboxes", "err", err)
	}
	if err := e.cache.Close(ctx); err != nil {
		return fmt.Errorf("close compilation cache: %w", err)
	}
	return nil
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
	// Not pooled: it would take the app's parked Runtime, or park one.
	sb, err := e.newSandbox(ctx, SandboxConfig{AppID: appID, API: nopAPI{}}, false)
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

// compileLocks serializes CompileModule per module hash across every
// Runtime of the process, cache hits included: wazero v1.12 corrupts its
// file cache when Runtimes sharing it compile the same module at once
// (tetratelabs/wazero#2547). It is process-wide on purpose: two Engines on
// one cache folder share the bug.
var compileLocks = keyedMutex{m: map[[32]byte]*refMutex{}}

type refMutex struct {
	sync.Mutex
	refs int
}

type keyedMutex struct {
	mu sync.Mutex
	m  map[[32]byte]*refMutex
}

func (k *keyedMutex) lock(key [32]byte) func() {
	k.mu.Lock()
	rm := k.m[key]
	if rm == nil {
		rm = &refMutex{}
		k.m[key] = rm
	}
	rm.refs++
	k.mu.Unlock()
	rm.Lock()
	return func() {
		rm.Unlock()
		k.mu.Lock()
		if rm.refs--; rm.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
