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
// then closing the instance. "idle" does what "minihost" does and reports
// "idle-B", what the pool counts for the parked app (the Engine's
// estimate, see RATIONALE.md), in a row of its own: a figure is shown in
// its custom unit, which the floor has not. "no-pool" is ours with the
// pool off (Config.IdleBytes -1): the relaunch before it, a compile from
// the warm cache in a new Runtime.
//
//	go test -run '^$' -bench RelaunchWarmPool ./runtime/
func BenchmarkRelaunchWarmPool(b *testing.B) {
	ctx := context.Background()
	wasm := runtimetest.BuildWasm(b, benchWxGuest)
	payload, err := json.Marshal(abi.LaunchOptions{Version: "1.0.0", Reason: "launch", AppID: "test.bench"})
	if err != nil {
		b.Fatal(err)
	}
	ours := func(b *testing.B, idleBytes int64, idle bool) {
		e, err := runtime.NewEngine(runtime.Config{CacheDir: runtimetest.CacheDir(b), IdleBytes: idleBytes})
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
		if idle {
			b.ReportMetric(float64(runtime.IdleBytes(e)), "idle-B")
		}
	}
	b.Run("minihost", func(b *testing.B) { ours(b, 0, false) })
	b.Run("idle", func(b *testing.B) { ours(b, 0, true) })
	b.Run("no-pool", func(b *testing.B) { ours(b, -1, false) })
	b.Run("floor", func(b *testing.B) {
		rt := testCacheFloor(ctx, b)
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
