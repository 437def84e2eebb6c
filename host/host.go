package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/samples/wx/abi"
)

// Bounds of one app.
const (
	// defaultStorageQuota is Config.StorageQuota's default: one app's
	// storage (keys plus values), as WeChat's 10 MB.
	defaultStorageQuota = 10 << 20
	// maxOpenModals bounds the unanswered modals of one app.
	maxOpenModals = 16
)

// Config configures a Host. Zero fields take defaults.
type Config struct {
	// Home holds installed packages and app storage. Empty means
	// DefaultHome().
	Home string
	// Fs is the filesystem Home lives on; nil means the OS filesystem.
	// Tests inject failing filesystems here.
	Fs afero.Fs
	// Runtime configures the sandbox engine (compile cache, limits).
	Runtime runtime.Config
	// UI shows modals. Nil answers every modal with cancel.
	UI UI
	// OnEvent receives every Event of every app. It is called from the
	// apps' dispatcher goroutines, possibly concurrently for different
	// apps, in order for one app. It must return quickly; it may call App
	// methods except Close.
	OnEvent func(Event)
	// StorageQuota bounds each app's storage (keys plus values) in bytes;
	// 0: 10 MiB, as WeChat's 10 MB.
	StorageQuota int64
	// Logger receives host messages; nil means slog.Default().
	Logger *slog.Logger
	// Updates, when set, turns on updates from a release server: see
	// Launch. Without it the host runs local packages only.
	Updates *UpdateConfig
	// BaseLibrary is the folder of an extracted JS base library package
	// (app id mpk.BaseLibraryAppID, built from samples/jsbase), which runs
	// JavaScript packages beside the versions of it installed in Home;
	// the newest that satisfies a package's "baseLibrary" is used. Empty:
	// installed ones only.
	BaseLibrary string
}

// DefaultHome returns $MINIHOST_HOME, else minihost under the user config
// dir.
func DefaultHome() string {
	if h := os.Getenv("MINIHOST_HOME"); h != "" {
		return h
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "minihost")
}

// Host runs mini programs. Create one with New and Close it when done;
// Close closes every app still running. A Host is safe for concurrent use.
type Host struct {
	cfg    Config
	engine *runtime.Engine
	log    *slog.Logger

	upd *updates // nil without Config.Updates

	// bg owns the host's background work (downloads, checks): Close
	// cancels bgCtx and waits.
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc

	mu     sync.Mutex
	apps   map[*App]struct{}
	closed bool
}

// New creates a Host and its runtime engine.
func New(cfg Config) (*Host, error) {
	if cfg.Home == "" {
		cfg.Home = DefaultHome()
	}
	if cfg.Fs == nil {
		cfg.Fs = afero.NewOsFs()
	}
	if cfg.UI == nil {
		cfg.UI = AutoAnswer(false)
	}
	if cfg.StorageQuota <= 0 {
		cfg.StorageQuota = defaultStorageQuota
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Runtime.Logger == nil {
		cfg.Runtime.Logger = cfg.Logger
	}
	if err := cfg.Fs.MkdirAll(cfg.Home, 0o755); err != nil {
		return nil, fmt.Errorf("create home %s: %w", cfg.Home, err)
	}
	eng, err := runtime.NewEngine(cfg.Runtime)
	if err != nil {
		return nil, err
	}
	h := &Host{cfg: cfg, engine: eng, log: cfg.Logger, apps: map[*App]struct{}{}}
	h.bgCtx, h.bgCancel = context.WithCancel(context.Background())
	if cfg.Updates != nil {
		if err := h.initUpdates(*cfg.Updates); err != nil {
			eng.Close(context.Background())
			return nil, fmt.Errorf("new host: %w", err)
		}
		if cfg.Updates.Periodic {
			h.startPeriodic()
		}
	}
	return h, nil
}

// Close closes every running app and the engine.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	apps := make([]*App, 0, len(h.apps))
	for a := range h.apps {
		apps = append(apps, a)
	}
	h.mu.Unlock()
	// Apps first: closing one cancels and waits for its own work, which may
	// start host work (a download) until then. goBackground refuses new
	// work once closed is set.
	var errs []error
	for _, a := range apps {
		errs = append(errs, a.Close(ctx))
	}
	h.bgCancel()
	h.bg.Wait()
	if h.upd != nil {
		errs = append(errs, h.upd.client.Close(ctx))
	}
	errs = append(errs, h.engine.Close(ctx))
	return errors.Join(errs...)
}

// LaunchPackage runs the code package at path without updates. path is
// a package file (.mpk) or an extracted package folder (app.json, entry
// and assets) on Config.Fs. A file is checked and extracted into the home
// once (by content); then the package is compiled and gets onLaunch and
// onShow. It returns once the app is in the foreground; errors of those
// callbacks arrive as EventError and do not fail the launch, as a mini
// program with a failing onLaunch still opens. A path that is neither a
// folder nor a regular file (a named pipe) is refused at once.
//
// Extractions of the app beyond the 3 most recently launched are removed,
// except those this process is launching or running apps from; apps of
// other processes sharing the home are protected only by being among the
// most recently launched.
func (h *Host) LaunchPackage(ctx context.Context, path string) (*App, error) {
	if fi, err := h.cfg.Fs.Stat(path); err == nil && fi.IsDir() {
		return h.launchDir(ctx, path)
	}
	p, sum, done, err := openPackage(path)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", path, err)
	}
	defer done()
	m := p.Manifest
	dir := filepath.Join(h.cfg.Home, "packages", m.AppID, m.Version+"-"+sum[:12])
	release := claimExtraction(dir) // before Extract: an existing dir must not be pruned under us
	if err := p.Extract(ctx, h.cfg.Fs, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		release(nil)
		return nil, fmt.Errorf("launch %s: %w", path, err)
	}
	h.touchExtraction(dir)
	h.pruneExtractions(filepath.Dir(dir), dir)
	a, err := h.launchDir(ctx, dir)
	release(a)
	return a, err
}

// launchDir runs an extracted package folder, as LaunchPackage does after
// extraction.
func (h *Host) launchDir(ctx context.Context, dir string) (*App, error) {
	m, wasm, err := h.loadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", dir, err)
	}
	a, err := h.newApp(ctx, m.AppID)
	if err != nil {
		return nil, err
	}
	if err := a.start(ctx, version{m.Version, dir, wasm}, abi.ReasonLaunch); err != nil {
		// When ctx has ended, Close aborts the callback still running.
		a.Close(ctx)
		return nil, err
	}
	return a, nil
}

// loadDir reads and validates the manifest of the extracted package in dir
// and reads its entry module, each within its size bound.
func (h *Host) loadDir(dir string) (*mpk.Manifest, []byte, error) {
	b, err := h.readBounded(filepath.Join(dir, mpk.ManifestName), 1<<20)
	if err != nil {
		return nil, nil, err
	}
	m, err := mpk.ParseManifest(b)
	if err != nil {
		return nil, nil, err
	}
	if m.Runtime == mpk.RuntimeJS {
		// The module is the base library's; the package is mounted.
		wasm, err := h.baseLibrary(m)
		return m, wasm, err
	}
	wasm, err := h.readBounded(filepath.Join(dir, filepath.FromSlash(m.Entry)), mpk.Limits{}.WithDefaults().MaxFileSize)
	if err != nil {
		return nil, nil, err
	}
	return m, wasm, nil
}

// readBounded reads a file of at most limit bytes from the host's fs.
func (h *Host) readBounded(path string, limit int64) ([]byte, error) {
	f, err := h.cfg.Fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("read %s: %d bytes exceeds the limit of %d", path, st.Size(), limit)
	}
	b := make([]byte, st.Size())
	if _, err := readFull(f, b); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

func (h *Host) track(a *App) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("host is %w", ErrClosed)
	}
	h.apps[a] = struct{}{}
	return nil
}

func (h *Host) untrack(a *App) {
	h.mu.Lock()
	delete(h.apps, a)
	h.mu.Unlock()
}
