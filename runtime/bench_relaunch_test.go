package runtime_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// BenchmarkRelaunchWarmPool closes an app and opens it again in a running
// host: ours through the real API (NewSandbox, Compile, Instantiate,
// onLaunch, onShow, Sandbox.Close), which finds the app's Runtime and
// compiled module parked in the Engine's pool; the floor is raw wazero
// doing the same guest work in a Runtime that stays open, on the same
// compiled module and a stub wx: InstantiateModule with _initialize, the
// ABI version, minihost_alloc and the launch options, onLaunch, onShow,
// then closing the instance. "idle-B" is what the pool counts for the
// parked app (Engine's estimate, see RATIONALE.md).
//
//	go test -run '^$' -bench RelaunchWarmPool ./runtime/
func BenchmarkRelaunchWarmPool(b *testing.B) {
	ctx := context.Background()
	wasm := runtimetest.BuildWasm(b, benchWxGuest)
	payload, err := json.Marshal(abi.LaunchOptions{Version: "1.0.0", Reason: "launch", AppID: "test.bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("minihost", func(b *testing.B) {
		e, err := runtime.NewEngine(runtime.Config{CacheDir: runtimetest.CacheDir(b)})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close(ctx)
		relaunch := func() {
			sb, inst := ourInstance(b, e, runtime.SandboxConfig{AppID: "test.bench", API: &benchAPI{}}, wasm)
			defer sb.Close(ctx)
			if err := inst.OnLaunch(ctx, abi.LaunchOptions{Version: "1.0.0", Reason: "launch", AppID: "test.bench"}); err != nil {
				b.Fatal(err)
			}
			if err := inst.OnShow(ctx); err != nil {
				b.Fatal(err)
			}
		}
		relaunch() // the first open compiles; its close parks
		for b.Loop() {
			relaunch()
		}
		b.ReportMetric(float64(runtime.IdleBytes(e)), "idle-B")
	})
	b.Run("floor", func(b *testing.B) {
		cache, err := wazero.NewCompilationCacheWithDir(runtimetest.CacheDir(b))
		if err != nil {
			b.Fatal(err)
		}
		defer cache.Close(ctx)
		rt := floorRuntime(ctx, cache, true)
		defer rt.Close(ctx)
		calls := 0
		first := stubInstance(ctx, b, rt, wasm, &calls) // WASI, the stub wx, the compiled module
		first.Close(ctx)
		compiled, err := rt.CompileModule(ctx, wasm) // a cache hit of the same module
		if err != nil {
			b.Fatal(err)
		}
		seq := 0
		for b.Loop() {
			seq++
			cctx, cancel := context.WithTimeout(ctx, runtime.DefaultCallTimeout)
			mod, err := rt.InstantiateModule(cctx, compiled, wazero.NewModuleConfig().WithName("test.bench#"+strconv.Itoa(seq)).WithStartFunctions("_initialize"))
			if err != nil {
				b.Fatal(err)
			}
			if out, err := mod.ExportedFunction("minihost_abi_version").Call(cctx); err != nil || out[0] != abi.Version {
				b.Fatalf("minihost_abi_version: %v, %v", out, err)
			}
			ptr := writePayload(cctx, b, mod, payload)
			if out, err := mod.ExportedFunction("minihost_on_launch").Call(cctx, uint64(ptr), uint64(len(payload))); err != nil || out[0] != 0 {
				b.Fatalf("minihost_on_launch: %v, %v", out, err)
			}
			if out, err := mod.ExportedFunction("minihost_on_show").Call(cctx); err != nil || out[0] != 0 {
				b.Fatalf("minihost_on_show: %v, %v", out, err)
			}
			mod.Close(ctx)
			cancel()
		}
	})
}
