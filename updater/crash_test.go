package updater_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/crashfs"
	"github.com/minihost/minihost/updater/internal/wire"
	"github.com/minihost/minihost/updater/updatertest"
)

// The crash tests run the update path over a store holding 1.0.0 and
// 1.1.0 with 1.1.0 active: check (Client.FetchDocument, then
// Store.RecordCheck), download 1.2.0 to a .part file (Client.Download),
// install it (Store.InstallRelease), remove the .part, then record the open
// (Store.RecordOpen: 1.2.0 active, 1.0.0 pruned). Those are the updater
// calls a host makes for an update, so the test runs the real pipeline,
// not a copy of it. Every crash point of that path (crashfs numbers them)
// is replayed twice: as a SIGKILL of a child process (TestCrashKill) and as
// a power cut (TestCrashPowerCut), and after each a fresh store must hold
// a complete version, old or new.

const crashApp = "demo.hello"

// crashWriteBlock is the crash tests' crashfs.Config.WriteBlock: a write
// starting a new 8 KiB block of a file is a crash point. The kit's modules
// are scaled to it (208 KiB, 26 blocks: as many write points as a 3.3 MiB
// compiled Go module at the default 128 KiB), so files still span many
// blocks while a replay hashes, extracts and images a sixteenth of the
// bytes. That, more than anything, is what lets every point be replayed in
// a normal (and -race) run.
const crashWriteBlock = 8 << 10

// crashModuleSize is the size of the kit's entry modules.
const crashModuleSize = 208 << 10

// crashKit is what the crash tests share: packages, a release server
// publishing them, and a template home folder (the state before the
// update). It is built once per test; every point reuses it.
type crashKit struct {
	srv       *updatertest.Server
	rels      map[string]*updater.Release  // version -> published release
	sums      map[string]map[string]string // version -> file -> sha256
	template  string
	now       time.Time
	ops       []crashfs.Op // the crash points of a run without a crash
	ends      map[string]int
	activated int    // the crash point after which the open is recorded
	seq       uint64 // the sequence of the document the check records
}

// Phases of the update path, in order; crashKit.ends maps each to its last
// crash point. "open" is Store.RecordOpen: the state write making 1.2.0
// active (crashKit.activated ends it), then the prune.
var crashPhases = []string{"check", "download", "verify", "install", "cleanup", "open", "done"}

// crashModule returns a valid WebAssembly module of size bytes (at least
// 32): the header and one custom section of deterministic filler (letters
// of a 16-letter alphabet drawn at random, about as compressible as
// compiled code), seeded by seed. The update path never runs a module, so
// its size and shape are what count.
func crashModule(size int, seed uint64) []byte {
	const name = "filler"
	mod := []byte("\x00asm\x01\x00\x00\x00")
	body := size - len(mod) - 1 - 3 // the section: id, size as a 3-byte LEB128, body
	mod = append(mod, 0, byte(body)|0x80, byte(body>>7)|0x80, byte(body>>14)&0x7f, byte(len(name)))
	mod = append(mod, name...)
	r := rand.New(rand.NewPCG(seed, 1))
	for len(mod) < size {
		mod = append(mod, 'a'+byte(r.IntN(16)))
	}
	return mod
}

// crashPackage packs version v of crashApp into dir and returns its path.
// With assets it carries files in nested folders besides the module, so an
// install makes several files and folders, some over several write blocks.
func crashPackage(t *testing.T, dir, v string, assets bool) string {
	t.Helper()
	files := map[string]string{
		"app.json": fmt.Sprintf(`{"appId": %q, "version": %q, "abi": 1, "entry": "app.wasm"}`, crashApp, v),
		"app.wasm": string(crashModule(crashModuleSize, crashSeed(v))),
	}
	if assets {
		files["img/logo.svg"] = "<svg>" + v + "</svg>"
		files["data/words.txt"] = strings.Repeat("word "+v+"\n", 2000)
		files["data/sub/note.txt"] = "note " + v
	}
	src := filepath.Join(dir, "src-"+v)
	for name, body := range files {
		path := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkg := filepath.Join(dir, v+mpk.Ext)
	if err := mpk.Pack(t.Context(), src, pkg); err != nil {
		t.Fatal(err)
	}
	return pkg
}

// crashSeed derives a filler seed from a version, so versions differ.
func crashSeed(v string) uint64 {
	var seed uint64
	for _, c := range v {
		seed = seed*31 + uint64(c)
	}
	return seed
}

func newCrashKit(t *testing.T) *crashKit {
	t.Helper()
	k := &crashKit{rels: map[string]*updater.Release{}, sums: map[string]map[string]string{}, ends: map[string]int{}}
	k.srv = updatertest.NewServer(t, updatertest.Config{})
	k.now = k.srv.Clock.Now()
	pkgs := t.TempDir()
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		pkg := crashPackage(t, pkgs, v, v != "1.0.0")
		k.sums[v] = packageSums(t, pkg)
		k.rels[v] = k.srv.Publish(t, pkg, 100)
	}

	k.template = t.TempDir()
	s, err := updater.OpenStore(updater.StoreConfig{Dir: k.template})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if err := s.InstallRelease(t.Context(), crashApp, k.rels[v], filepath.Join(pkgs, v+mpk.Ext)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordOpen(t.Context(), crashApp, "1.1.0", k.now, nil); err != nil {
		t.Fatal(err)
	}

	// A run without a crash lists the crash points.
	home := k.home(t)
	fsys, err := crashfs.New(crashfs.Config{Root: home, WriteBlock: crashWriteBlock})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.run(t.Context(), fsys, home); err != nil {
		t.Fatalf("update without a crash: %v", err)
	}
	k.ops = fsys.Ops()
	state := crashApp + "/state.json"
	renamed := false
	for _, op := range k.ops {
		k.ends[op.Phase] = op.N
		switch {
		case op.Phase != "open" || k.activated != 0:
		case op.Kind == "rename" && strings.HasSuffix(op.To, state):
			renamed = true
		case op.Kind == "syncdir" && renamed:
			k.activated = op.N
		}
	}
	if k.activated == 0 {
		t.Fatalf("no state write making 1.2.0 active among the crash points %v", k.ops)
	}
	s, err = updater.OpenStore(updater.StoreConfig{Dir: home})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(crashApp)
	if err != nil || st.LastSequence == 0 {
		t.Fatalf("update without a crash recorded sequence %d (%v)", st.LastSequence, err)
	}
	k.seq = st.LastSequence
	k.checkRecovered(t, home)
	return k
}

// home copies the template (hard links for files) to a new folder and returns it.
func (k *crashKit) home(t *testing.T) string {
	t.Helper()
	dst, err := os.MkdirTemp(t.TempDir(), "home-")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.Walk(k.template, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(k.template, path)
		to := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		// The store never writes a file in place (it writes a new one and
		// renames it, or removes it), so copies can share the template's.
		return os.Link(path, to)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// run runs the update path on fsys over the home folder.
func (k *crashKit) run(ctx context.Context, fsys *crashfs.Fs, home string) error {
	return runUpdate(ctx, fsys, home, k.srv.URL, updater.EncodePublicKey(k.srv.PublicKey), k.now)
}

// runUpdate runs the update path on fsys over home, each phase labelled
// for the crash points: the check, the download, InstallRelease, the
// removal of the download and RecordOpen.
func runUpdate(ctx context.Context, fsys *crashfs.Fs, home, url, pubKey string, now time.Time) error {
	pub, err := updater.ParsePublicKey(pubKey)
	if err != nil {
		return err
	}
	client, err := updater.NewClient(updater.ClientConfig{BaseURL: url, PublicKey: pub, Fs: fsys,
		Now: func() time.Time { return now }})
	if err != nil {
		return err
	}
	defer client.Close(ctx)
	store, err := updater.OpenStore(updater.StoreConfig{Fs: fsys, Dir: home})
	if err != nil {
		return err
	}
	st, err := store.Load(crashApp)
	if err != nil {
		return err
	}
	fsys.SetPhase("check")
	doc, env, err := client.FetchDocument(ctx, crashApp, st.LastSequence)
	if err != nil {
		return err
	}
	if err := store.RecordCheck(ctx, crashApp, env, doc.Sequence); err != nil {
		return err
	}
	rel := doc.LatestFor("")

	fsys.SetPhase("download")
	dir := filepath.Join(home, "downloads", crashApp)
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	part := filepath.Join(dir, rel.Version+mpk.Ext+".part")
	if _, err := client.Download(ctx, rel, part, nil); err != nil {
		return err
	}
	fsys.SetPhase("verify")
	if err := fsys.Point("downloaded"); err != nil {
		return err
	}
	fsys.SetPhase("install")
	if err := store.InstallRelease(ctx, crashApp, rel, part); err != nil {
		return err
	}
	fsys.SetPhase("cleanup")
	if err := fsys.Remove(part); err != nil {
		return err
	}
	fsys.SetPhase("open")
	if err := store.RecordOpen(ctx, crashApp, rel.Version, now, doc); err != nil {
		return err
	}
	fsys.SetPhase("done")
	return fsys.Point("done")
}

// checkOne runs Store.Check on appID alone and returns its report.
func checkOne(t *testing.T, s *updater.Store, appID string, repair bool) (*updater.CheckReport, error) {
	t.Helper()
	reps, err := s.Check(t.Context(), repair, appID)
	if len(reps) != 1 {
		t.Fatalf("Check(%s) returned %d reports (%v)", appID, len(reps), err)
	}
	return reps[0], err
}

// leftoverKinds are the Problem kinds of an interrupted operation, which
// waste space but change nothing the store holds (see Problem.Kind).
var leftoverKinds = []string{"temp-file", "orphan-version", "orphan-file-list"}

// checkAfterCrash checks the store in home after a crash at point n: a
// fresh store loads, its active version is 1.1.0 or 1.2.0 (1.2.0 once the
// activation completed) and complete, the check's sequence is saved once
// RecordCheck returned, every listed version is complete (compared with
// its package, not just the store's own file list), only leftovers are
// found, and repair leaves a clean store with the same active version. It
// returns the active version.
func (k *crashKit) checkAfterCrash(t *testing.T, home string, n int, needClean bool) string {
	t.Helper()
	s, err := updater.OpenStore(updater.StoreConfig{Dir: home})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(crashApp)
	if err != nil {
		t.Fatalf("load after the crash: %v", err)
	}
	rep, err := checkOne(t, s, crashApp, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		if !slices.Contains(leftoverKinds, p.Kind) || needClean {
			t.Errorf("after the crash: %v", p)
		}
	}
	switch {
	case n > k.activated && st.Active != "1.2.0":
		t.Errorf("active %q after the activation completed, want 1.2.0", st.Active)
	case st.Active != "1.1.0" && st.Active != "1.2.0":
		t.Errorf("active %q, want 1.1.0 or 1.2.0", st.Active)
	}
	if !slices.Contains(rep.Verified, st.Active) {
		t.Errorf("active %s is not among the verified versions %v", st.Active, rep.Verified)
	}
	var listed []string
	for _, iv := range st.Installed {
		listed = append(listed, iv.Version)
		samePackage(t, s.PackageDir(crashApp, iv.Version), k.sums[iv.Version])
	}
	if n > k.ends["check"] && st.LastSequence != k.seq {
		t.Errorf("last sequence %d after the check was recorded, want %d", st.LastSequence, k.seq)
	}
	if n > k.ends["install"] && !slices.Contains(listed, "1.2.0") {
		t.Errorf("installed %v after the install completed, want 1.2.0 listed", listed)
	}
	if n > k.ends["open"] && slices.Contains(listed, "1.0.0") {
		t.Errorf("installed %v after the prune completed, want 1.0.0 gone", listed)
	}

	if _, err := checkOne(t, s, crashApp, true); err != nil {
		t.Fatalf("repair: %v", err)
	}
	rep, err = checkOne(t, s, crashApp, false)
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("after repair: %v %v", rep.Problems, err)
	}
	if rep.Active != st.Active {
		t.Errorf("repair changed the active version from %s to %s", st.Active, rep.Active)
	}
	return st.Active
}

// checkRecovered runs the update again in home (a restart after the crash)
// and checks it ends with 1.2.0 active, 1.1.0 kept for rollback, a clean
// store and no download left.
func (k *crashKit) checkRecovered(t *testing.T, home string) {
	t.Helper()
	fsys, err := crashfs.New(crashfs.Config{Root: home, WriteBlock: crashWriteBlock})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.run(t.Context(), fsys, home); err != nil {
		t.Fatalf("update after the crash: %v", err)
	}
	s, err := updater.OpenStore(updater.StoreConfig{Dir: home})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Load(crashApp)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, iv := range st.Installed {
		listed = append(listed, iv.Version)
	}
	if st.Active != "1.2.0" || !slices.Equal(listed, []string{"1.1.0", "1.2.0"}) {
		t.Errorf("after the update: active %q, installed %v; want 1.2.0 of [1.1.0 1.2.0]", st.Active, listed)
	}
	rep, err := checkOne(t, s, crashApp, false)
	if err != nil || len(rep.Problems) != 0 || !slices.Equal(rep.Verified, listed) {
		t.Errorf("check after the update: %v, verified %v, %v", rep.Problems, rep.Verified, err)
	}
	entries, _ := os.ReadDir(filepath.Join(home, "downloads", crashApp))
	if len(entries) != 0 {
		t.Errorf("downloads left: %v", entries)
	}
}

// packageSums returns the sha256 of each file in the package file pkg.
func packageSums(t *testing.T, pkg string) map[string]string {
	t.Helper()
	p, err := mpk.OpenFile(pkg, mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sums := map[string]string{}
	for _, name := range p.Files() {
		data, err := p.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		sums[name] = hex.EncodeToString(sum[:])
	}
	return sums
}

// samePackage compares the folder dir with a package's files (want, from
// packageSums): the same files with the same contents, nothing else. It
// checks the store's work independently of the store's own file lists.
func samePackage(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		got[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Errorf("%s: %v", dir, err)
		return
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s differs from its package: holds %d files, want %d", dir, len(got), len(want))
	}
}

// crashPoints returns the points to replay: every crash point, and one
// past the end (a crash after the update returned).
func (k *crashKit) crashPoints() []int {
	ns := make([]int, 0, len(k.ops)+1)
	for n := 1; n <= len(k.ops)+1; n++ {
		ns = append(ns, n)
	}
	return ns
}

func summarize(t *testing.T, k *crashKit) {
	t.Helper()
	byPhase := map[string]int{}
	byKind := map[string]int{}
	for _, op := range k.ops {
		byPhase[op.Phase]++
		byKind[op.Kind]++
	}
	var parts []string
	for _, ph := range crashPhases {
		parts = append(parts, fmt.Sprintf("%s %d", ph, byPhase[ph]))
	}
	kinds, _ := json.Marshal(byKind)
	t.Logf("%d crash points: %s; by kind %s", len(k.ops), strings.Join(parts, ", "), kinds)
}

// TestCrashPowerCut replays a power cut at every crash point: crashfs stops
// the update there and writes what the disk would hold, in two models (a
// folder's entries revert to its last sync; or every entry survives and
// only unsynced file contents revert), and a fresh store checks each.
func TestCrashPowerCut(t *testing.T) {
	k := newCrashKit(t)
	summarize(t, k)
	if len(k.ops) < 50 {
		t.Errorf("%d crash points, want at least 50", len(k.ops))
	}
	points := k.crashPoints()
	var mu sync.Mutex
	survived := map[bool]int{}
	t.Run("points", func(t *testing.T) {
		for _, n := range points {
			t.Run(strconv.Itoa(n), func(t *testing.T) {
				t.Parallel()
				live := k.home(t)
				fsys, err := crashfs.New(crashfs.Config{Root: live, CrashAt: n, Durable: true, WriteBlock: crashWriteBlock})
				if err != nil {
					t.Fatal(err)
				}
				err = k.run(t.Context(), fsys, live)
				if n <= len(k.ops) && !errors.Is(err, crashfs.ErrCrashed) {
					t.Fatalf("crash at %v: update returned %v, want ErrCrashed", k.ops[n-1], err)
				} else if n > len(k.ops) && err != nil {
					t.Fatal(err)
				}
				for _, keepMeta := range []bool{false, true} {
					img, err := os.MkdirTemp(t.TempDir(), "image-")
					if err != nil {
						t.Fatal(err)
					}
					if err := fsys.Image(img, keepMeta); err != nil {
						t.Fatal(err)
					}
					failed := t.Failed()
					k.checkAfterCrash(t, img, n, n > len(k.ops))
					if !keepMeta {
						k.checkRecovered(t, img)
					}
					if !t.Failed() {
						mu.Lock()
						survived[keepMeta]++
						mu.Unlock()
					} else if !failed {
						at := "after the end"
						if n <= len(k.ops) {
							at = k.ops[n-1].String()
						}
						t.Logf("power cut (keep metadata %t) at %s", keepMeta, at)
					}
					os.RemoveAll(img)
				}
				os.RemoveAll(live)
			})
		}
	})
	t.Logf("power cut: %d of %d points replayed; survived %d (folder entries revert to their last sync), %d (all metadata kept)",
		len(points), len(k.ops)+1, survived[false], survived[true])
}

// TestCrashKill kills a child process with SIGKILL at every crash point:
// the test binary runs itself (TestCrashHelper), which runs the update and
// kills itself at the point; the parent then checks the store it left and
// runs the update again.
func TestCrashKill(t *testing.T) {
	k := newCrashKit(t)
	summarize(t, k)
	points := k.crashPoints()
	var mu sync.Mutex
	killed := 0
	t.Run("points", func(t *testing.T) {
		for _, n := range points {
			t.Run(strconv.Itoa(n), func(t *testing.T) {
				t.Parallel()
				home := k.home(t)
				cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
				cmd.Env = append(os.Environ(),
					"MINIHOST_CRASH_HOME="+home,
					"MINIHOST_CRASH_URL="+k.srv.URL,
					"MINIHOST_CRASH_KEY="+updater.EncodePublicKey(k.srv.PublicKey),
					"MINIHOST_CRASH_NOW="+k.now.Format(time.RFC3339Nano),
					"MINIHOST_CRASH_AT="+strconv.Itoa(n))
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				sig := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() &&
					ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
				switch {
				case n <= len(k.ops) && !sig:
					t.Fatalf("child not killed at point %d (%v): %v\n%s", n, k.ops[n-1], err, out)
				case n > len(k.ops) && err != nil:
					t.Fatalf("child without a crash: %v\n%s", err, out)
				}
				k.checkAfterCrash(t, home, n, false)
				k.checkRecovered(t, home)
				if !t.Failed() {
					mu.Lock()
					killed++
					mu.Unlock()
				} else if n <= len(k.ops) {
					t.Logf("SIGKILL at %v", k.ops[n-1])
				}
			})
		}
	})
	t.Logf("SIGKILL: %d of %d points replayed; survived %d", len(points), len(k.ops)+1, killed)
}

// TestCrashHelper is the child of TestCrashKill: it runs the update in
// MINIHOST_CRASH_HOME and kills itself at crash point MINIHOST_CRASH_AT.
// Without those variables it does nothing.
func TestCrashHelper(t *testing.T) {
	home := os.Getenv("MINIHOST_CRASH_HOME")
	if home == "" {
		t.Skip("run by TestCrashKill")
	}
	at, err := strconv.Atoi(os.Getenv("MINIHOST_CRASH_AT"))
	if err != nil {
		t.Fatal(err)
	}
	now, err := time.Parse(time.RFC3339Nano, os.Getenv("MINIHOST_CRASH_NOW"))
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := crashfs.New(crashfs.Config{Root: home, CrashAt: at, WriteBlock: crashWriteBlock, OnCrash: func(crashfs.Op) {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := runUpdate(context.Background(), fsys, home, os.Getenv("MINIHOST_CRASH_URL"), os.Getenv("MINIHOST_CRASH_KEY"), now); err != nil {
		t.Fatal(err)
	}
}

// releaseOf returns the release of the package file pkg at version v, as
// a release document would describe it.
func releaseOf(t *testing.T, appID, v, pkg string) *updater.Release {
	t.Helper()
	data, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return &updater.Release{Version: v, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		Path: wire.PackagePath(appID, v)}
}

// TestCrashPowerCutFirstInstall cuts the power right after a first install
// into an empty home and its first open returned: the app's folders were
// all made by the install, and each must have been made durable with it.
func TestCrashPowerCutFirstInstall(t *testing.T) {
	src := t.TempDir()
	for name, body := range map[string]string{
		"app.json": `{"appId": "demo.first", "version": "1.0.0", "abi": 1, "entry": "app.wasm"}`,
		"app.wasm": "\x00asm\x01\x00\x00\x00",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkg := filepath.Join(t.TempDir(), "first"+mpk.Ext)
	if err := mpk.Pack(t.Context(), src, pkg); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	fsys, err := crashfs.New(crashfs.Config{Root: home, Durable: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := updater.OpenStore(updater.StoreConfig{Fs: fsys, Dir: home})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InstallRelease(t.Context(), "demo.first", releaseOf(t, "demo.first", "1.0.0", pkg), pkg); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOpen(t.Context(), "demo.first", "1.0.0", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil); err != nil {
		t.Fatal(err)
	}
	img := t.TempDir()
	if err := fsys.Image(img, false); err != nil {
		t.Fatal(err)
	}
	s2, err := updater.OpenStore(updater.StoreConfig{Dir: img})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s2.Load("demo.first")
	if err != nil || st.Active != "1.0.0" {
		t.Fatalf("after the power cut: active %q, %v; want 1.0.0", st.Active, err)
	}
	rep, err := checkOne(t, s2, "demo.first", false)
	if err != nil || len(rep.Problems) != 0 || !slices.Equal(rep.Verified, []string{"1.0.0"}) {
		t.Fatalf("after the power cut: %v, verified %v, %v", rep.Problems, rep.Verified, err)
	}
}
