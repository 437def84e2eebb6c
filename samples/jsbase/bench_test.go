package main

import (
	"testing"

	"github.com/dop251/goja"
)

// BenchmarkGetStorageSync is the JS side of a wx call, natively, on the
// fake host: what the base library adds to each call besides wasm.
func BenchmarkGetStorageSync(b *testing.B) {
	_, f, crashes := run(&testing.T{}, map[string]string{"app.js": `App({onEvent(name, n) {
		for (let i = 0; i < n; i++) { if (wx.getStorageSync('missing') !== '') throw new Error('bad') }
	}})`})
	_ = f
	bs := newBase(newFake(map[string]string{"app.js": `App({onEvent(name, n) {
		for (let i = 0; i < n; i++) { if (wx.getStorageSync('missing') !== '') throw new Error('bad') }
	}})`}), func(w string, err error) { b.Fatal(report(w, err)) })
	bs.load("app.js")
	b.ResetTimer()
	bs.lifecycle("onEvent", goja.Undefined(), bs.vm.ToValue(b.N))
	if len(*crashes) > 0 {
		b.Fatal(*crashes)
	}
}
