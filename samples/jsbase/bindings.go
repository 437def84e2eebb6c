package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dop251/goja"

	"github.com/minihost/minihost/samples/wx/abi"
)

// install defines the globals a mini program sees.
func (b *base) install() {
	vm := b.vm
	set := func(o *goja.Object, name string, fn func(goja.FunctionCall) goja.Value) {
		_ = o.Set(name, fn)
	}
	g := vm.GlobalObject()
	set(g, "App", func(c goja.FunctionCall) goja.Value {
		if b.app != nil {
			panic(vm.NewTypeError("App() called twice"))
		}
		b.app = c.Argument(0).ToObject(vm)
		return goja.Undefined()
	})
	set(g, "getApp", func(goja.FunctionCall) goja.Value {
		if b.app == nil {
			return goja.Undefined()
		}
		return b.app
	})
	console := vm.NewObject()
	for name, level := range map[string]abi.LogLevel{"debug": abi.LevelDebug, "log": abi.LevelInfo, "info": abi.LevelInfo, "warn": abi.LevelWarn, "error": abi.LevelError} {
		set(console, name, func(c goja.FunctionCall) goja.Value {
			b.p.log(level, b.format(c.Arguments))
			return goja.Undefined()
		})
	}
	_ = g.Set("console", console)
	set(g, "setTimeout", b.setTimeout)
	set(g, "clearTimeout", func(c goja.FunctionCall) goja.Value {
		id := uint32(c.Argument(0).ToInteger())
		if _, ok := b.timers[id]; ok {
			delete(b.timers, id)
			b.p.clearTimer(id)
		}
		return goja.Undefined()
	})

	wx := vm.NewObject()
	set(wx, "getUpdateManager", func(goja.FunctionCall) goja.Value { return b.updateManager() })
	set(wx, "showModal", b.showModal)
	set(wx, "getSystemInfoSync", func(goja.FunctionCall) goja.Value {
		info, err := b.p.systemInfo()
		if err != nil {
			panic(vm.NewGoError(fmt.Errorf("getSystemInfoSync: %w", err)))
		}
		return b.fromJSON(info)
	})
	b.installStorage(wx, set)
	_ = g.Set("wx", wx)
	b.wx = wx
}

// storageCall is one storage API, in its Sync form: it returns the result
// or an error. The callback form runs it and settles success/fail/complete.
type storageCall func(key string, data goja.Value) (goja.Value, error)

func (b *base) installStorage(wx *goja.Object, set func(*goja.Object, string, func(goja.FunctionCall) goja.Value)) {
	vm := b.vm
	calls := map[string]storageCall{
		"setStorage": func(key string, data goja.Value) (goja.Value, error) {
			return goja.Undefined(), b.p.setStorage(key, b.toJSON(data))
		},
		"getStorage": func(key string, _ goja.Value) (goja.Value, error) {
			s, err := b.p.getStorage(key)
			if err != nil {
				return nil, err
			}
			if v, ok := b.parseJSON(s); ok {
				return v, nil
			}
			return vm.ToValue(s), nil // written by something else than setStorage
		},
		"removeStorage": func(key string, _ goja.Value) (goja.Value, error) { return goja.Undefined(), b.p.removeStorage(key) },
		"clearStorage":  func(string, goja.Value) (goja.Value, error) { return goja.Undefined(), b.p.clearStorage() },
	}
	empty := vm.ToValue("")
	for name, call := range calls {
		set(wx, name+"Sync", func(c goja.FunctionCall) goja.Value {
			v, err := call(c.Argument(0).String(), c.Argument(1))
			if name == "getStorage" && errors.Is(err, errNotFound) {
				return empty // as WeChat: a missing key reads ""
			}
			if err != nil {
				panic(vm.NewGoError(fmt.Errorf("%sSync: %w", name, err)))
			}
			return v
		})
		set(wx, name, func(c goja.FunctionCall) goja.Value {
			o := c.Argument(0).ToObject(vm)
			v, err := call(str(o, "key"), o.Get("data"))
			res := b.result(name, err)
			if err == nil && name == "getStorage" {
				_ = res.Set("data", v)
			}
			b.callbacks(name, o, res, err)
			return goja.Undefined()
		})
	}
}

// result is the object WeChat hands callbacks: errMsg "name:ok" or
// "name:fail reason".
func (b *base) result(name string, err error) *goja.Object {
	res := b.vm.NewObject()
	msg := name + ":ok"
	if err != nil {
		msg = name + ":fail " + err.Error()
	}
	_ = res.Set("errMsg", msg)
	return res
}

// callbacks queues success (or fail) and then complete of opts with res.
func (b *base) callbacks(name string, opts *goja.Object, res *goja.Object, err error) {
	first := "success"
	if err != nil {
		first = "fail"
	}
	b.later(func() {
		b.invoke(name+" "+first, opts.Get(first), opts, res)
		b.invoke(name+" complete", opts.Get("complete"), opts, res)
	})
}

func (b *base) showModal(c goja.FunctionCall) goja.Value {
	o := c.Argument(0).ToObject(b.vm)
	m := abi.Modal{Title: str(o, "title"), Content: str(o, "content"), ShowCancel: true,
		ConfirmText: str(o, "confirmText"), CancelText: str(o, "cancelText")}
	if v := o.Get("showCancel"); v != nil && !goja.IsUndefined(v) {
		m.ShowCancel = v.ToBoolean() // WeChat's default is true
	}
	err := b.p.showModal(m, func(r abi.ModalResult) {
		res := b.result("showModal", nil)
		_ = res.Set("confirm", r.Confirm)
		_ = res.Set("cancel", r.Cancel)
		b.invoke("showModal success", o.Get("success"), o, res)
		b.invoke("showModal complete", o.Get("complete"), o, res)
		b.settle("showModal", nil)
	})
	if err != nil {
		b.callbacks("showModal", o, b.result("showModal", err), err)
	}
	return goja.Undefined()
}

// updateManager is the JS side of wx.getUpdateManager: the handlers,
// which the SDK's manager calls.
type updateManager struct {
	obj                  *goja.Object
	check, ready, failed []goja.Value
}

func (b *base) updateManager() *goja.Object {
	if b.updates != nil {
		return b.updates.obj
	}
	u := &updateManager{obj: b.vm.NewObject()}
	b.updates = u
	add := func(name string, list *[]goja.Value) {
		_ = u.obj.Set(name, func(c goja.FunctionCall) goja.Value {
			if _, ok := goja.AssertFunction(c.Argument(0)); !ok {
				panic(b.vm.NewTypeError(name + ": not a function"))
			}
			*list = append(*list, c.Argument(0))
			return goja.Undefined()
		})
	}
	add("onCheckForUpdate", &u.check)
	add("onUpdateReady", &u.ready)
	add("onUpdateFailed", &u.failed)
	_ = u.obj.Set("applyUpdate", func(goja.FunctionCall) goja.Value {
		if err := b.p.applyUpdate(); err != nil {
			// WeChat logs rather than throws; so does this.
			b.p.log(abi.LevelWarn, "applyUpdate: "+err.Error())
		}
		return goja.Undefined()
	})
	run := func(where string, list *[]goja.Value, args ...goja.Value) {
		for _, f := range *list {
			b.invoke(where, f, u.obj, args...)
		}
		b.settle(where, nil)
	}
	b.p.registerUpdates(func(has bool) {
		res := b.vm.NewObject()
		_ = res.Set("hasUpdate", has)
		run("onCheckForUpdate", &u.check, res)
	}, func() { run("onUpdateReady", &u.ready) }, func() { run("onUpdateFailed", &u.failed) })
	return u.obj
}

func (b *base) setTimeout(c goja.FunctionCall) goja.Value {
	fn, ok := goja.AssertFunction(c.Argument(0))
	if !ok {
		panic(b.vm.NewTypeError("setTimeout: not a function"))
	}
	delay := max(c.Argument(1).ToInteger(), 0)
	args := append([]goja.Value(nil), c.Arguments[min(2, len(c.Arguments)):]...)
	var id uint32
	id, err := b.p.setTimer(delay, func() {
		if _, ok := b.timers[id]; !ok {
			return // cleared after the host had queued it
		}
		delete(b.timers, id)
		_, err := fn(goja.Undefined(), args...)
		b.settle("setTimeout callback", err)
	})
	if err != nil {
		panic(b.vm.NewGoError(fmt.Errorf("setTimeout: %w", err)))
	}
	b.timers[id] = fn
	return b.vm.ToValue(id)
}

// format joins console arguments as a browser does: strings as they are,
// objects as JSON.
func (b *base) format(args []goja.Value) string {
	parts := make([]string, len(args))
	for i, a := range args {
		if o, ok := a.(*goja.Object); ok {
			if _, fn := goja.AssertFunction(o); !fn {
				parts[i] = b.toJSON(o)
				continue
			}
		}
		parts[i] = a.String()
	}
	return strings.Join(parts, " ")
}

// toJSON is JSON.stringify(v), or v's string when it cannot be.
func (b *base) toJSON(v goja.Value) string {
	if v == nil {
		return "null"
	}
	s, err := b.stringify(goja.Undefined(), v)
	if err != nil || goja.IsUndefined(s) {
		return v.String()
	}
	return s.String()
}

// parseJSON is JSON.parse(s): real JS objects, keys in the text's order
// (a Go map handed to the engine would iterate in random order), and a
// "__proto__" key stays data. ok is false when s is not JSON.
func (b *base) parseJSON(s string) (v goja.Value, ok bool) {
	v, err := b.parse(goja.Undefined(), b.vm.ToValue(s))
	return v, err == nil
}

// fromJSON converts a Go value to plain JS data through its JSON form, so
// the guest sees the wire's field names.
func (b *base) fromJSON(v any) goja.Value {
	data, err := json.Marshal(v)
	if err != nil {
		panic(b.vm.NewGoError(err))
	}
	plain, _ := b.parseJSON(string(data))
	return plain
}

// str is o[name] as a string, "" when missing.
func str(o *goja.Object, name string) string {
	v := o.Get(name)
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return ""
	}
	return v.String()
}
