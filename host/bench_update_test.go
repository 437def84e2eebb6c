package host_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

// Benchmarks of launches with updates and of memory per running app, each
// beside its floor in the same run:
//
//	go test -run '^$' -bench 'SyncLaunch|RSSPerApp' ./host/
//
// They use the bench guest (runtime/testdata/guests/bench), which does no
// work of its own at launch, so the figures are the host's.

const (
	benchGuestDir = "runtime/testdata/guests/bench"
	benchAppID    = "test.bench"
)

// BenchmarkSyncLaunch measures a sync launch that finds no update, on
// loopback: Host.Launch of an installed app whose pending flag is set (rule
// S6), so the launch checks the release server (one GET of the signed
// document, verified and saved) before it opens the local version.
//
//   - minihost: that sync launch, on a host that stays up (its HTTP client
//     keeps the connection alive), until onLaunch and onShow ran.
//   - async: the same host's async launch (no check before opening; the
//     check that follows is waited for outside the timer).
//   - floor: the raw wazero cold launch of the same module (read the entry
//     from disk, a Runtime of the same config on the same warm compile
//     cache, WASI and a stub wx, instantiate with _initialize, onLaunch and
//     onShow) plus one keep-alive GET of the document with net/http. Its
//     Runtime and CompiledModule are closed after each launch, outside the
//     timer, as an app's close closes them.
//
// The goal "sync launch without update <= cold launch + 1 ms" compares
// minihost with async.
func BenchmarkSyncLaunch(b *testing.B) {
	ctx := context.Background()
	kit := updatertest.NewServer(b, updatertest.Config{})
	kit.Publish(b, runtimetest.BuildPackage(b, benchGuestDir, "1.0.0"), 100)
	checked := make(chan struct{}, 16)
	home := b.TempDir()
	// newHost makes a host over home; with a LongUnused of 1 ns, a launch
	// after the policy clock moved is sync (rule S4), and nothing changes
	// on the server.
	newHost := func(policy updater.PolicyConfig) *host.Host {
		h, err := host.New(host.Config{
			Home:    home,
			Runtime: runtime.Config{CacheDir: runtimetest.CacheDir(b)},
			Updates: &host.UpdateConfig{Server: kit.URL, PublicKey: kit.PublicKey, Clock: kit.Clock, Now: kit.Clock.Now,
				ClientID: "bench-client", Policy: policy},
			OnEvent: func(ev host.Event) {
				if ev.Event == host.EventCheckForUpdate {
					select {
					case checked <- struct{}{}:
					default:
					}
				}
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		return h
	}
	h := newHost(updater.PolicyConfig{})
	defer h.Close(ctx)
	syncHost := newHost(updater.PolicyConfig{LongUnused: time.Nanosecond})
	defer syncHost.Close(ctx)
	var launchOn *host.Host
	launch := func(b *testing.B, mode string) {
		a, err := launchOn.Launch(ctx, benchAppID)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if d := a.Decision(); d.Mode != mode || d.Opened != "1.0.0" || d.Download != nil {
			b.Fatalf("launch: mode %s, opened %s, download %+v; want a %s launch of 1.0.0 without download", d.Mode, d.Opened, d.Download, mode)
		}
		waitChecked(b, checked) // onCheckForUpdate: the async check is over
		if err := a.Close(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	// The first launch installs 1.0.0 (sync, rule F1).
	a, err := h.Launch(ctx, benchAppID)
	if err != nil {
		b.Fatal(err)
	}
	waitChecked(b, checked)
	a.Close(ctx)

	b.Run("minihost", func(b *testing.B) {
		launchOn = syncHost
		for b.Loop() {
			b.StopTimer()
			kit.Clock.Advance(time.Second) // past LongUnused: a sync launch (S4)
			b.StartTimer()
			launch(b, "sync")
		}
	})
	b.Run("async", func(b *testing.B) {
		launchOn = h
		for b.Loop() {
			launch(b, "async")
		}
	})
	b.Run("floor", func(b *testing.B) {
		entry := filepath.Join(h.Store().PackageDir(benchAppID, "1.0.0"), "app.wasm")
		cache, err := wazero.NewCompilationCacheWithDir(runtimetest.CacheDir(b))
		if err != nil {
			b.Fatal(err)
		}
		defer cache.Close(ctx)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		docURL := kit.URL + "/apps/" + benchAppID + "/release.json"
		for b.Loop() {
			rt, compiled := rawLaunch(b, cache, entry)
			resp, err := client.Get(docURL)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || len(body) == 0 {
				b.Fatalf("GET %s: %d, %d bytes, %v", docURL, resp.StatusCode, len(body), err)
			}
			b.StopTimer()
			rt.Close(ctx)
			// As an app's close does: without it wazero keeps the machine
			// code in memory and the next launch skips loading it from
			// the cache file, which ours does not.
			compiled.Close(ctx)
			b.StartTimer()
		}
	})
}

// waitChecked waits (bounded) for the onCheckForUpdate of a launch.
func waitChecked(b *testing.B, checked <-chan struct{}) {
	select {
	case <-checked:
	case <-time.After(time.Minute):
		b.Fatal("no onCheckForUpdate within a minute")
	}
}

// rawLaunch is the floor of a cold launch: raw wazero with the runtime
// package's Runtime config, the module read from disk and compiled through
// the warm cache, a stub wx, _initialize, then onLaunch (payload written
// into a buffer from minihost_alloc) and onShow. The caller closes the
// Runtime and the CompiledModule (the Runtime's Close leaves the compiled
// code in the cache's engine, shared by every Runtime on that cache).
func rawLaunch(tb testing.TB, cache wazero.CompilationCache, entry string) (wazero.Runtime, wazero.CompiledModule) {
	ctx := context.Background()
	wasm, err := os.ReadFile(entry)
	if err != nil {
		tb.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true).WithCompilationCache(cache))
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		tb.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		tb.Fatal(err)
	}
	rawInstance(tb, rt, compiled, "")
	return rt, compiled
}

// rawInstance instantiates compiled in rt (adding the stub wx module on
// the first call) under the given module name and delivers onLaunch and
// onShow, as the host does to a new instance.
func rawInstance(tb testing.TB, rt wazero.Runtime, compiled wazero.CompiledModule, name string) api.Module {
	ctx := context.Background()
	if rt.Module("wx") == nil {
		hb := rt.NewHostModuleBuilder("wx")
		for _, fn := range compiled.ImportedFunctions() {
			if m, n, _ := fn.Import(); m == "wx" {
				hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
					stack[0] = 0
				}), fn.ParamTypes(), fn.ResultTypes()).Export(n)
			}
		}
		if _, err := hb.Instantiate(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(name).WithStartFunctions("_initialize"))
	if err != nil {
		tb.Fatal(err)
	}
	payload := []byte(`{"version":"1.0.0","reason":"launch","appId":"test.bench"}`)
	res, err := mod.ExportedFunction("minihost_alloc").Call(ctx, uint64(len(payload)))
	if err != nil || res[0] == 0 || !mod.Memory().Write(uint32(res[0]), payload) {
		tb.Fatalf("minihost_alloc: %v, %v", res, err)
	}
	for _, call := range []struct {
		name string
		args []uint64
	}{{"minihost_on_launch", []uint64{res[0], uint64(len(payload))}}, {"minihost_on_show", nil}} {
		if out, err := mod.ExportedFunction(call.name).Call(ctx, call.args...); err != nil || out[0] != 0 {
			tb.Fatalf("%s: %v, %v", call.name, out, err)
		}
	}
	return mod
}

// rssApps is how many apps BenchmarkRSSPerApp runs at once.
const rssApps = 50

// rssEnv selects the child mode of TestRSSChild.
const rssEnv = "MINIHOST_BENCH_RSS"

// BenchmarkRSSPerApp measures the resident memory each running app adds,
// in MiB/app. Each measurement runs in a fresh process, so the heap and
// mappings of other benchmarks do not blur it: the benchmark re-executes
// its own test binary with -test.run '^TestRSSChild$' and $MINIHOST_BENCH_RSS
// set to the mode, and reads the figure the child prints. The child starts
// one app (so that whatever every app shares is loaded), runs a GC and
// returns freed memory to the OS, reads VmRSS from /proc/self/status, starts
// 50 more, does the same, and prints the difference over 50.
//
//   - minihost: Host.LaunchPackage of 50 app folders (distinct app ids, the same
//     module), each in its own Sandbox (one wazero Runtime per app), with
//     onLaunch and onShow delivered.
//   - floor: 50 raw instances of the same module in one wazero Runtime of
//     the same config (compiled once), each with _initialize, onLaunch and
//     onShow.
//   - floor-runtime-per-app: 50 raw Runtimes, each loading the module from
//     the warm compile cache and running one instance: the cost of one
//     Runtime per app without the host.
//
// Linux only (it reads /proc).
func BenchmarkRSSPerApp(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc/self/status")
	}
	for _, mode := range []string{"minihost", "floor", "floor-runtime-per-app"} {
		b.Run(mode, func(b *testing.B) {
			var sum float64
			n := 0
			for b.Loop() {
				perApp, err := rssChild(b.Context(), mode)
				if err != nil {
					b.Fatal(err)
				}
				sum += perApp
				n++
			}
			b.ReportMetric(sum/float64(n)/(1<<20), "MiB/app")
		})
	}
}

// rssChild runs TestRSSChild in a new process and returns the bytes per
// app it measured.
func rssChild(ctx context.Context, mode string) (float64, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRSSChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), rssEnv+"="+mode)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("rss child %s: %w\n%s", mode, err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "rss-per-app-bytes: "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("rss child %s printed no figure:\n%s", mode, out)
}

// TestRSSChild is BenchmarkRSSPerApp's measurement, run in a child
// process; it skips unless $MINIHOST_BENCH_RSS names a mode.
func TestRSSChild(t *testing.T) {
	mode := os.Getenv(rssEnv)
	if mode == "" {
		t.Skip("a helper of BenchmarkRSSPerApp; runs only in its child process")
	}
	ctx := context.Background()
	pkg := runtimetest.BuildPackage(t, benchGuestDir, "1.0.0")
	p, err := mpk.OpenFile(pkg, mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(t.TempDir(), "base")
	err = p.Extract(t.Context(), afero.NewOsFs(), base)
	p.Close()
	if err != nil {
		t.Fatal(err)
	}
	entry := filepath.Join(base, "app.wasm")

	var start func(i int)
	switch mode {
	case "minihost":
		h, err := host.New(host.Config{Home: t.TempDir(), Runtime: runtime.Config{CacheDir: runtimetest.CacheDir(t)}})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(ctx)
		start = func(i int) {
			dir := rssAppDir(t, base, fmt.Sprintf("%s.%d", benchAppID, i))
			if _, err := h.LaunchPackage(ctx, dir); err != nil {
				t.Fatal(err)
			}
		}
	case "floor":
		cache, err := wazero.NewCompilationCacheWithDir(runtimetest.CacheDir(t))
		if err != nil {
			t.Fatal(err)
		}
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true).WithCompilationCache(cache))
		defer rt.Close(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
		wasm, err := os.ReadFile(entry)
		if err != nil {
			t.Fatal(err)
		}
		compiled, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		start = func(i int) { rawInstance(t, rt, compiled, fmt.Sprintf("app#%d", i)) }
	case "floor-runtime-per-app":
		cache, err := wazero.NewCompilationCacheWithDir(runtimetest.CacheDir(t))
		if err != nil {
			t.Fatal(err)
		}
		var rts []wazero.Runtime
		defer func() {
			for _, rt := range rts {
				rt.Close(ctx)
			}
		}()
		start = func(int) {
			rt, _ := rawLaunch(t, cache, entry)
			rts = append(rts, rt)
		}
	default:
		t.Fatalf("$%s=%q: want minihost, floor or floor-runtime-per-app", rssEnv, mode)
	}

	start(0)
	before := settledRSS(t)
	for i := 1; i <= rssApps; i++ {
		start(i)
	}
	after := settledRSS(t)
	fmt.Printf("rss-per-app-bytes: %d\n", (after-before)/rssApps)
	t.Logf("%s: VmRSS %d KiB with 1 app, %d KiB with %d more", mode, before>>10, after>>10, rssApps)
}

// rssAppDir makes an extracted package folder for app id from base: its
// own app.json, the entry module hard-linked (copied where links fail).
func rssAppDir(t *testing.T, base, id string) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(base), id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(base, mpk.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["appId"] = id
	raw, _ = json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, mpk.ManifestName), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	src, dst := filepath.Join(base, "app.wasm"), filepath.Join(dir, "app.wasm")
	if err := os.Link(src, dst); err != nil {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// settledRSS collects garbage, returns freed memory to the OS and reads
// the process's resident set size in bytes.
func settledRSS(t *testing.T) int64 {
	t.Helper()
	goruntime.GC()
	debug.FreeOSMemory()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kib << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
