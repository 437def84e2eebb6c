package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// recorder is a HostAPI that keeps what the guest logged and stores
// storage in memory.
type recorder struct {
	mu      sync.Mutex
	lines   []string
	storage map[string][]byte
	modals  uint32
}

var _ runtime.HostAPI = (*recorder)(nil)

func newRecorder() *recorder { return &recorder{storage: map[string][]byte{}} }

func (r *recorder) Log(_ abi.LogLevel, stream string, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, stream+": "+msg)
}

func (r *recorder) GetStorage(key string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.storage[key]
	if !ok {
		return nil, abi.CodeNotFound
	}
	return v, nil
}

func (r *recorder) SetStorage(key string, value []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(value) > 100 {
		return abi.CodeQuota
	}
	r.storage[key] = value
	return nil
}

func (r *recorder) RemoveStorage(key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.storage, key)
	return nil
}

func (r *recorder) ClearStorage() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.storage)
	return nil
}

func (r *recorder) StorageInfo() (abi.StorageInfo, error) {
	return abi.StorageInfo{Keys: []string{}, LimitSize: 1}, nil
}

func (r *recorder) ShowModal(abi.Modal) (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.modals++
	return r.modals, nil
}

func (r *recorder) SystemInfo() abi.SystemInfo {
	return abi.SystemInfo{HostVersion: "test", AppID: "test.basic", AppVersion: "1.0.0", ABIVersion: 1, Platform: "minihost"}
}

func (r *recorder) RegisterUpdateManager() error           { return nil }
func (r *recorder) ApplyUpdate() error                     { return abi.CodeNotReady }
func (r *recorder) SetTimer(time.Duration) (uint32, error) { return 1, nil }
func (r *recorder) ClearTimer(uint32)                      {}
func (r *recorder) SetData(abi.ViewData) error             { return nil }

// has reports whether some logged line contains sub.
func (r *recorder) has(sub string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

func (r *recorder) dump() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// newEngine returns an Engine on the shared test compilation cache.
func newEngine(t testing.TB, cfg runtime.Config) *runtime.Engine {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = runtimetest.CacheDir(t)
	}
	e, err := runtime.NewEngine(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

type fixture struct {
	sb   *runtime.Sandbox
	mod  *runtime.Module
	rec  *recorder
	fsys fstest.MapFS
}

// start compiles the test guest name and returns a running instance.
func start(t *testing.T, e *runtime.Engine, name string, cfg runtime.SandboxConfig) (*fixture, *runtime.Instance) {
	t.Helper()
	ctx := t.Context()
	rec := newRecorder()
	cfg.API = rec
	if cfg.AppID == "" {
		cfg.AppID = "test." + name
	}
	sb, err := e.NewSandboxWith(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { sb.Close(context.Background()) })
	mod, err := sb.Compile(ctx, runtimetest.BuildWasm(t, filepath.Join("runtime", "testdata", "guests", name)))
	require.NoError(t, err)
	f := &fixture{sb: sb, mod: mod, rec: rec, fsys: fstest.MapFS{"app.json": {Data: []byte(`{}`)}, "assets/hello.txt": {Data: []byte("hello")}}}
	inst, err := sb.Instantiate(ctx, mod, f.fsys)
	require.NoError(t, err)
	t.Cleanup(func() { inst.Close(context.Background()) })
	return f, inst
}

func event(t *testing.T, inst *runtime.Instance, name string, data any) error {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"name": name, "data": data})
	require.NoError(t, err)
	return inst.OnEvent(t.Context(), abi.EventCustom, raw)
}

func TestLifecycle(t *testing.T) {
	e := newEngine(t, runtime.Config{})
	f, inst := start(t, e, "basic", runtime.SandboxConfig{})
	ctx := t.Context()
	require.NoError(t, inst.OnLaunch(ctx, abi.LaunchOptions{Version: "1.0.0", Reason: abi.ReasonLaunch, AppID: "test.basic"}))
	require.NoError(t, inst.OnShow(ctx))
	require.NoError(t, inst.OnHide(ctx))
	require.NoError(t, event(t, inst, "echo", "ping"))
	require.NoError(t, event(t, inst, "sysinfo", nil))
	for _, want := range []string{"launch", "show", "hide", "ping", `"appId":"test.basic"`} {
		require.True(t, f.rec.has(want), "no log line with %q in:\n%s", want, f.rec.dump())
	}
	require.NoError(t, inst.Err())
}

func TestSandboxFiles(t *testing.T) {
	e := newEngine(t, runtime.Config{})
	f, inst := start(t, e, "basic", runtime.SandboxConfig{})
	tests := []struct {
		name, event, path, want string
	}{
		{"own asset", "readfile", "/assets/hello.txt", "read /assets/hello.txt: 5 bytes"},
		{"relative own asset", "readfile", "assets/hello.txt", "read assets/hello.txt: 5 bytes"},
		{"host passwd", "readfile", "/etc/passwd", "read /etc/passwd: open"},
		{"parent escape", "readfile", "../../../../etc/passwd", "read ../../../../etc/passwd: open"},
		{"dotdot inside", "readfile", "/assets/../../etc/hostname", "read /assets/../../etc/hostname: open"},
		{"write own package", "writefile", "/assets/hello.txt", "write /assets/hello.txt: "},
		{"write new file", "writefile", "/new.txt", "write /new.txt: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, event(t, inst, tt.event, map[string]string{"path": tt.path}))
			require.True(t, f.rec.has(tt.want), "want %q in:\n%s", tt.want, f.rec.dump())
			require.False(t, f.rec.has(tt.want+"ok"), "the guest wrote its package:\n%s", f.rec.dump())
		})
	}
	require.Equal(t, "hello", string(f.fsys["assets/hello.txt"].Data), "the package was changed")
}

func TestCallbackFailures(t *testing.T) {
	e := newEngine(t, runtime.Config{CallTimeout: time.Second})
	tests := []struct {
		name, event string
		want        error
		stderr      string
		sb          runtime.SandboxConfig
	}{
		{"infinite loop", "loop", runtime.ErrTimeout, "", runtime.SandboxConfig{}},
		{"long sleep", "sleep", runtime.ErrTimeout, "", runtime.SandboxConfig{}},
		// A small cap and a long deadline: filling memory is slow under -race.
		{"memory growth", "alloc", runtime.ErrMemoryLimit, "", runtime.SandboxConfig{MemoryLimitPages: 256, CallTimeout: 30 * time.Second}},
		{"panic", "panic", runtime.ErrTrap, "boom", runtime.SandboxConfig{}},
		{"exit", "exit", runtime.ErrExit, "", runtime.SandboxConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, inst := start(t, e, "basic", tt.sb)
			began := time.Now()
			err := event(t, inst, tt.event, nil)
			require.ErrorIs(t, err, tt.want)
			require.Less(t, time.Since(began), 20*time.Second, "deadline not honoured")
			var ce *runtime.CallError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, "onEvent", ce.Callback)
			if tt.stderr != "" {
				require.Contains(t, err.Error(), tt.stderr)
			}
			if errors.Is(tt.want, runtime.ErrMemoryLimit) {
				require.Contains(t, err.Error(), "memory limit reached")
			}
			// The instance is unusable; a new one from the same module works.
			require.Error(t, inst.Err())
			require.ErrorIs(t, inst.OnShow(t.Context()), runtime.ErrClosed)
			inst2, err := f.sb.Instantiate(t.Context(), f.mod, f.fsys)
			require.NoError(t, err)
			defer inst2.Close(context.Background())
			require.NoError(t, event(t, inst2, "echo", "alive"))
			require.True(t, f.rec.has("alive"))
		})
	}
}

func TestFailingInit(t *testing.T) {
	e := newEngine(t, runtime.Config{CallTimeout: time.Second})
	tests := []struct {
		guest string
		want  error
	}{
		{"loopinit", runtime.ErrTimeout},
		{"sleepinit", runtime.ErrTimeout},
		{"panicinit", runtime.ErrTrap},
	}
	for _, tt := range tests {
		t.Run(tt.guest, func(t *testing.T) {
			_, inst := start(t, e, tt.guest, runtime.SandboxConfig{})
			err := inst.OnLaunch(t.Context(), abi.LaunchOptions{Version: "1.0.0", Reason: "launch"})
			require.ErrorIs(t, err, tt.want)
			require.Error(t, inst.Err())
		})
	}
}

// TestOtherAppsUnaffected runs a looping guest and a healthy one at once.
func TestOtherAppsUnaffected(t *testing.T) {
	e := newEngine(t, runtime.Config{CallTimeout: 2 * time.Second})
	_, looping := start(t, e, "basic", runtime.SandboxConfig{AppID: "test.looping"})
	f, healthy := start(t, e, "basic", runtime.SandboxConfig{AppID: "test.healthy"})
	errc := make(chan error, 1)
	go func() { errc <- event(t, looping, "loop", nil) }()
	for i := range 20 {
		require.NoError(t, event(t, healthy, "echo", fmt.Sprintf("tick %d", i)))
	}
	require.True(t, f.rec.has("tick 19"))
	require.ErrorIs(t, <-errc, runtime.ErrTimeout)
}

func TestBadABIArguments(t *testing.T) {
	e := newEngine(t, runtime.Config{})
	f, inst := start(t, e, "badabi", runtime.SandboxConfig{})
	require.NoError(t, inst.OnLaunch(t.Context(), abi.LaunchOptions{Version: "1.0.0", Reason: "launch"}))
	require.True(t, f.rec.has("done: 0"), f.rec.dump())
	seen := map[string]bool{}
	f.rec.mu.Lock()
	lines := append([]string(nil), f.rec.lines...)
	f.rec.mu.Unlock()
	for _, l := range lines {
		call, code, ok := strings.Cut(strings.TrimPrefix(l, "log: "), ": ")
		if !ok || call == "done" || strings.HasSuffix(call, " valid") {
			continue
		}
		require.Equal(t, "-1", code, "%s did not return EINVAL", call)
		seen[strings.Fields(call)[0]] = true
	}
	for _, fn := range []string{"log", "set_storage", "get_storage", "remove_storage", "get_storage_info", "show_modal", "get_system_info"} {
		require.True(t, seen[fn], "no bad call to %s:\n%s", fn, f.rec.dump())
	}
	require.NoError(t, inst.Err())
}

func TestNotABIModule(t *testing.T) {
	e := newEngine(t, runtime.Config{})
	sb, err := e.NewSandbox(t.Context(), "test.noabi", newRecorder())
	require.NoError(t, err)
	defer sb.Close(context.Background())
	_, err = sb.Compile(t.Context(), runtimetest.BuildWasm(t, "runtime/testdata/guests/noabi"))
	require.ErrorIs(t, err, runtime.ErrNotABI)
	require.Contains(t, err.Error(), "minihost_abi_version")
	_, err = sb.Compile(t.Context(), []byte("\x00asm\x01\x00\x00\x00garbage"))
	var ce *runtime.CompileError
	require.ErrorAs(t, err, &ce)
}

func TestStorageErrorsReachGuest(t *testing.T) {
	e := newEngine(t, runtime.Config{})
	f, inst := start(t, e, "basic", runtime.SandboxConfig{})
	require.NoError(t, event(t, inst, "storage-set", map[string]string{"key": "k", "value": "v"}))
	require.NoError(t, event(t, inst, "storage-get", map[string]string{"key": "k"}))
	require.NoError(t, event(t, inst, "storage-set", map[string]string{"key": "big", "value": strings.Repeat("x", 200)}))
	require.NoError(t, event(t, inst, "storage-get", map[string]string{"key": "missing"}))
	require.True(t, f.rec.has("set k: ok"), f.rec.dump())
	require.True(t, f.rec.has("get k: v"), f.rec.dump())
	require.True(t, f.rec.has("set big: "), f.rec.dump())
	require.False(t, f.rec.has("set big: ok"), f.rec.dump())
	require.True(t, f.rec.has("get missing: "), f.rec.dump())
}

// TestConcurrentLaunches compiles and starts one package in many
// Sandboxes at once on one file cache (wazero#2547).
func TestConcurrentLaunches(t *testing.T) {
	cache := t.TempDir()
	wasm := runtimetest.BuildWasm(t, "runtime/testdata/guests/basic")
	for round := range 2 { // cold cache, then warm
		e := newEngine(t, runtime.Config{CacheDir: cache})
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := t.Context()
				sb, err := e.NewSandbox(ctx, fmt.Sprintf("test.c%d", i), newRecorder())
				if err != nil {
					errs <- err
					return
				}
				defer sb.Close(ctx)
				mod, err := sb.Compile(ctx, wasm)
				if err != nil {
					errs <- err
					return
				}
				inst, err := sb.Instantiate(ctx, mod, nil)
				if err != nil {
					errs <- err
					return
				}
				errs <- inst.OnLaunch(ctx, abi.LaunchOptions{Version: "1.0.0", Reason: "launch"})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "round %d", round)
		}
	}
}

func TestCacheFallsBackToMemory(t *testing.T) {
	notDir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notDir, []byte("x"), 0o644))
	e, err := runtime.NewEngine(runtime.Config{CacheDir: filepath.Join(notDir, "cache")})
	require.NoError(t, err)
	defer e.Close(context.Background())
	require.Empty(t, runtime.CacheDir(e))
	_, inst := start(t, e, "basic", runtime.SandboxConfig{})
	require.NoError(t, inst.OnShow(t.Context()))
}

func TestOutputFloodIsLimited(t *testing.T) {
	e := newEngine(t, runtime.Config{CallTimeout: 500 * time.Millisecond})
	f, inst := start(t, e, "basic", runtime.SandboxConfig{})
	require.ErrorIs(t, event(t, inst, "flood", nil), runtime.ErrTimeout)
	f.rec.mu.Lock()
	n := len(f.rec.lines)
	f.rec.mu.Unlock()
	require.LessOrEqual(t, n, runtime.DefaultLogBurst+runtime.DefaultLogLinesPerSecond*2)
}
