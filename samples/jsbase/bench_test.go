package main

import (
	"testing"

	"github.com/dop251/goja"
)

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
