package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"

	"github.com/dop251/goja"

	"github.com/minihost/minihost/samples/wx/abi"
)

// profileOut names the file that TestMain writes the run's CPU profile
// to: the go:generate line of base.go regenerates default.pgo with it
// (go test's own -cpuprofile would leave the test binary in this folder).
var profileOut = flag.String("profile-out", "", "write a CPU profile of the run to this file")

func TestMain(m *testing.M) {
	flag.Parse()
	if *profileOut == "" {
		os.Exit(m.Run())
	}
	f, err := os.Create(*profileOut)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		panic(err)
	}
	code := m.Run()
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		panic(err)
	}
	os.Exit(code)
}

// BenchmarkGetStorageSync is a wx call from JavaScript natively, on the
// fake host: the base library's own share of the call, without wasm
// (runtime's BenchmarkJSWxCall measures it in the guest).
func BenchmarkGetStorageSync(b *testing.B) {
	js := newBase(newFake(map[string]string{"app.js": `App({onEvent(name, n) {
		for (let i = 0; i < n; i++) { if (wx.getStorageSync('missing') !== '') throw new Error('want the empty string') }
	}})`}), func(where string, err error) { b.Fatal(report(where, err)) })
	js.load("app.js")
	b.ResetTimer()
	js.lifecycle("onEvent", goja.Undefined(), js.vm.ToValue(b.N))
}

// profileEvent is what an app does in an event, beside the seed's
// launch: storage in both forms, console, timers, JSON and strings.
const profileEvent = `module.exports = function (n) {
	let s = 0
	for (let i = 0; i < n; i++) {
		if (wx.getStorageSync('missing') !== '') throw new Error('want the empty string')
		wx.setStorageSync('k' + (i % 8), {i: i, tags: ['a', 'b']})
		s += wx.getStorageSync('k' + (i % 8)).i
	}
	wx.getStorage({key: 'k1', success(r) { s += r.data.i }, complete() {}})
	wx.removeStorageSync('k0')
	const id = setTimeout(function (x) { s += x }, 10, 1)
	if (n % 2) clearTimeout(id)
	console.log('event', s, JSON.stringify({s: s}))
	return s
}`

// BenchmarkProfileWorkload is the workload that samples/jsbase/default.pgo
// is a CPU profile of (see base.go's go:generate): per iteration, a cold
// start of samples/seed-js (a realm, app.js and util.js required and
// run), onLaunch (storage), onShow and its timers, ten events of storage
// calls in both forms, timers and console, and onHide. It is natively
// what the guest spends its time on, not the wx-call benchmark's loop
// alone, so that the profile's inlining serves every app.
func BenchmarkProfileWorkload(b *testing.B) {
	files := map[string]string{"lib/event.js": profileEvent}
	for _, name := range []string{"app.js", "util.js"} {
		data, err := os.ReadFile(filepath.Join("..", "seed-js", name))
		if err != nil {
			b.Fatal(err)
		}
		files[name] = string(data)
	}
	fail := func(where string, err error) { b.Fatal(report(where, err)) }
	for b.Loop() {
		f := newFake(files)
		js := newBase(f, fail)
		js.load("app.js")
		js.lifecycle("onLaunch", js.fromJSON(abi.LaunchOptions{Version: "1.0.0", Reason: abi.ReasonLaunch, AppID: "demo.js"}))
		js.lifecycle("onShow")
		event, err := js.require("lib/event.js")
		if err != nil {
			b.Fatal(err)
		}
		fn, _ := goja.AssertFunction(event)
		for n := range 10 {
			if _, err := fn(goja.Undefined(), js.vm.ToValue(20+n)); err != nil {
				b.Fatal(err)
			}
			js.settle("event", nil)
			for id, fire := range f.timers {
				delete(f.timers, id)
				fire()
			}
		}
		js.lifecycle("onHide")
	}
}
