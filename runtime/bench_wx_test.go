package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// The wx call benchmarks measure one guest -> host -> guest round trip
// through a wx import: the bench guest calls the import b.N times inside
// one custom event, so ns/op is the cost of one call (the one event around
// them is amortised). "minihost" goes through the runtime's wx module and
// a HostAPI that does nothing; "floor" is the same guest code in a raw
// wazero Runtime of the same config, whose "wx" module is made of
// WithGoModuleFunction stubs that only return the same result code. The
// difference is what our ABI layer (bounds checks, UTF-8 check, copying
// the key, the HostAPI call, error mapping) adds per call. Both load the
// compiled guest from the shared test compile cache, so the runs that
// only find b.N stay cheap.
//
// This file also holds two launch benchmarks of the same guest:
// BenchmarkColdLaunchSingleCompile and BenchmarkCompileWorkers.
//
//	go test -run '^$' -bench 'Wx|SingleCompile|CompileWorkers' ./runtime/

const benchWxGuest = "runtime/testdata/guests/bench"

// benchAPI is a HostAPI that does nothing but count the calls the
// benchmarks make, so that they can check the guest really called.
type benchAPI struct{ calls int }

func (a *benchAPI) Log(abi.LogLevel, string, string) { a.calls++ }
func (a *benchAPI) GetStorage(string) ([]byte, error) {
	a.calls++
	return nil, abi.CodeNotFound
}
func (a *benchAPI) SetStorage(string, []byte) error { return nil }
func (a *benchAPI) RemoveStorage(string) error      { a.calls++; return nil }
func (a *benchAPI) ClearStorage() error             { return nil }
func (a *benchAPI) StorageInfo() (abi.StorageInfo, error) {
	return abi.StorageInfo{Keys: []string{}}, nil
}
func (a *benchAPI) ShowModal(abi.Modal) (uint32, error) { return 1, nil }
func (a *benchAPI) SystemInfo() abi.SystemInfo {
	return abi.SystemInfo{AppID: "test.bench", ABIVersion: 1}
}
func (a *benchAPI) RegisterUpdateManager() error           { return nil }
func (a *benchAPI) ApplyUpdate() error                     { return abi.CodeNotReady }
func (a *benchAPI) SetTimer(time.Duration) (uint32, error) { return 1, nil }
func (a *benchAPI) ClearTimer(uint32)                      {}
func (a *benchAPI) SetData(abi.ViewData) error             { return nil }

var _ runtime.HostAPI = (*benchAPI)(nil)

// benchEvent is the payload of minihost_on_event for custom event name
// with data n.
func benchEvent(b *testing.B, name string, n int) []byte {
	p, err := json.Marshal(struct {
		Name string `json:"name"`
		Data int    `json:"data"`
	}{name, n})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// timeCalls times custom event name with data b.N, which makes b.N wx
// calls, and checks that counter saw them.
func timeCalls(b *testing.B, inst *runtime.Instance, counter *benchAPI, name string) {
	timeEvent(b, inst, counter, name, b.N)
}

// timeEvent times custom event name with data b.N and checks that
// counter saw calls wx calls.
func timeEvent(b *testing.B, inst *runtime.Instance, counter *benchAPI, name string, calls int) {
	payload := benchEvent(b, name, b.N)
	b.ResetTimer()
	if err := inst.OnEvent(context.Background(), abi.EventCustom, payload); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if counter.calls != calls {
		b.Fatalf("guest made %d wx calls, want %d", counter.calls, calls)
	}
}

// benchCallTimeout bounds one event of b.N calls: far above any b.N the
// default benchtime picks, so the deadline never fires, but set, as in
// production, so that wazero watches the context in both runs.
const benchCallTimeout = time.Hour

func BenchmarkWxCall(b *testing.B) { benchWx(b, "get-missing", runtime.Config{}) }

// BenchmarkWxLog measures wx.log lines that the output rate limit lets
// through: with the default limit (a burst of 1000 lines, then 200 a
// second) all but the first thousand of b.N lines would be dropped
// unseen, which is cheaper and not what a well-behaved guest pays, so the
// benchmark raises the limit past any b.N through Config.
func BenchmarkWxLog(b *testing.B) {
	benchWx(b, "log", runtime.Config{LogLinesPerSecond: 1 << 30, LogBurst: 1 << 30})
}

// BenchmarkWxCallRaw calls the wx import remove_storage directly from the
// guest, without the SDK's wrapper, so the guest's share of the round trip
// is as small as it gets and the host side shows most.
func BenchmarkWxCallRaw(b *testing.B) { benchWx(b, "remove-raw", runtime.Config{}) }

// benchWx runs event in the bench guest under both runtimes; cfg
// configures ours (its CacheDir is set here).
func benchWx(b *testing.B, event string, cfg runtime.Config) {
	ctx := context.Background()
	wasm := runtimetest.BuildWasm(b, benchWxGuest)
	b.Run("minihost", func(b *testing.B) {
		cfg.CacheDir = runtimetest.CacheDir(b)
		e, err := runtime.NewEngine(cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close(ctx)
		counter := &benchAPI{}
		sb, inst := ourInstance(b, e, runtime.SandboxConfig{AppID: "test.bench", API: counter, CallTimeout: benchCallTimeout}, wasm)
		defer sb.Close(ctx)
		timeCalls(b, inst, counter, event)
	})
	b.Run("floor", func(b *testing.B) {
		rt := testCacheFloor(ctx, b)
		calls := 0
		mod := stubInstance(ctx, b, rt, wasm, &calls)
		payload := benchEvent(b, event, b.N)
		ptr := writePayload(ctx, b, mod, payload)
		fn := mod.ExportedFunction("minihost_on_event")
		stack := []uint64{uint64(abi.EventCustom), uint64(ptr), uint64(len(payload))}
		b.ResetTimer()
		cctx, cancel := context.WithTimeout(ctx, benchCallTimeout)
		err := fn.CallWithStack(cctx, stack)
		cancel()
		b.StopTimer()
		if err != nil || stack[0] != 0 {
			b.Fatalf("minihost_on_event: code %d, %v", int32(stack[0]), err)
		}
		if calls != b.N {
			b.Fatalf("guest made %d wx calls, want %d", calls, b.N)
		}
	})
}

// testCacheFloor returns a floor Runtime on the shared test compile
// cache, both closed when b ends.
func testCacheFloor(ctx context.Context, b *testing.B) wazero.Runtime {
	cache, err := wazero.NewCompilationCacheWithDir(runtimetest.CacheDir(b))
	if err != nil {
		b.Fatal(err)
	}
	rt := floorRuntime(ctx, cache, true)
	b.Cleanup(func() {
		rt.Close(ctx)
		cache.Close(ctx)
	})
	return rt
}

// stubWx builds a "wx" host module for the imports of compiled whose
// functions do nothing but count the calls the benchmarks make (log,
// get_storage, remove_storage) and return what the benchAPI path returns:
// ENOTFOUND (-2) for get_storage, 0 for the rest.
func stubWx(rt wazero.Runtime, compiled wazero.CompiledModule, calls *int) wazero.HostModuleBuilder {
	hb := rt.NewHostModuleBuilder("wx")
	for _, fn := range compiled.ImportedFunctions() {
		mod, name, _ := fn.Import()
		if mod != "wx" {
			continue
		}
		var f api.GoModuleFunc
		switch name {
		case "get_storage":
			f = func(_ context.Context, _ api.Module, stack []uint64) {
				*calls++
				stack[0] = api.EncodeI32(-2)
			}
		case "log", "remove_storage":
			f = func(_ context.Context, _ api.Module, stack []uint64) {
				*calls++
				stack[0] = 0
			}
		default:
			f = func(_ context.Context, _ api.Module, stack []uint64) { stack[0] = 0 }
		}
		hb.NewFunctionBuilder().WithGoModuleFunction(f, fn.ParamTypes(), fn.ResultTypes()).Export(name)
	}
	return hb
}

// stubInstance instantiates wasm in rt, on WASI and the counting wx of
// stubWx, with the reactor's _initialize as ours does.
func stubInstance(ctx context.Context, b *testing.B, rt wazero.Runtime, wasm []byte, calls *int) api.Module {
	b.Helper()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		b.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := stubWx(rt, compiled, calls).Instantiate(ctx); err != nil {
		b.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		b.Fatal(err)
	}
	return mod
}

// writePayload copies payload into memory the guest allocates for it, as
// the runtime does before a callback, and returns its address.
func writePayload(ctx context.Context, b *testing.B, mod api.Module, payload []byte) uint32 {
	b.Helper()
	res, err := mod.ExportedFunction("minihost_alloc").Call(ctx, uint64(len(payload)))
	if err != nil || res[0] == 0 {
		b.Fatalf("minihost_alloc: %v %v", res, err)
	}
	ptr := uint32(res[0])
	if !mod.Memory().Write(ptr, payload) {
		b.Fatal("payload outside guest memory")
	}
	return ptr
}

// BenchmarkCompileWorkers measures a cold launch with an empty cache with
// 1 and 2 parallel compile workers (runtime.Config.CompileWorkers; the
// default is the number of CPUs). It has no floor: it answers whether
// parallel compilation pays on this machine.
func BenchmarkCompileWorkers(b *testing.B) {
	wasm := runtimetest.BuildWasm(b, benchGuest)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				launchFresh(b, runtime.Config{MemoryCache: true, CompileWorkers: workers}, wasm)
			}
		})
	}
}

// BenchmarkColdLaunchSingleCompile is BenchmarkColdLaunchWarmCache with a
// floor that compiles the module once: that benchmark's floor compiles the
// guest twice per launch (rawWx compiles it to list its imports, then
// launchRaw compiles it again), which makes ours look faster than raw
// wazero. Here the floor compiles once, builds the stub wx from that
// compiled module's imports, instantiates with _initialize and delivers
// onLaunch as ours does. Both load the bench guest from the same warm
// file cache, and ours opens an Engine per launch as a new process would.
func BenchmarkColdLaunchSingleCompile(b *testing.B) {
	ctx := context.Background()
	wasm := runtimetest.BuildWasm(b, benchWxGuest)
	dir := b.TempDir()
	launchFresh(b, runtime.Config{CacheDir: dir}, wasm) // warms the cache
	b.Run("minihost", func(b *testing.B) {
		for b.Loop() {
			launchFresh(b, runtime.Config{CacheDir: dir}, wasm)
		}
	})
	b.Run("floor", func(b *testing.B) {
		payload, err := json.Marshal(abi.LaunchOptions{Version: "1.0.0", Reason: "launch", AppID: "test.bench"})
		if err != nil {
			b.Fatal(err)
		}
		launch := func() {
			cache, err := wazero.NewCompilationCacheWithDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			rt := floorRuntime(ctx, cache, true)
			calls := 0
			mod := stubInstance(ctx, b, rt, wasm, &calls)
			ptr := writePayload(ctx, b, mod, payload)
			if out, err := mod.ExportedFunction("minihost_on_launch").Call(ctx, uint64(ptr), uint64(len(payload))); err != nil || out[0] != 0 {
				b.Fatalf("minihost_on_launch: %v, %v", out, err)
			}
			rt.Close(ctx)
			cache.Close(ctx)
		}
		launch() // warms the floor's own cache entry; b.Loop times from its first call
		for b.Loop() {
			launch()
		}
	})
}
