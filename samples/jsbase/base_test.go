package main

import (
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/samples/wx/abi"
)

// fakeHost is a platform in memory: files, storage, log lines, modals
// and timers the test answers and fires by hand.
type fakeHost struct {
	files   fstest.MapFS
	store   map[string]string
	logs    []string
	modals  []func(abi.ModalResult)
	timers  map[uint32]func()
	seq     uint32
	applied int
	updates struct {
		check         func(bool)
		ready, failed func()
	}
}

func newFake(files map[string]string) *fakeHost {
	f := &fakeHost{files: fstest.MapFS{}, store: map[string]string{}, timers: map[uint32]func(){}}
	for name, src := range files {
		f.files[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return f
}

func (f *fakeHost) log(level abi.LogLevel, msg string) {
	f.logs = append(f.logs, level.String()+" "+msg)
}
func (f *fakeHost) readFile(name string, limit int) ([]byte, error) {
	b, err := fs.ReadFile(f.files, name)
	if err == nil && len(b) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return b, err
}
func (f *fakeHost) getStorage(key string) (string, error) {
	v, ok := f.store[key]
	if !ok {
		return "", abi.CodeNotFound
	}
	return v, nil
}
func (f *fakeHost) setStorage(key, value string) error {
	if key == "" {
		return abi.CodeInvalid
	}
	f.store[key] = value
	return nil
}
func (f *fakeHost) removeStorage(key string) error { delete(f.store, key); return nil }
func (f *fakeHost) clearStorage() error            { clear(f.store); return nil }
func (f *fakeHost) showModal(m abi.Modal, answer func(abi.ModalResult)) error {
	if m.Title == "busy" {
		return abi.CodeBusy
	}
	f.modals = append(f.modals, answer)
	return nil
}
func (f *fakeHost) systemInfo() (abi.SystemInfo, error) {
	return abi.SystemInfo{AppID: "test.js", AppVersion: "1.0.0", Platform: "minihost"}, nil
}
func (f *fakeHost) registerUpdates(check func(bool), ready, failed func()) {
	f.updates.check, f.updates.ready, f.updates.failed = check, ready, failed
}
func (f *fakeHost) applyUpdate() error { f.applied++; return nil }
func (f *fakeHost) setTimer(_ int64, fire func()) (uint32, error) {
	f.seq++
	f.timers[f.seq] = fire
	return f.seq, nil
}
func (f *fakeHost) clearTimer(id uint32) { delete(f.timers, id) }

// run loads app.js of files on a fake host and returns both, with the
// crashes reported.
func run(t *testing.T, files map[string]string) (*base, *fakeHost, *[]string) {
	t.Helper()
	f := newFake(files)
	var crashes []string
	b := newBase(f, func(where string, err error) { crashes = append(crashes, report(where, err)) })
	b.load("app.js")
	return b, f, &crashes
}

func TestSeedFlow(t *testing.T) {
	b, f, crashes := run(t, map[string]string{"app.js": `
		const um = wx.getUpdateManager()
		um.onCheckForUpdate(function (res) { console.log(res.hasUpdate) })
		um.onUpdateReady(function () {
			wx.showModal({title: 'Update', content: 'Restart?', success(res) { if (res.confirm) um.applyUpdate() },
				complete(res) { console.log(res.errMsg) }})
		})
		App({onLaunch(o) { console.log('launch', o.version, {a: 1}) }})`})
	b.lifecycle("onLaunch", b.fromJSON(abi.LaunchOptions{Version: "1.0.0", Reason: "launch"}))
	f.updates.check(true)
	f.updates.ready()
	require.Len(t, f.modals, 1)
	f.modals[0](abi.ModalResult{ID: 1, Confirm: true})
	require.Empty(t, *crashes)
	require.Equal(t, []string{`info launch 1.0.0 {"a":1}`, "info true", "info showModal:ok"}, f.logs)
	require.Equal(t, 1, f.applied)
}

func TestCallbacksAndStorage(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"sync round trip", `wx.setStorageSync('k', {n: 2}); console.log(wx.getStorageSync('k').n, wx.getStorageSync('missing') === '')`, []string{"info 2 true"}},
		// Stored data comes back as it went in: keys in their order (a Go
		// map would shuffle them) and a "__proto__" key as plain data.
		{"round trip keeps key order", `wx.setStorageSync('k', JSON.parse('{"h":1,"b":2,"__proto__":{"p":1},"f":3,"a":4,"g":5,"c":6,"e":7,"d":8}'))
			const back = wx.getStorageSync('k'); console.log(JSON.stringify(back), back.p, ({}).p)`,
			[]string{`info {"h":1,"b":2,"__proto__":{"p":1},"f":3,"a":4,"g":5,"c":6,"e":7,"d":8} undefined undefined`}},
		{"async after the callback", `wx.getStorage({key: 'x', fail(r) { console.log(r.errMsg) }, complete() { console.log('complete') }}); console.log('first')`,
			[]string{"info first", "info getStorage:fail no such storage key (ENOTFOUND)", "info complete"}},
		{"async success", `wx.setStorage({key: 'k', data: 'v', success() { wx.getStorage({key: 'k', success(r) { console.log(r.data) }}) }})`, []string{"info v"}},
		{"modal refused", `wx.showModal({title: 'busy', fail(r) { console.log(r.errMsg) }})`, []string{"info showModal:fail too many requests outstanding (EBUSY)"}},
		{"require in the package", `console.log(require('./lib/a').v)`, []string{"info 42"}},
		{"console levels", `console.warn('w'); console.error('e', 1)`, []string{"warn w", "error e 1"}},
		// wx is each module's parameter, as in WeChat's module wrapper (and
		// so a local's read): a module that assigns it changes only its own.
		{"wx per module", `require('./lib/c'); console.log(typeof wx.getStorageSync, globalThis.wx === wx)`, []string{"info function true"}},
		{"timers", `const id = setTimeout(() => console.log('no'), 10); clearTimeout(id); setTimeout((a) => console.log('yes', a), 0, 7)`, []string{"info yes 7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, f, crashes := run(t, map[string]string{"app.js": tt.src, "lib/a.js": `module.exports = {v: require('../lib/b.js').v}`, "lib/b.js": `exports.v = 42`, "lib/c.js": `wx = null`})
			for id, fire := range f.timers {
				delete(f.timers, id)
				fire()
			}
			require.Empty(t, *crashes)
			require.Equal(t, tt.want, f.logs)
		})
	}
}

// An uncaught exception is a crash naming the callback, with the JS stack.
func TestExceptionsCrashWithStack(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"in onLaunch", "App({onLaunch() {\n  boom()\n}})\nfunction boom() { throw new Error('bad launch') }",
			"uncaught exception in onLaunch: Error: bad launch at boom (app.js:4:25(3))\n\tat boom (app.js:4:25(3))\n\tat onLaunch (app.js:2:7(3))"},
		{"at the top level", "\nnull.x", "uncaught exception in app.js: TypeError: Cannot read property 'x' of undefined at app.js:2:6"},
		{"require outside", "require('../etc/passwd')", `require "../etc/passwd": outside the package`},
		{"syntax", "App({", "SyntaxError"},
		{"deep recursion", "App({onLaunch() { (function f() { f() })() }})", "RangeError: Maximum call stack size exceeded\n\tat f (app.js:1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _, crashes := run(t, map[string]string{"app.js": tt.src})
			b.lifecycle("onLaunch", b.fromJSON(abi.LaunchOptions{}))
			require.NotEmpty(t, *crashes)
			require.Contains(t, (*crashes)[0], tt.want)
		})
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		dir, spec, want string
		err             bool
	}{
		{".", "./a", "a.js", false},
		{"lib", "./a.js", "lib/a.js", false},
		{"lib", "../a", "a.js", false},
		{"lib", "a", "a.js", false},
		{".", "../a", "", true},
		{"lib", "../../a", "", true},
		{".", "/x/../../a", "", true},
		{".", "a\x00b", "", true},
		{".", "..\\etc\\passwd", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.dir+" "+tt.spec, func(t *testing.T) {
			got, err := resolve(tt.dir, tt.spec)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
