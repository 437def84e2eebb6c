package runtime_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/internal/guestbuild"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// The benchmarks below come in pairs: ours, then the floor (raw wazero
// doing the same work under the same runtime config). Compare with
// `go test -run '^$' -bench . ./runtime/`.

const benchGuest = "samples/counter"

// rawWx instantiates a "wx" host module whose functions do nothing, so a
// raw wazero floor can instantiate the same guest.
func rawWx(ctx context.Context, b *testing.B, rt wazero.Runtime) {
	b.Helper()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		b.Fatal(err)
	}
	hb := rt.NewHostModuleBuilder("wx")
	for _, fn := range wxImports(b) {
		mod, name, _ := fn.Import()
		if mod != "wx" {
			continue
		}
		hb.NewFunctionBuilder().WithGoModuleFunction(noop{}, fn.ParamTypes(), fn.ResultTypes()).Export(name)
	}
	if _, err := hb.Instantiate(ctx); err != nil {
		b.Fatal(err)
	}
}

// wxImports returns the bench guest's imported functions, read once per
// benchmark: a floor that compiled the guest again for them would time two
// compiles.
func wxImports(b *testing.B) []api.FunctionDefinition {
	b.Helper()
	if imports, ok := benchImports.Load().([]api.FunctionDefinition); ok {
		return imports
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, runtimetest.BuildWasm(b, benchGuest))
	if err != nil {
		b.Fatal(err)
	}
	imports := compiled.ImportedFunctions()
	benchImports.Store(imports)
	return imports
}

// benchImports caches wxImports' answer for the test binary.
var benchImports atomic.Value

type noop struct{}

func (noop) Call(context.Context, api.Module, []uint64) {}

// floorRuntime is the raw wazero Runtime of a floor: our runtime config,
// on cache; closeOnDone is true as in ours unless a floor measures what
// watching the context costs.
func floorRuntime(ctx context.Context, cache wazero.CompilationCache, closeOnDone bool) wazero.Runtime {
	return wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(closeOnDone).WithCompilationCache(cache))
}

// ourInstance compiles wasm in a new sandbox of e and instantiates it;
// the caller closes the sandbox.
func ourInstance(b *testing.B, e *runtime.Engine, cfg runtime.SandboxConfig, wasm []byte) (*runtime.Sandbox, *runtime.Instance) {
	b.Helper()
	return mountedInstance(b, e, cfg, wasm, nil)
}

// mountedInstance is ourInstance with fsys mounted as the guest's files.
func mountedInstance(b *testing.B, e *runtime.Engine, cfg runtime.SandboxConfig, wasm []byte, fsys fs.FS) (*runtime.Sandbox, *runtime.Instance) {
	b.Helper()
	ctx := context.Background()
	sb, err := e.NewSandboxWith(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	mod, err := sb.Compile(ctx, wasm)
	if err != nil {
		sb.Close(ctx)
		b.Fatal(err)
	}
	inst, err := sb.Instantiate(ctx, mod, fsys)
	if err != nil {
		sb.Close(ctx)
		b.Fatal(err)
	}
	return sb, inst
}

func launchOurs(b *testing.B, e *runtime.Engine, wasm []byte) {
	ctx := context.Background()
	sb, inst := ourInstance(b, e, runtime.SandboxConfig{AppID: "demo.counter", API: newRecorder()}, wasm)
	defer sb.Close(ctx)
	if err := inst.OnLaunch(ctx, abi.LaunchOptions{Version: "1.0.0", Reason: "launch"}); err != nil {
		b.Fatal(err)
	}
}

// launchFresh launches wasm on an Engine of its own, opened with cfg and
// closed after, as a new process would.
func launchFresh(b *testing.B, cfg runtime.Config, wasm []byte) {
	e, err := runtime.NewEngine(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(context.Background())
	launchOurs(b, e, wasm)
}

// rawInstance instantiates wasm in rt, on the do-nothing wx of rawWx,
// with the reactor's _initialize as ours does.
func rawInstance(ctx context.Context, b *testing.B, rt wazero.Runtime, wasm []byte) api.Module {
	b.Helper()
	rawWx(ctx, b, rt)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		b.Fatal(err)
	}
	return mod
}

func launchRaw(b *testing.B, cache wazero.CompilationCache, wasm []byte) {
	ctx := context.Background()
	rt := floorRuntime(ctx, cache, true)
	defer rt.Close(ctx)
	rawInstance(ctx, b, rt, wasm)
}

func BenchmarkColdLaunchEmptyCache(b *testing.B) {
	wasm := runtimetest.BuildWasm(b, benchGuest)
	b.Run("minihost", func(b *testing.B) {
		for b.Loop() {
			launchFresh(b, runtime.Config{MemoryCache: true}, wasm)
		}
	})
	b.Run("floor", func(b *testing.B) {
		for b.Loop() {
			cache := wazero.NewCompilationCache()
			launchRaw(b, cache, wasm)
			cache.Close(context.Background())
		}
	})
}

// BenchmarkColdLaunchWarmCache launches the bench guest as the build
// makes it (its data segments merged, as mpk.Build does) through minihost and
// through raw wazero, both with a warm file cache; "floor-unmerged" is raw
// wazero on the module as Go's linker wrote it, the floor before the build
// merged segments.
func BenchmarkColdLaunchWarmCache(b *testing.B) {
	wasm := runtimetest.BuildWasm(b, benchGuest)
	unmerged := filepath.Join(b.TempDir(), "unmerged.wasm")
	if err := guestbuild.Compile(b.Context(), filepath.Join(runtimetest.ModuleRoot(b), benchGuest), unmerged, guestbuild.Options{KeepDataSegments: true}); err != nil {
		b.Fatal(err)
	}
	unmergedWasm, err := os.ReadFile(unmerged)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	launchFresh(b, runtime.Config{CacheDir: dir}, wasm) // warms the file cache
	b.Run("minihost", func(b *testing.B) {
		for b.Loop() {
			launchFresh(b, runtime.Config{CacheDir: dir}, wasm)
		}
	})
	for _, f := range []struct {
		name string
		wasm []byte
	}{{"floor", wasm}, {"floor-unmerged", unmergedWasm}} {
		b.Run(f.name, func(b *testing.B) {
			launch := func() {
				cache, err := wazero.NewCompilationCacheWithDir(dir)
				if err != nil {
					b.Fatal(err)
				}
				launchRaw(b, cache, f.wasm)
				cache.Close(context.Background())
			}
			// Warm the floor's own cache entry (our table rewrite makes
			// the bytes ours compiles differ); b.Loop times from its
			// first call, so no run times a compile.
			launch()
			for b.Loop() {
				launch()
			}
		})
	}
}

func BenchmarkDispatch(b *testing.B) {
	ctx := context.Background()
	wasm := runtimetest.BuildWasm(b, benchGuest)
	cache := wazero.NewCompilationCache()
	defer cache.Close(ctx)
	b.Run("minihost", func(b *testing.B) {
		e, err := runtime.NewEngine(runtime.Config{MemoryCache: true})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close(ctx)
		sb, inst := ourInstance(b, e, runtime.SandboxConfig{AppID: "demo.counter", API: newRecorder()}, wasm)
		defer sb.Close(ctx)
		for b.Loop() {
			if err := inst.OnShow(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	raw := func(b *testing.B, closeOnDone bool) {
		rt := floorRuntime(ctx, cache, closeOnDone)
		defer rt.Close(ctx)
		fn := rawInstance(ctx, b, rt, wasm).ExportedFunction("minihost_on_show")
		stack := make([]uint64, 1)
		for b.Loop() {
			cctx := ctx
			var cancel context.CancelFunc = func() {}
			if closeOnDone {
				cctx, cancel = context.WithTimeout(ctx, time.Minute)
			}
			if err := fn.CallWithStack(cctx, stack); err != nil {
				b.Fatal(err)
			}
			cancel()
		}
	}
	b.Run("floor", func(b *testing.B) { raw(b, true) })
	b.Run("floor-no-deadline", func(b *testing.B) { raw(b, false) })
}
