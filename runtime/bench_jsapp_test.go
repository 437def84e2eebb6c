package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// jsBase is the JS base library guest (goja on the wx SDK), which runs
// every JavaScript package; runtimetest builds it once per source hash.
const jsBase = "samples/jsbase"

// launchPackage starts wasm with fsys mounted, as the host opens a
// package, delivers onLaunch and onShow, and closes everything.
func launchPackage(b *testing.B, e *runtime.Engine, wasm []byte, fsys fstest.MapFS) {
	ctx := context.Background()
	sb, inst := mountedInstance(b, e, runtime.SandboxConfig{AppID: "demo.bench", API: &benchAPI{}}, wasm, fsys)
	defer sb.Close(ctx)
	if err := inst.OnLaunch(ctx, abi.LaunchOptions{Version: "1.0.0", Reason: abi.ReasonLaunch, AppID: "demo.bench"}); err != nil {
		b.Fatal(err)
	}
	if err := inst.OnShow(ctx); err != nil {
		b.Fatal(err)
	}
}

// seedJS is samples/seed-js as the guest sees it when mounted.
func seedJS(b *testing.B) fstest.MapFS {
	dir := filepath.Join(runtimetest.ModuleRoot(b), "samples", "seed-js")
	fsys := fstest.MapFS{}
	for _, name := range []string{"app.json", "app.js", "util.js"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: data}
	}
	return fsys
}

// BenchmarkJSColdLaunch is the cold start of a JavaScript app on a warm
// compile cache: a fresh Engine (a new process), the base library's
// compiled code from the cache, goja's start, samples/seed-js's app.js
// (and util.js) evaluated, onLaunch and onShow; "floor" is the same cold
// start of the Go bench guest, the cost of a mini program without JS.
// "relaunch" closes the JS app and opens it again in a running host (one
// Engine, the default Config): the pool's default budget holds the base
// library (4 times its 19.7 MB as it counts), so a relaunch is an
// instantiate; "relaunch-no-pool" turns the pool off (IdleBytes -1), so a
// relaunch is a cache hit again.
func BenchmarkJSColdLaunch(b *testing.B) {
	dir := runtimetest.CacheDir(b) // the base library compiles once per machine, not per run
	for _, v := range []struct {
		name  string
		guest string
		fsys  fstest.MapFS
	}{{"minihost", jsBase, seedJS(b)}, {"floor", benchGuest, nil}} {
		wasm := runtimetest.BuildWasm(b, v.guest)
		launch := func() {
			e, err := runtime.NewEngine(runtime.Config{CacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(context.Background())
			launchPackage(b, e, wasm, v.fsys)
		}
		launch() // warms the file cache: no run times a compile
		b.Run(v.name, func(b *testing.B) {
			for b.Loop() {
				launch()
			}
		})
	}
	wasm, seed := runtimetest.BuildWasm(b, jsBase), seedJS(b)
	for _, v := range []struct {
		name      string
		idleBytes int64
		parked    bool
	}{{"relaunch", 0, true}, {"relaunch-no-pool", -1, false}} {
		b.Run(v.name, func(b *testing.B) {
			e, err := runtime.NewEngine(runtime.Config{CacheDir: dir, IdleBytes: v.idleBytes})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close(context.Background())
			launchPackage(b, e, wasm, seed) // its close parks, when the pool takes it
			if parked := runtime.IdleBytes(e) > 0; parked != v.parked {
				b.Fatalf("base library parked after a close: %t, want %t", parked, v.parked)
			}
			for b.Loop() {
				launchPackage(b, e, wasm, seed)
			}
		})
	}
}

// BenchmarkJSWxCall is one wx call made from JavaScript
// (wx.getStorageSync of a missing key, b.N in one event) against the
// same call from the Go bench guest (wx.GetStorage, "get-missing").
// "loop" is the same JavaScript loop, its test of the answer included,
// without the call: what a turn of goja's interpreter costs in the guest
// whatever the turn does. minihost bench's goal is on the call itself,
// the difference of the two, since the Go guest's loop costs nothing
// (BENCHMARKS.md, "JS mini programs").
func BenchmarkJSWxCall(b *testing.B) {
	ctx := context.Background()
	e, err := runtime.NewEngine(runtime.Config{CacheDir: runtimetest.CacheDir(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(ctx)
	js := func(body string) fstest.MapFS {
		return fstest.MapFS{
			"app.json": {Data: []byte(`{"appId": "demo.bench", "version": "1.0.0", "abi": 1, "runtime": "js", "entry": "app.js"}`)},
			"app.js": {Data: []byte(`const empty = ''
			App({onEvent(name, n) {
				for (let i = 0; i < n; i++) {
					if (` + body + ` !== '') throw new Error('want the empty string of a missing key')
				}
			}})`)},
		}
	}
	for _, v := range []struct {
		name, guest string
		fsys        fstest.MapFS
		calls       bool // the guest makes b.N wx calls
	}{
		{"minihost", jsBase, js("wx.getStorageSync('missing')"), true},
		{"loop", jsBase, js("empty"), false},
		{"floor", benchWxGuest, nil, true},
	} {
		wasm := runtimetest.BuildWasm(b, v.guest)
		b.Run(v.name, func(b *testing.B) {
			counter := &benchAPI{}
			sb, inst := mountedInstance(b, e, runtime.SandboxConfig{AppID: "demo.bench", API: counter, CallTimeout: benchCallTimeout}, wasm, v.fsys)
			defer sb.Close(ctx)
			calls := 0
			if v.calls {
				calls = b.N
			}
			timeEvent(b, inst, counter, "get-missing", calls)
		})
	}
}
