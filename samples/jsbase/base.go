// Command jsbase is minihost's JavaScript base library: a Go guest, built
// on the guest SDK (samples/wx) like any other, that embeds the goja
// JavaScript engine and runs a JS mini program's app.js on the wx ABI.
// The host instantiates it for a package whose app.json says "runtime":
// "js", with that package's files mounted read-only at "/" (see
// RATIONALE.md, "JS mini programs").
//
// To JavaScript it offers App({onLaunch, onShow, onHide}) (and onEvent(name,
// data) for the embedder's custom events, host.App.Emit), getApp(),
// require (inside the package only), console, setTimeout/clearTimeout and
// wx.getUpdateManager, wx.showModal, wx.getSystemInfoSync and the storage
// calls in their Sync and callback forms. An uncaught JS exception ends
// the instance the way a Go panic does: its JS stack on stderr, exit code
// 2.
//
// This file and bindings.go build on every platform, so the bindings are
// tested natively against a fake host (base_test.go); main_wasip1.go
// joins them to the SDK.
//
// default.pgo is a CPU profile of BenchmarkProfileWorkload (bench_test.go:
// cold starts of samples/seed-js, its lifecycle, storage calls, timers
// and require), run natively; every build of this folder (mpk.Build,
// minihost build, the tests' runtimetest.BuildWasm) uses it for
// profile-guided optimization (go build's -pgo=auto). After changing the
// base library or goja, regenerate it with go generate (about 20 s).
//
//go:generate go test -run ^$ -bench ^BenchmarkProfileWorkload$ -benchtime 15s -args -profile-out default.pgo
package main

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/dop251/goja"

	"github.com/minihost/minihost/samples/wx/abi"
)

// Bounds of what a JS package can make the base library hold. The
// package limits already bound each file; these keep require from
// loading more than an app plausibly needs, and recursion from turning
// into an out-of-memory trap instead of a RangeError with a stack.
const (
	maxModuleBytes = 4 << 20
	maxModules     = 1024
	maxCallStack   = 10000
	// maxPending bounds the callbacks queued to run after the current one
	// (async storage results, fail/complete of refused calls).
	maxPending = 4096
)

// platform is what the bindings need from the host: the wx SDK in the
// guest (main_wasip1.go), a fake in tests. Its methods are called from
// the one goroutine that runs JavaScript.
type platform interface {
	log(level abi.LogLevel, msg string)
	readFile(name string, limit int) ([]byte, error)
	getStorage(key string) (string, error)
	setStorage(key, value string) error
	removeStorage(key string) error
	clearStorage() error
	showModal(m abi.Modal, answer func(abi.ModalResult)) error
	systemInfo() (abi.SystemInfo, error)
	// registerUpdates registers the update manager's handlers with the
	// host, once.
	registerUpdates(check func(bool), ready, failed func())
	applyUpdate() error
	setTimer(delayMS int64, fire func()) (uint32, error)
	clearTimer(id uint32)
}

// errNotFound is what platform.getStorage returns, wrapped or not, for a
// missing key.
var errNotFound = abi.CodeNotFound

// base is one JS realm and the state the bindings keep. It is not
// goroutine-safe; a wasip1 module runs one goroutine at a time.
type base struct {
	vm  *goja.Runtime
	p   platform
	app *goja.Object // what App() was given; nil before
	// crash receives an uncaught exception; the guest exits in it.
	crash func(where string, err error)

	modules map[string]*goja.Object // module.exports by package path
	pending []func()                // run after the current callback
	updates *updateManager          // nil until wx.getUpdateManager
	timers  map[uint32]goja.Callable
	wx      *goja.Object // the global wx, which every module also gets as a parameter
	// stringify and parse are the engine's JSON functions, looked up once:
	// data crosses to the host as JSON text and comes back through parse,
	// so it is plain JS data with its keys in their stored order.
	stringify, parse goja.Callable
}

func newBase(p platform, crash func(string, error)) *base {
	b := &base{vm: goja.New(), p: p, crash: crash, modules: map[string]*goja.Object{}, timers: map[uint32]goja.Callable{}}
	b.vm.SetMaxCallStackSize(maxCallStack)
	j := b.vm.Get("JSON").ToObject(b.vm)
	b.stringify, _ = goja.AssertFunction(j.Get("stringify"))
	b.parse, _ = goja.AssertFunction(j.Get("parse"))
	b.install()
	return b
}

// load runs the package's entry module, then whatever it queued.
func (b *base) load(entry string) {
	_, err := b.require(entry)
	b.settle("app.js", err)
}

// settle reports err as a crash, or runs the queued callbacks: the end of
// every host callback.
func (b *base) settle(where string, err error) {
	if err != nil {
		b.crash(where, err)
		return
	}
	for len(b.pending) > 0 {
		f := b.pending[0]
		b.pending = b.pending[1:]
		f()
	}
}

// later queues f to run after the current callback, as WeChat delivers
// the callbacks of an API call asynchronously.
func (b *base) later(f func()) {
	if len(b.pending) >= maxPending {
		panic(b.vm.NewGoError(errors.New("too many callbacks pending")))
	}
	b.pending = append(b.pending, f)
}

// invoke calls fn (when it is a function) with this and args, reporting
// an exception as a crash of where.
func (b *base) invoke(where string, fn goja.Value, this goja.Value, args ...goja.Value) {
	f, ok := goja.AssertFunction(fn)
	if !ok {
		return
	}
	_, err := f(this, args...)
	if err != nil {
		b.crash(where, err)
	}
}

// lifecycle calls App's handler name with args, then the queued callbacks.
func (b *base) lifecycle(name string, args ...goja.Value) {
	if b.app != nil {
		if f, ok := goja.AssertFunction(b.app.Get(name)); ok {
			_, err := f(b.app, args...)
			b.settle(name, err)
			return
		}
	}
	b.settle(name, nil)
}

// require loads the package module name (slash-separated, relative to the
// package root) once and returns its module.exports.
func (b *base) require(name string) (goja.Value, error) {
	if ex, ok := b.modules[name]; ok {
		return ex.Get("exports"), nil
	}
	if len(b.modules) >= maxModules {
		return nil, fmt.Errorf("require %s: more than %d modules", name, maxModules)
	}
	src, err := b.p.readFile(name, maxModuleBytes)
	if err != nil {
		return nil, fmt.Errorf("require %s: %w", name, err)
	}
	// The CommonJS wrapper, on the file's first line so that line numbers
	// in stacks are the file's own (columns of line 1 are shifted by the
	// wrapper's length). wx is a parameter, as in WeChat's own module
	// wrapper: a read of it is a local's, not a lookup in the global
	// object, about 2 of the 18 µs a wx call from JS costs in the guest
	// (BENCHMARKS.md, "JS mini programs").
	prog, err := goja.Compile(name, "(function (exports, require, module, __filename, __dirname, wx) {"+string(src)+"\n})", false)
	if err != nil {
		return nil, err
	}
	fn, err := b.vm.RunProgram(prog)
	if err != nil {
		return nil, err
	}
	module := b.vm.NewObject()
	exports := b.vm.NewObject()
	_ = module.Set("exports", exports)
	b.modules[name] = module // before running: cycles see partial exports, as in Node
	dir := path.Dir(name)
	req := b.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		target, err := resolve(dir, call.Argument(0).String())
		if err != nil {
			panic(b.vm.NewGoError(err))
		}
		v, err := b.require(target)
		if err != nil {
			var ex *goja.Exception
			if errors.As(err, &ex) {
				panic(ex)
			}
			panic(b.vm.NewGoError(err))
		}
		return v
	})
	f, _ := goja.AssertFunction(fn)
	if _, err := f(goja.Undefined(), exports, req, module, b.vm.ToValue(name), b.vm.ToValue(dir), b.wx); err != nil {
		delete(b.modules, name)
		return nil, err
	}
	return module.Get("exports"), nil
}

// resolve turns the argument of require in a module of folder dir into a
// package path, refusing one that leaves the package.
func resolve(dir, spec string) (string, error) {
	// A NUL reached the host's open as part of the name, and a backslash
	// is a separator on some hosts' file systems: a package path has
	// neither (its files are packed with "/").
	if strings.ContainsAny(spec, "\x00\\") {
		return "", fmt.Errorf("require %q: a NUL or backslash in the path", spec)
	}
	p := spec
	if strings.HasPrefix(spec, "./") || strings.HasPrefix(spec, "../") {
		p = path.Join(dir, spec)
	}
	p = path.Clean(strings.TrimPrefix(p, "/"))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("require %q: outside the package", spec)
	}
	if path.Ext(p) == "" {
		p += ".js"
	}
	return p, nil
}

// report formats an uncaught exception as a Go panic's message (crash
// prints it after "panic: ", which the host takes as the failure's
// summary): a first line with the exception and where it was thrown, then
// the whole JS stack, a frame a line.
func report(where string, err error) string {
	head := "uncaught exception in " + where + ": "
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		// Its value is empty: name it as a browser does.
		return head + "RangeError: Maximum call stack size exceeded\n" + stack(so.String())
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return head + ex.Error() + "\n" + stack(ex.String())
	}
	return "error in " + where + ": " + err.Error()
}

// stack keeps the frame lines ("\tat ...") of a goja stack text.
func stack(s string) string {
	var frames []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "at ") {
			frames = append(frames, "\t"+strings.TrimSpace(line))
		}
	}
	return strings.Join(frames, "\n")
}

// main never runs: the host starts the module as a reactor.
func main() {}
