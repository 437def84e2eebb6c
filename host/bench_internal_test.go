package host

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/spf13/afero"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// BenchmarkHotSwap measures applyUpdate's swap (instantiate the compiled
// new version, close the old one, onLaunch and onShow on the new one)
// beside its floor, the same work in raw wazero on a precompiled module:
// instantiate with _initialize, close the previous instance, onLaunch
// with its options in guest memory, onShow (wx functions that do
// nothing). Both run the bench guest, whose callbacks ask nothing of the
// host, so the ratio is the host's own cost. "counter" is the swap of
// samples/counter, whose onLaunch stores its launch counter durably
// (an atomic file write: two fsyncs the floor's stubs do not do), against
// the same floor. Run: go test -run '^$' -bench HotSwap ./host/
func BenchmarkHotSwap(b *testing.B) {
	ctx := context.Background()
	home := b.TempDir()
	h, err := New(Config{Home: home, Runtime: runtime.Config{CacheDir: runtimetest.CacheDir(b)}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(ctx)
	var wasm []byte
	for _, guest := range []struct{ name, dir string }{
		{"minihost", "runtime/testdata/guests/bench"},
		{"counter", "samples/counter"},
	} {
		pkg := runtimetest.BuildPackage(b, guest.dir, "1.0.0")
		a, err := h.LaunchPackage(ctx, pkg)
		if err != nil {
			b.Fatal(err)
		}
		p, err := mpk.OpenFile(pkg, mpk.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		code, err := p.ReadFile(p.Manifest.Entry)
		if err == nil {
			err = p.Extract(b.Context(), afero.NewOsFs(), filepath.Join(home, guest.name, "v2"))
		}
		p.Close()
		if err != nil {
			b.Fatal(err)
		}
		if wasm == nil {
			wasm = code // the floor's: the bench guest
		}
		next := version{v: "1.0.0", dir: filepath.Join(home, guest.name, "v2"), wasm: code}
		b.Run(guest.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				mod, err := a.sb.Compile(ctx, code)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				err = a.do(ctx, func(ctx context.Context) error {
					a.upd.ready = &prepared{ver: next, mod: mod}
					a.swap(ctx)
					if a.cur.mod != mod {
						b.Fatal("not swapped")
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("floor", func(b *testing.B) {
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(true))
		defer rt.Close(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
		compiled, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			b.Fatal(err)
		}
		hb := rt.NewHostModuleBuilder("wx")
		for _, fn := range compiled.ImportedFunctions() {
			if m, name, _ := fn.Import(); m == "wx" {
				f := func(context.Context, api.Module, []uint64) {}
				if name == "get_storage" {
					// No key yet (ENOTFOUND): a 0 would read as an empty
					// value, which the sample treats as damage and reports.
					f = func(_ context.Context, _ api.Module, s []uint64) { s[0] = api.EncodeI32(int32(abi.CodeNotFound)) }
				}
				hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(f), fn.ParamTypes(), fn.ResultTypes()).Export(name)
			}
		}
		if _, err := hb.Instantiate(ctx); err != nil {
			b.Fatal(err)
		}
		payload, err := json.Marshal(abi.LaunchOptions{Version: "1.0.0", Reason: "update", AppID: "test.bench"})
		if err != nil {
			b.Fatal(err)
		}
		// The same work as the swap: instantiate with _initialize, close
		// the old instance, then onLaunch (its options written into guest
		// memory) and onShow on the new one.
		var old api.Module
		for b.Loop() {
			mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize"))
			if err != nil {
				b.Fatal(err)
			}
			if old != nil {
				old.Close(ctx)
			}
			old = mod
			res, err := mod.ExportedFunction("minihost_alloc").Call(ctx, uint64(len(payload)))
			if err != nil || res[0] == 0 || !mod.Memory().Write(uint32(res[0]), payload) {
				b.Fatalf("write the launch options: %v %v", res, err)
			}
			if _, err := mod.ExportedFunction("minihost_on_launch").Call(ctx, res[0], uint64(len(payload))); err != nil {
				b.Fatal(err)
			}
			if _, err := mod.ExportedFunction("minihost_on_show").Call(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
