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

// Defaults for Config, unexported (each field's doc gives its value)
// except DefaultCacheMaxBytes, which the CLI's cache command reads.
const (
	// defaultMemoryLimitPages caps a guest's linear memory at 128 MiB
	// (64 KiB pages).
	defaultMemoryLimitPages = 2048
	// defaultCallTimeout bounds each callback, _initialize included.
	defaultCallTimeout = 5 * time.Second
	// defaultLogLinesPerSecond is the sustained rate of output lines
	// (stdout, stderr and wx.log together) all the instances of one app
	// may write over its Sandbox's life; bursts up to defaultLogBurst
	// pass, the rest are dropped and counted.
	defaultLogLinesPerSecond = 200
	// defaultLogBurst is the burst of guest output lines allowed at once.
	defaultLogBurst = 1000
	// defaultModalsPerSecond is the sustained rate of wx.showModal calls
	// one app may make; past a burst of defaultModalBurst the guest gets
	// EBUSY.
	defaultModalsPerSecond = 2
	// defaultModalBurst is the burst of modals allowed at once: as many as
	// the minihost host lets be open unanswered, so that a guest showing
	// modals at once meets one limit, not two.
	defaultModalBurst = 16
	// defaultMaxTableElements caps the elements of a module's tables, in
	// all: 8 MiB of host memory per instance at wazero's 8 bytes per
	// element, about 160 times the table of our largest test guest.
	defaultMaxTableElements = 1 << 20
	// DefaultCacheMaxBytes is Config.CacheMaxBytes' default: 1 GiB, about
	// 55 guests of our size (15 MB of compiled code and 4 MB of rewritten
	// module each).
	DefaultCacheMaxBytes = 1 << 30
)

// defaultIdleBytes is Config.IdleBytes' default: 128 MiB, seven or eight
// of our Go guests (15 to 21 MB each as the pool counts them: the compiled
// code and the decoded module), or the JS base library (79 MB for the
// first JS app, 20 MB for each further one, which shares its code) and a
// few Go guests, so that a JS app's relaunch is an instantiate too.
const defaultIdleBytes = 128 << 20

// Config configures an Engine. Zero fields take the defaults each field's
// doc gives. A Config is a plain value: NewEngine copies it.
type Config struct {
	// CacheDir holds the compilation cache shared by every app. Empty
	// means "wazero" under CacheRoot(). When it cannot be written, the
	// Engine falls back to an in-memory cache and says so in the log.
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
	// MemoryLimitPages caps each instance's linear memory, in 64 KiB
	// pages; zero means 2048 (128 MiB), at most 65536.
	MemoryLimitPages uint32
	// CallTimeout bounds each call into a guest, _initialize and the
	// module's start function included; zero means 5 s.
	CallTimeout time.Duration
	// MaxTableElements caps the elements of each module's tables, in all:
	// every table gets a maximum so that table.grow past it returns -1,
	// and a module whose tables' minima exceed it is refused with
	// ErrNotABI ("table limit reached"). It also caps the entries of the module's element
	// segments, in all, since each costs every instance about as much.
	// Zero means 2^20 (8 MiB of host memory per instance).
	MaxTableElements uint32
	// LogLinesPerSecond and LogBurst bound the output lines (stdout,
	// stderr, wx.log) of each app, all its instances together; lines past
	// them are dropped and counted. Zero means 200 a second, bursts of
	// 1000.
	LogLinesPerSecond, LogBurst int
	// ModalsPerSecond and ModalBurst bound each app's wx.showModal calls;
	// calls past them get EBUSY. Zero means 2 a second, bursts of 16 (as
	// many as the minihost host lets be open unanswered).
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
		cfg.MemoryLimitPages = defaultMemoryLimitPages
	}
	if cfg.MemoryLimitPages > 65536 {
		return nil, fmt.Errorf("new engine: memory limit %d pages exceeds the wasm32 maximum 65536", cfg.MemoryLimitPages)
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = defaultCallTimeout
	}
	if cfg.MaxTableElements == 0 {
		cfg.MaxTableElements = defaultMaxTableElements
	}
	cfg.LogLinesPerSecond = positiveOr(cfg.LogLinesPerSecond, defaultLogLinesPerSecond)
	cfg.LogBurst = positiveOr(cfg.LogBurst, defaultLogBurst)
	cfg.ModalsPerSecond = positiveOr(cfg.ModalsPerSecond, defaultModalsPerSecond)
	cfg.ModalBurst = positiveOr(cfg.ModalBurst, defaultModalBurst)
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
	sb, err := e.newSandbox(ctx, sandboxConfig{AppID: appID, API: nopAPI{}}, false)
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
