package host_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater/updatertest"
)

// The sandbox-escape suite: the adversary guest
// (runtime/testdata/guests/adversary) tries to leave its sandbox and to
// misbehave in every callback. Each attempt must be contained (the host
// and the other apps go on), reported with a clear error, and leave the
// host's files as they were.

const (
	guestAdversary = "runtime/testdata/guests/adversary"
	// escTimeout is the callback deadline of these tests: short, so that
	// hanging guests cost little.
	escTimeout = time.Second
)

// escHost starts a host for escape tests: a short callback deadline and a
// 32 MiB memory cap unless cfg says otherwise.
func escHost(t *testing.T, home string, cfg host.Config) (*host.Host, *events) {
	t.Helper()
	if cfg.Runtime.CallTimeout == 0 {
		cfg.Runtime.CallTimeout = escTimeout
	}
	if cfg.Runtime.MemoryLimitPages == 0 {
		cfg.Runtime.MemoryLimitPages = 512
	}
	return newHost(t, home, cfg)
}

// extractedGuests caches the files of built test guests by name: building
// and extracting a package compresses and inflates its module, which is
// slow under -race.
var extractedGuests = struct {
	sync.Mutex
	m map[string]map[string][]byte
}{m: map[string]map[string][]byte{}}

// escGuestDir is guestDir from a cache: the test guest name, extracted
// into a fresh folder as app appID.
func escGuestDir(t *testing.T, name, appID string) string {
	t.Helper()
	extractedGuests.Lock()
	files, ok := extractedGuests.m[name]
	extractedGuests.Unlock()
	if !ok {
		p, err := mpk.OpenFile(packageFile(t, filepath.Join("runtime", "testdata", "guests", name), "1.0.0"), mpk.Limits{})
		require.NoError(t, err)
		defer p.Close()
		files = map[string][]byte{}
		for _, f := range p.Files() {
			files[f], err = p.ReadFile(f)
			require.NoError(t, err)
		}
		extractedGuests.Lock()
		extractedGuests.m[name] = files
		extractedGuests.Unlock()
	}
	dir := filepath.Join(t.TempDir(), appID)
	for name, b := range files {
		if name == mpk.ManifestName {
			m, err := mpk.ParseManifest(b)
			require.NoError(t, err)
			mm := *m
			mm.AppID = appID
			b, err = json.Marshal(mm)
			require.NoError(t, err)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
	return dir
}

// launchAs launches the test guest name as app appID.
func launchAs(t *testing.T, h *host.Host, ev *events, name, appID string) *host.App {
	t.Helper()
	a, err := h.LaunchPackage(t.Context(), escGuestDir(t, name, appID))
	require.NoError(t, err, ev.dump())
	return a
}

// lastLog returns the last log line of app starting with prefix.
func (e *events) lastLog(t *testing.T, app, prefix string) string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.all) - 1; i >= 0; i-- {
		ev := e.all[i]
		if ev.App == app && ev.Event == host.EventLog && strings.HasPrefix(ev.Message, prefix) {
			return ev.Message
		}
	}
	t.Fatalf("no log line of %s starting with %q", app, prefix)
	return ""
}

// countEvents counts app's events named name (logs whose message has
// prefix, when name is EventLog).
func (e *events) countEvents(app, name, prefix string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.App == app && ev.Event == name && strings.HasPrefix(ev.Message, prefix) {
			n++
		}
	}
	return n
}

// waitCount waits (bounded) until app has at least n events named name
// (logs starting with prefix, for EventLog) and returns the n-th.
func (e *events) waitCount(t *testing.T, app, name, prefix string, n int) host.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		e.mu.Lock()
		k := 0
		for _, ev := range e.all {
			if ev.App == app && ev.Event == name && strings.HasPrefix(ev.Message, prefix) {
				if k++; k == n {
					e.mu.Unlock()
					return ev
				}
			}
		}
		e.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %s events, want %d; events:\n%s", app, k, name, n, e.dump())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stillServes checks that app good answers an event.
func stillServes(t *testing.T, good *host.App, ev *events, tag string) {
	t.Helper()
	emit(t, good, "echo", tag)
	require.True(t, ev.logged(good.ID(), "echo \""+tag+"\""), "the other app did not answer %q", tag)
}

// treeOf returns every path under dir with its contents (folders as
// "/"), to show nothing changed.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel] = "/"
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			out[rel] = "symlink"
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	}))
	return out
}

func TestEscapeFilesystem(t *testing.T) {
	home := t.TempDir()
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("host secret"), 0o644))
	h, ev := escHost(t, home, host.Config{})
	dir := escGuestDir(t, "adversary", "test.adversary")
	a, err := h.LaunchPackage(t.Context(), dir)
	require.NoError(t, err)
	b := launchAs(t, h, ev, "basic", "test.b")
	emit(t, b, "storage-set", map[string]string{"key": "secret", "value": "b's secret"})
	bStorage := filepath.Join(home, "storage", "test.b", "storage.kv")
	require.FileExists(t, bStorage)

	var pkgNames []string
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		pkgNames = append(pkgNames, e.Name())
	}
	sort.Strings(pkgNames)
	listing := strings.Join(pkgNames, ",")
	beforeOutside, beforeHome, beforePkg := treeOf(t, outside), treeOf(t, home), treeOf(t, dir)

	const fail = "" // the attempt must fail; anything else is the exact success line
	type attempt struct{ event, path, target, want string }
	// failing is an attempt of event at each path, all of which must fail.
	failing := func(event string, paths ...string) []attempt {
		out := make([]attempt, len(paths))
		for i, p := range paths {
			out[i] = attempt{event, p, "", fail}
		}
		return out
	}
	tests := slices.Concat(
		// Reading host files, by absolute path and by climbing out.
		failing("readfile", secret, bStorage, "/etc/passwd", "/proc/self/environ", "../../../../etc/passwd",
			"/app.json/../../../etc/passwd", "../storage/test.b/storage.kv"),
		// Listing folders: the root is the package, and ".." stays in it.
		[]attempt{
			{"listdir", "/", "", listing},
			{"listdir", ".", "", listing},
			{"listdir", "/..", "", listing},
			{"listdir", "../../..", "", listing},
		},
		failing("listdir", "/etc", outside, home, "/proc"),
		// Stat of host paths.
		failing("stat", secret, bStorage, "/etc/passwd", "../../../../etc/passwd", "/dev/null"),
		// Changing anything.
		failing("writefile", "/app.json", "/new.txt", secret),
		failing("mkdir", "/d"),
		failing("remove", "/app.json"),
		[]attempt{
			{"rename", "/app.json", "/moved.json", fail},
			{"symlink", "/leak", secret, fail},
			{"symlink", "/leak", "/etc/passwd", fail},
		},
	)
	for _, tt := range tests {
		op := map[string]string{"readfile": "read", "listdir": "list", "writefile": "write"}[tt.event]
		if op == "" {
			op = tt.event
		}
		t.Run(tt.event+" "+tt.path, func(t *testing.T) {
			emit(t, a, tt.event, map[string]string{"path": tt.path, "target": tt.target})
			line := ev.lastLog(t, "test.adversary", op+" "+tt.path+": ")
			got := strings.TrimPrefix(line, op+" "+tt.path+": ")
			t.Log(line)
			if tt.want != fail {
				// Climbing above the root either fails or stays at the root.
				if got != tt.want && !strings.Contains(tt.path, "..") {
					t.Fatalf("%s: got %q, want %q", line, got, tt.want)
				}
				if got != tt.want {
					require.False(t, strings.Contains(got, ",") || strings.Contains(got, "bytes"), "%s", line)
				}
				return
			}
			for _, success := range []string{"ok", "bytes", "host secret"} {
				require.False(t, got == success || strings.HasSuffix(got, " "+success), "the guest escaped: %s", line)
			}
			if tt.event == "stat" {
				require.NotRegexp(t, `^[-dL][-rwx]{9} \d+$`, got, "the guest saw a host file: %s", line)
			}
		})
	}
	t.Run("environment", func(t *testing.T) {
		emit(t, a, "env", nil)
		require.Equal(t, "env: args=0 env=0", ev.lastLog(t, "test.adversary", "env: "))
	})
	require.Equal(t, beforeOutside, treeOf(t, outside), "files outside the sandbox changed")
	require.Equal(t, beforeHome, treeOf(t, home), "the host's home changed")
	require.Equal(t, beforePkg, treeOf(t, dir), "the package changed")
	stillServes(t, b, ev, "after the filesystem attempts")
}

// TestEscapeSymlinkInPackageFolder mounts a package folder that holds
// symbolic links to host files (packages never do: mpk refuses links, so
// this is a folder given to LaunchPackage, or a home folder someone else
// changed): the guest must still see nothing outside the folder.
func TestEscapeSymlinkInPackageFolder(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("host secret"), 0o644))
	h, ev := escHost(t, t.TempDir(), host.Config{})
	dir := escGuestDir(t, "adversary", "test.adversary")
	require.NoError(t, os.Symlink(secret, filepath.Join(dir, "leak")))
	require.NoError(t, os.Symlink("/etc", filepath.Join(dir, "etc")))
	a, err := h.LaunchPackage(t.Context(), dir)
	require.NoError(t, err)
	for _, tt := range []struct{ event, path, op string }{
		{"readfile", "/leak", "read"},
		{"stat", "/leak", "stat"},
		{"listdir", "/etc", "list"},
		{"readfile", "/etc/passwd", "read"},
	} {
		emit(t, a, tt.event, map[string]string{"path": tt.path})
		line := ev.lastLog(t, "test.adversary", tt.op+" "+tt.path+": ")
		t.Log(line)
		got := strings.TrimPrefix(line, tt.op+" "+tt.path+": ")
		require.False(t, strings.HasSuffix(got, " bytes") || strings.Contains(got, ",") || strings.HasSuffix(got, " 11"),
			"the guest followed a link out of its package: %s", line)
	}
}

// escZipEntry is one entry of a crafted package.
type escZipEntry struct {
	name string
	body []byte
	mode fs.FileMode // 0: a regular file
	// raw entries are written as given (already compressed with method),
	// declaring size as their uncompressed size: zip headers can lie.
	raw    bool
	method uint16
	size   uint64
}

func escZip(t *testing.T, path string, entries ...escZipEntry) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		// Stored, not deflated: compressing the module is slow under -race.
		hdr := &zip.FileHeader{Name: e.name, Method: zip.Store}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr.SetMode(mode)
		var w interface{ Write([]byte) (int, error) }
		var err error
		if e.raw {
			hdr.Method = e.method
			hdr.CompressedSize64 = uint64(len(e.body))
			hdr.UncompressedSize64 = e.size
			hdr.CRC32 = crc32.ChecksumIEEE(e.body)
			w, err = zw.CreateRaw(hdr)
		} else {
			w, err = zw.CreateHeader(hdr)
		}
		require.NoError(t, err)
		_, err = w.Write(e.body)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

// deflated returns n zero bytes compressed with deflate.
func deflated(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	require.NoError(t, err)
	zeros := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(zeros))
		_, err := w.Write(zeros[:k])
		require.NoError(t, err)
		n -= k
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// TestEscapePackageEntries launches crafted packages that try to write
// outside their folder, link to host files, or exhaust the disk or memory
// when extracted: LaunchPackage refuses each, naming the entry, and leaves
// nothing behind.
func TestEscapePackageEntries(t *testing.T) {
	wasm := runtimetest.BuildWasm(t, guestAdversary)
	manifest := []byte(`{"appId": "test.crafted", "version": "1.0.0", "abi": 1, "entry": "app.wasm"}`)
	valid := []escZipEntry{{name: "app.json", body: manifest}, {name: "app.wasm", body: wasm}}
	tests := []struct {
		name    string
		entries []escZipEntry
		want    error
		entry   string // named in the error
	}{
		{"dotdot entry", append(valid, escZipEntry{name: "../escape.txt", body: []byte("x")}), mpk.ErrInvalid, "../escape.txt"},
		{"nested dotdot entry", append(valid, escZipEntry{name: "assets/../../escape.txt", body: []byte("x")}), mpk.ErrInvalid, "assets/../../escape.txt"},
		{"absolute entry", append(valid, escZipEntry{name: "/tmp/escape.txt", body: []byte("x")}), mpk.ErrInvalid, "/tmp/escape.txt"},
		{"backslash entry", append(valid, escZipEntry{name: `..\escape.txt`, body: []byte("x")}), mpk.ErrInvalid, `..\\escape.txt`},
		{"drive letter entry", append(valid, escZipEntry{name: `C:escape.txt`, body: []byte("x")}), mpk.ErrInvalid, "C:escape.txt"},
		{"symlink to a host file", append(valid, escZipEntry{name: "leak", body: []byte("/etc/passwd"), mode: fs.ModeSymlink | 0o777}), mpk.ErrInvalid, "leak"},
		{"symlink folder", append(valid, escZipEntry{name: "up", body: []byte(".."), mode: fs.ModeSymlink | 0o777}), mpk.ErrInvalid, "up"},
		{"same name in another case", append(valid, escZipEntry{name: "App.json", body: manifest}), mpk.ErrInvalid, "App.json"},
		{"zip bomb: compression ratio", append(valid, escZipEntry{name: "bomb", body: deflated(t, 8<<20), raw: true, method: zip.Deflate, size: 8 << 20}), mpk.ErrTooLarge, "bomb"},
		{"zip bomb: declared size", append(valid, escZipEntry{name: "bomb", body: []byte("tiny"), raw: true, method: zip.Store, size: 1 << 40}), mpk.ErrTooLarge, "bomb"},
		{"zip bomb: header lies about the size", append(valid, escZipEntry{name: "bomb", body: deflated(t, 16<<20), raw: true, method: zip.Deflate, size: 1 << 10}), mpk.ErrInvalid, "bomb"},
	}
	root := t.TempDir()
	home := filepath.Join(root, "home")
	h, ev := escHost(t, home, host.Config{})
	good := launchAs(t, h, ev, "basic", "test.good")
	before := treeOf(t, home)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkg := filepath.Join(root, "pkgs", strings.ReplaceAll(tt.name, " ", "-")+".mpk")
			require.NoError(t, os.MkdirAll(filepath.Dir(pkg), 0o755))
			escZip(t, pkg, tt.entries...)
			_, err := h.LaunchPackage(t.Context(), pkg)
			require.ErrorIs(t, err, tt.want)
			require.Contains(t, err.Error(), pkg, "the error names the package")
			if tt.entry != "" {
				require.Contains(t, err.Error(), tt.entry, "the error names the entry")
			}
			// Nothing extracted, nothing escaped.
			after := treeOf(t, home)
			for p := range after {
				if _, ok := before[p]; !ok && after[p] != "/" {
					t.Errorf("left behind in the home folder: %s", p)
				}
			}
			_, err = os.Stat(filepath.Join(home, "packages", "test.crafted"))
			if err == nil {
				names, _ := os.ReadDir(filepath.Join(home, "packages", "test.crafted"))
				require.Empty(t, names, "an extraction was left in the home folder")
			}
			for _, p := range []string{filepath.Join(root, "escape.txt"), filepath.Join(root, "pkgs", "escape.txt"), filepath.Join(home, "escape.txt"), "/tmp/escape.txt"} {
				require.NoFileExists(t, p)
			}
			stillServes(t, good, ev, tt.name)
		})
	}
}

func TestEscapeStorage(t *testing.T) {
	// The default 128 MiB memory cap, so the guest can build a 16 MiB value.
	h, ev := newHost(t, t.TempDir(), host.Config{StorageQuota: 2 << 20})
	a := launchAs(t, h, ev, "adversary", "test.adversary")
	b := launchAs(t, h, ev, "basic", "test.b")
	emit(t, b, "storage-set", map[string]string{"key": "secret", "value": "b's secret"})

	const app = "test.adversary"
	tests := []struct {
		event string
		args  map[string]any
		line  string // the guest's log line
	}{
		{"storage-key", map[string]any{"size": 1024}, "setkey 1024: ok"},
		{"storage-key", map[string]any{"size": 1025}, "setkey 1025: wx set_storage: argument too big (ETOOBIG)"},
		{"storage-key", map[string]any{"size": 1 << 20}, "setkey 1048576: wx set_storage: argument too big (ETOOBIG)"},
		{"storage-key", map[string]any{"size": 0}, "setkey 0: wx set_storage: invalid argument (EINVAL)"},
		{"storage-value", map[string]any{"size": 1 << 20}, "setvalue 1048576: ok"},
		{"storage-value", map[string]any{"size": 1<<20 + 1}, "setvalue 1048577: wx set_storage: argument too big (ETOOBIG)"},
		{"storage-value", map[string]any{"size": 16 << 20}, "setvalue 16777216: wx set_storage: argument too big (ETOOBIG)"},
		{"storage-fill", nil, "fill: 15 keys: wx set_storage: storage quota exceeded (EQUOTA)"},
		// Another app's storage: keys are names in the app's own store,
		// never paths.
		{"storage-get", map[string]any{"key": "secret"}, "get secret: wx get_storage: no such storage key (ENOTFOUND)"},
		{"storage-get", map[string]any{"key": "../test.b/secret"}, "get ../test.b/secret: wx get_storage: no such storage key (ENOTFOUND)"},
		{"storage-get", map[string]any{"key": "test.b/secret"}, "get test.b/secret: wx get_storage: no such storage key (ENOTFOUND)"},
		{"storage-get", map[string]any{"key": "../../storage/test.b/storage.kv"}, "get ../../storage/test.b/storage.kv: wx get_storage: no such storage key (ENOTFOUND)"},
		{"storage-set", map[string]any{"key": "../test.b/secret", "value": "overwritten"}, "set ../test.b/secret: ok"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v", tt.event, tt.args), func(t *testing.T) {
			raw, err := json.Marshal(tt.args)
			require.NoError(t, err)
			require.NoError(t, a.Emit(t.Context(), tt.event, raw))
			prefix, _, _ := strings.Cut(tt.line, ": ")
			require.Equal(t, tt.line, ev.lastLog(t, app, prefix+": "))
		})
	}
	// The other app's value is intact, and its store holds only its key.
	emit(t, b, "storage-get", map[string]string{"key": "secret"})
	require.True(t, ev.logged("test.b", "get secret: b's secret"), ev.dump())
	emit(t, b, "storage-info", nil)
	require.Contains(t, ev.lastLog(t, "test.b", "info: "), `"keys":["secret"]`)
	require.NoError(t, a.Hide(t.Context()), "the app survived every storage attempt")
}

// TestEscapeBadPointers runs the badabi guest, which calls every wx import
// with pointers and lengths outside its memory, through the host: each
// call answers EINVAL and the host and the other apps go on.
func TestEscapeBadPointers(t *testing.T) {
	h, ev := escHost(t, t.TempDir(), host.Config{})
	good := launchAs(t, h, ev, "basic", "test.good")
	launchAs(t, h, ev, "badabi", "test.badabi")
	require.True(t, ev.logged("test.badabi", "done: 0"), ev.dump())
	seen := map[string]bool{}
	ev.mu.Lock()
	for _, e := range ev.all {
		if e.App != "test.badabi" || e.Event != host.EventLog {
			continue
		}
		call, code, ok := strings.Cut(e.Message, ": ")
		if !ok || call == "done" || strings.HasSuffix(call, " valid") {
			continue
		}
		require.Equal(t, "-1", code, "%s did not return EINVAL", call)
		seen[strings.Fields(call)[0]] = true
	}
	ev.mu.Unlock()
	require.Len(t, seen, 7, "%v", seen)
	require.Zero(t, ev.countEvents("test.badabi", host.EventError, ""), ev.dump())
	stillServes(t, good, ev, "after bad pointers")
}

// TestEscapeReentrancy calls every wx import thousands of times from one
// callback, modals included: each answers at once, and no callback runs
// inside another (host functions never call into the guest; modal answers
// wait for the callback to return).
func TestEscapeReentrancy(t *testing.T) {
	ui := &heldUI{answers: make(chan func(bool), 64)}
	h, ev := escHost(t, t.TempDir(), host.Config{UI: ui, Runtime: runtime.Config{CallTimeout: 5 * time.Second /* runtime.Config's default */}})
	a := launchAs(t, h, ev, "adversary", "test.adversary")
	const rounds = 3000
	emit(t, a, "reenter", map[string]int{"size": rounds})
	shown := host.MaxOpenModals // no modal was answered during the callback
	want := fmt.Sprintf("reenter n=%d modals=%d busy=%d", rounds, shown, (rounds+63)/64-shown)
	require.Equal(t, want, ev.lastLog(t, "test.adversary", "reenter n="), ev.dump())
	// Answer every modal now: each answer is its own callback, after the
	// one that asked.
	for range shown {
		(<-ui.answers)(true)
	}
	ev.waitCount(t, "test.adversary", host.EventLog, "reenter modal answered", shown)
	require.NoError(t, a.Hide(t.Context()), "the app answers after the modals")
	require.Zero(t, ev.countEvents("test.adversary", host.EventLog, "REENTERED"), ev.dump())
	require.Zero(t, ev.countEvents("test.adversary", host.EventError, ""), ev.dump())
	select {
	case <-ui.answers:
		t.Fatal("more modals were shown than MaxOpenModals")
	default:
	}
}

// TestEscapeHangingCallbacks arms an infinite loop or an endless sleep in
// each lifecycle callback: the deadline stops it, EventError names the
// callback and "timeout", the other app answers meanwhile, and once
// disarmed the app works again in a re-created instance.
func TestEscapeHangingCallbacks(t *testing.T) {
	h, ev := escHost(t, t.TempDir(), host.Config{UI: host.AutoAnswer(true)})
	good := launchAs(t, h, ev, "basic", "test.good")
	// failed waits for the n-th EventError of app and checks it.
	failed := func(t *testing.T, app, callback string, n int, began time.Time) {
		t.Helper()
		e := ev.waitCount(t, app, host.EventError, "", n)
		require.Less(t, time.Since(began), 2*escTimeout+deadlineSlack, "the deadline was not honoured")
		require.Equal(t, callback, e.Callback, "%+v", e)
		require.ErrorIs(t, e.Err, runtime.ErrTimeout, "%+v", e)
		require.Contains(t, e.Message, "deadline exceeded after "+escTimeout.String())
		require.Contains(t, e.Message, app)
		stillServes(t, good, ev, fmt.Sprintf("%s %s %d", app, callback, n))
	}
	for _, action := range []string{"loop", "sleep"} {
		t.Run("onLaunch "+action, func(t *testing.T) {
			id := "test.adv.onlaunch." + action
			dir := escGuestDir(t, "adversary", id)
			a, err := h.LaunchPackage(t.Context(), dir)
			require.NoError(t, err)
			emit(t, a, "arm", map[string]string{"callback": "onLaunch", "action": action})
			require.NoError(t, a.Close(t.Context()))
			// Armed in storage: the next launch runs it.
			began := time.Now()
			a, err = h.LaunchPackage(t.Context(), dir)
			require.NoError(t, err, "a failing onLaunch does not fail the launch")
			defer a.Close(t.Context())
			failed(t, id, "onLaunch", 1, began)
			// Every new instance runs it again: the app stays broken, alone.
			require.Error(t, a.Hide(t.Context()))
			failed(t, id, "onLaunch", 3, began)
		})
	}
	// One app for the other callbacks, armed and disarmed in turn.
	const id = "test.adv.hang"
	a := launchAs(t, h, ev, "adversary", id)
	triggers := []struct {
		arm, callback string // the arming name, the name EventError gives
		run           func(t *testing.T) error
	}{
		// onShow and onHide alternate: each comes after the other.
		{"onShow", "onShow", func(t *testing.T) error {
			require.NoError(t, a.Hide(t.Context()))
			return a.Show(t.Context())
		}},
		{"onHide", "onHide", func(t *testing.T) error {
			require.NoError(t, a.Show(t.Context()))
			return a.Hide(t.Context())
		}},
		{"onEvent", "onEvent", func(t *testing.T) error { return a.Emit(t.Context(), "ping", nil) }},
		// The UI answers from a goroutine of its own and the answer is a
		// callback of its own: wait until it is queued, or it would run in
		// the next subtest, armed.
		{"onModal", "onEvent(modal)", func(t *testing.T) error {
			k := ev.countEvents(id, host.EventModalResult, "")
			err := a.Emit(t.Context(), "modal", nil)
			ev.waitCount(t, id, host.EventModalResult, "", k+1)
			return err
		}},
	}
	n := 0
	for _, tr := range triggers {
		for _, action := range []string{"loop", "sleep"} {
			t.Run(tr.arm+" "+action, func(t *testing.T) {
				emit(t, a, "arm", map[string]string{"callback": tr.arm, "action": action})
				began := time.Now()
				err := tr.run(t)
				if tr.arm != "onModal" {
					require.ErrorIs(t, err, runtime.ErrTimeout)
				}
				n++
				failed(t, id, tr.callback, n, began)
				relaunches := ev.countEvents(id, host.EventLaunch, "")
				emit(t, a, "disarm", nil) // in a re-created instance
				require.Equal(t, relaunches+1, ev.countEvents(id, host.EventLaunch, ""), "the instance was re-created")
				require.NoError(t, tr.run(t), "the app works again once disarmed")
			})
		}
	}
}

// TestEscapeResourceExhaustion exhausts the guest's resources in a
// callback: memory, stack, goroutines, the host's attention (a loop of wx
// calls), and exits. Each is stopped and reported with a clear reason;
// the app is re-created and the other app keeps answering.
func TestEscapeResourceExhaustion(t *testing.T) {
	// A deadline long enough for every allocation to reach the memory cap.
	h, ev := escHost(t, t.TempDir(), host.Config{Runtime: runtime.Config{CallTimeout: 8 * time.Second, MemoryLimitPages: 256}})
	good := launchAs(t, h, ev, "basic", "test.good")
	a := launchAs(t, h, ev, "adversary", "test.adversary")
	tests := []struct {
		action  string
		errs    []error // EventError's Err wraps one of these
		message string  // in the error message
	}{
		{"alloc", []error{runtime.ErrMemoryLimit}, "memory limit reached"},
		{"recurse", []error{runtime.ErrMemoryLimit, runtime.ErrTrap, runtime.ErrTimeout}, ""},
		{"spawn", []error{runtime.ErrMemoryLimit, runtime.ErrTimeout}, ""},
		{"hostloop", []error{runtime.ErrTimeout}, "deadline exceeded"},
		{"panic", []error{runtime.ErrTrap}, "adversary panics"},
		{"exit", []error{runtime.ErrExit}, "exited with code 3"},
	}
	for i, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			errs := ev.countEvents("test.adversary", host.EventError, "")
			err := a.Emit(t.Context(), "misbehave", json.RawMessage(`{"action":"`+tt.action+`"}`))
			require.Error(t, err)
			e := ev.waitCount(t, "test.adversary", host.EventError, "", errs+1)
			require.True(t, errIsAny(e.Err, tt.errs...), "%+v", e)
			require.Equal(t, "onEvent", e.Callback)
			require.Contains(t, e.Message, tt.message)
			stillServes(t, good, ev, tt.action)
			emit(t, a, "ping", nil)
			require.Equal(t, i+2, ev.countEvents("test.adversary", host.EventLaunch, ""), "the first launch, then one relaunch per failure")
			require.True(t, ev.logged("test.adversary", "unknown event ping"))
		})
	}
}

// TestEscapeFlood floods the host with output for a whole callback
// deadline, through stdout and through wx.log: the lines that reach the
// host are bounded by the rate limit, and the other app answers while the
// flood runs.
func TestEscapeFlood(t *testing.T) {
	const deadline = time.Second
	for _, action := range []string{"flood", "logflood"} {
		t.Run(action, func(t *testing.T) {
			h, ev := escHost(t, t.TempDir(), host.Config{Runtime: runtime.Config{CallTimeout: deadline}})
			good := launchAs(t, h, ev, "basic", "test.good")
			a := launchAs(t, h, ev, "adversary", "test.adversary")
			var wg sync.WaitGroup
			var floodErr error
			flooding := make(chan struct{})
			began := time.Now()
			wg.Go(func() {
				defer close(flooding)
				floodErr = a.Emit(t.Context(), "misbehave", json.RawMessage(`{"action":"`+action+`"}`))
			})
			ev.waitFor(t, func(e host.Event) bool {
				return e.App == "test.adversary" && e.Event == host.EventLog && strings.HasPrefix(e.Message, "misbehave "+action)
			})
			answered := 0
			for i := 0; ; i++ {
				select {
				case <-flooding:
				default:
					// At 50 a second: the other app's own output is rate limited too.
					stillServes(t, good, ev, fmt.Sprintf("%s %d", action, i))
					answered++
					time.Sleep(20 * time.Millisecond)
					continue
				}
				break
			}
			wg.Wait()
			took := time.Since(began)
			require.ErrorIs(t, floodErr, runtime.ErrTimeout)
			require.Positive(t, answered, "the other app never answered during the flood")
			prefix := map[string]string{"flood": "flood line ", "logflood": "logflood "}[action]
			lines := ev.countEvents("test.adversary", host.EventLog, prefix)
			// runtime.Config's defaults: 200 lines a second, bursts of 1000.
			limit := 1000 + int(took.Seconds()*200) + 1
			t.Logf("%s: %d lines reached the host in %v (limit %d); the other app answered %d times meanwhile", action, lines, took, limit, answered)
			require.LessOrEqual(t, lines, limit, "a guest flooded the host with %d log lines in %v", lines, took)
			if action == "flood" {
				require.True(t, ev.logged("test.adversary", "lines dropped: output rate limit"), "dropped lines are reported")
			}
		})
	}
}

// TestEscapeHangingUpdateCallbacks arms an infinite loop or an endless
// sleep in each update manager callback, which the host calls on its own:
// each is stopped by the deadline and reported, the other app answers, the
// failing callback is not retried on its own, and the host still closes
// promptly. The cases share nothing (a fixture each), so they run in
// parallel: most of each is a callback deadline passing.
func TestEscapeHangingUpdateCallbacks(t *testing.T) {
	const app = "test.adversary"
	for _, cb := range []string{"onCheckForUpdate", "onUpdateReady", "onUpdateFailed"} {
		for _, action := range []string{"loop", "sleep"} {
			t.Run(cb+" "+action, func(t *testing.T) {
				t.Parallel()
				f := newUpdFixture(t)
				cfg := f.cfg
				f.publishCached(t, guestAdversary, "1.0.0")
				h, ev := escHost(t, f.home, host.Config{Updates: &cfg})
				a, err := h.Launch(t.Context(), app)
				require.NoError(t, err, ev.dump())
				ev.waitEvent(t, app, host.EventCheckForUpdate)
				emit(t, a, "disarm", nil)
				emit(t, a, "arm", map[string]string{"callback": cb, "action": action})
				stop(t, a, h)

				f.publishCached(t, guestAdversary, "2.0.0")
				if cb == "onUpdateFailed" {
					f.kit.SetFault(updatertest.Fault{Kind: updatertest.FaultCorrupt, Path: "/apps/*/packages/*", After: 100})
				}
				h, ev = escHost(t, f.home, host.Config{Updates: &cfg})
				good := launchAs(t, h, ev, "basic", "test.good")
				a, err = h.Launch(t.Context(), app)
				require.NoError(t, err, ev.dump())
				if cb == "onUpdateFailed" {
					defer advanceTimers(t, f.kit.Clock, nil)() // the background retries' backoff
				}
				e := ev.waitFor(t, func(e host.Event) bool {
					return e.App == app && e.Event == host.EventError && e.Callback == cb
				})
				require.ErrorIs(t, e.Err, runtime.ErrTimeout, "%+v", e)
				stillServes(t, good, ev, cb+" "+action)
				// A callback that hangs every time does not keep the app
				// relaunching on its own: update events wait for an
				// instance, which only the next user event re-creates.
				ev.waitQuiet(t, a)
				n := ev.countEvents(app, host.EventError, "")
				require.Equal(t, 1, n, "the failing %s was delivered %d times:\n%s", cb, n, ev.dump())
				began := time.Now()
				stop(t, a, h)
				require.Less(t, time.Since(began), deadlineSlack)
			})
		}
	}
}

// waitQuiet waits (bounded) until a's update has its outcome and then
// until a round trip through a's dispatcher (Asset runs there, and no
// guest code) sees no new event: whatever the outcome set off (a
// redelivery, a relaunch, each queued on the dispatcher and each
// reporting events) has run and been reported by then.
func (e *events) waitQuiet(t *testing.T, a *host.App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Err may be the update's own failure (an outcome); a wait that ended
	// without one is what fails here.
	res := a.WaitUpdate(ctx)
	require.False(t, errors.Is(res.Err, context.DeadlineExceeded) || errors.Is(res.Err, host.ErrClosed),
		"waiting for the update outcome of %s: %v; events:\n%s", a.ID(), res.Err, e.dump())
	for {
		e.mu.Lock()
		n := len(e.all)
		e.mu.Unlock()
		_, err := a.Asset(ctx, "waitquiet.none")
		require.NoError(t, ctx.Err(), "waiting for the dispatcher of %s to run a round with no new event (last: %v); events:\n%s", a.ID(), err, e.dump())
		e.mu.Lock()
		quiet := len(e.all) == n
		e.mu.Unlock()
		if quiet {
			return
		}
	}
}
