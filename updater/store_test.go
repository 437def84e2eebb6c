package updater

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"
)

func newTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenStore(StoreConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// writePkg writes a stand-in package file and returns its path and sha256.
func writePkg(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	data := []byte("package " + name)
	path := filepath.Join(dir, name+".mpk")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return path, hex.EncodeToString(sum[:])
}

// extractTo returns an extract callback that creates dir with one file
// naming the version, and counts its calls.
func extractTo(fsys afero.Fs, version string, calls *int) func(string) error {
	return func(dir string) error {
		*calls++
		if _, err := fsys.Stat(dir); err == nil {
			return fmt.Errorf("extract to %s: %w", dir, os.ErrExist)
		}
		if err := fsys.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return afero.WriteFile(fsys, filepath.Join(dir, "app.json"), []byte(`{"version":"`+version+`"}`), 0o644)
	}
}

func installTest(t *testing.T, s *Store, appID string, versions ...string) {
	t.Helper()
	for _, v := range versions {
		pkg, sum := writePkg(t, t.TempDir(), v)
		var n int
		if err := s.installExtract(appID, v, pkg, sum, extractTo(s.fs, v, &n)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStorePersistsAcrossOpen(t *testing.T) {
	covers(t, "K3")
	s, dir := newTestStore(t)
	used := time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC)
	installTest(t, s, "demo.app", "1.0.0")
	if err := s.RecordOpen(t.Context(), "demo.app", "1.0.0", used, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.editState("demo.app", func(st *AppState) error {
		st.LastDocument, st.LastSequence, st.Bad = []byte(`{"signed":"x"}`), 7, []string{"0.9.0"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	s2, err := OpenStore(StoreConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s2.Load("demo.app")
	if err != nil {
		t.Fatal(err)
	}
	wantState := AppState{AppID: "demo.app", Installed: polInst("1.0.0"), Active: "1.0.0", LastUsed: used,
		Bad: []string{"0.9.0"}, LastDocument: []byte(`{"signed":"x"}`), LastSequence: 7}
	if fmt.Sprintf("%+v", st) != fmt.Sprintf("%+v", wantState) || !st.LastUsed.Equal(used) {
		t.Errorf("reopened state\n got  %+v\n want %+v", st, wantState)
	}
	if got := st.Local(); got.Active != "1.0.0" || got.Pending || len(got.Installed) != 1 {
		t.Errorf("Local() = %+v", got)
	}
	apps, err := s2.Apps()
	if err != nil || !slices.Equal(apps, []string{"demo.app"}) {
		t.Errorf("Apps() = %v, %v", apps, err)
	}
	if data, err := os.ReadFile(filepath.Join(s2.PackageDir("demo.app", "1.0.0"), "app.json")); err != nil || !strings.Contains(string(data), "1.0.0") {
		t.Errorf("installed package: %q, %v", data, err)
	}
}

func TestStoreLoad(t *testing.T) {
	s, dir := newTestStore(t)
	st, err := s.Load("never.saved")
	if err != nil || st.AppID != "never.saved" || len(st.Installed) != 0 {
		t.Errorf("Load(never saved) = %+v, %v; want zero state", st, err)
	}
	tests := []struct {
		name, appID, content, wantErr string
	}{
		{"corrupt state file", "broken.app", "{not json", filepath.Join("broken.app", "state.json")},
		{"state of another app", "other.app", `{"appId":"x.app"}`, `appId is "x.app"`},
		{"unsafe app id", "../etc", "", "app id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.content != "" {
				p := filepath.Join(dir, "apps", tt.appID, "state.json")
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := s.Load(tt.appID)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load = %v, want an error naming %q", err, tt.wantErr)
			}
			if err := s.editState(tt.appID, func(*AppState) error { return nil }); err == nil {
				t.Errorf("Update over a bad state succeeded; it must not reset it")
			}
		})
	}
	if _, err := OpenStore(StoreConfig{}); err == nil || !strings.Contains(err.Error(), "Dir") {
		t.Errorf("OpenStore without Dir = %v, want an error naming Dir", err)
	}
}

func TestStoreInstall(t *testing.T) {
	covers(t, "K2", "K3")
	s, _ := newTestStore(t)
	pkg, sum := writePkg(t, t.TempDir(), "1.0.0")
	versions := filepath.Join(s.dir, "apps", "demo.app", storeVersionsDir)
	tests := []struct {
		name    string
		version string
		sha     string
		extract func(*int) func(string) error
		wantErr string
		sentry  error
	}{
		{"wrong sha256", "1.0.0", strings.Repeat("0", 64), nil, "the release document says", ErrHashMismatch},
		{"sha256 not hex", "1.0.0", "xyz", nil, "not 64 hex digits", nil},
		{"version not canonical", "1.0", sum, nil, `version "1.0"`, nil},
		{"extract fails", "1.0.0", sum, func(n *int) func(string) error {
			return func(dir string) error {
				*n++
				s.fs.MkdirAll(dir, 0o755)
				afero.WriteFile(s.fs, filepath.Join(dir, "half"), []byte("x"), 0o644)
				return errors.New("zip entry too big")
			}
		}, "zip entry too big", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			ex := extractTo(s.fs, tt.version, &calls)
			if tt.extract != nil {
				ex = tt.extract(&calls)
			}
			err := s.installExtract("demo.app", tt.version, pkg, tt.sha, ex)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Install = %v, want an error naming %q", err, tt.wantErr)
			}
			if tt.sentry != nil && !errors.Is(err, tt.sentry) {
				t.Errorf("Install = %v, want it to wrap %v", err, tt.sentry)
			}
			if tt.extract == nil && calls != 0 {
				t.Errorf("extract ran %d times before the checks passed", calls)
			}
			entries, _ := os.ReadDir(versions)
			if len(entries) != 0 {
				t.Errorf("versions folder holds %v after a failed install", entries)
			}
			if st, _ := s.Load("demo.app"); len(st.Installed) != 0 {
				t.Errorf("state lists %v after a failed install", st.Installed)
			}
		})
	}

	t.Run("success, then again", func(t *testing.T) {
		var calls int
		for range 2 {
			if err := s.installExtract("demo.app", "1.0.0", pkg, strings.ToUpper(sum), extractTo(s.fs, "1.0.0", &calls)); err != nil {
				t.Fatal(err)
			}
		}
		if calls != 1 {
			t.Errorf("extract ran %d times, want 1 (second install is a no-op)", calls)
		}
		st, _ := s.Load("demo.app")
		if !slices.Equal(st.Installed, polInst("1.0.0")) {
			t.Errorf("installed = %+v", st.Installed)
		}
		entries, _ := os.ReadDir(versions)
		if len(entries) != 1 || entries[0].Name() != "1.0.0" {
			t.Errorf("versions folder = %v, want just 1.0.0", entries)
		}
	})

	t.Run("record open", func(t *testing.T) {
		if err := s.RecordOpen(t.Context(), "demo.app", "2.0.0", time.Unix(1, 0), nil); !errors.Is(err, errNotInstalled) {
			t.Errorf("RecordOpen(not installed) = %v, want errNotInstalled", err)
		}
		if err := s.RecordOpen(t.Context(), "demo.app", "1.0.0", time.Unix(1, 0), nil); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Load("demo.app"); st.Active != "1.0.0" {
			t.Errorf("active = %q", st.Active)
		}
	})
}

// TestStoreInstallRealPackage installs a package packed by mpk with
// InstallRelease, which opens it and extracts it with mpk's own checks.
func TestStoreInstallRealPackage(t *testing.T) {
	covers(t, "K2", "K3")
	pkgPath, rel := packFiles(t, "demo.counter", "1.2.0", map[string]string{
		"app.json":     `{"appId": "demo.counter", "version": "1.2.0", "abi": 1, "entry": "app.wasm", "name": "Counter", "permissions": []}`,
		"app.wasm":     "\x00asm\x01\x00\x00\x00",
		"img/logo.svg": "<svg/>",
	})
	s, _ := newTestStore(t)
	if err := s.InstallRelease(t.Context(), "demo.counter", rel, pkgPath); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(s.PackageDir("demo.counter", "1.2.0"), "img", "logo.svg"))
	if err != nil || string(got) != "<svg/>" {
		t.Errorf("installed asset = %q, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(s.PackageDir("demo.counter", "1.2.0")))
	if len(entries) != 1 {
		t.Errorf("versions folder = %v, want just 1.2.0 (no extraction leftovers)", entries)
	}
	if err := s.RecordOpen(t.Context(), "demo.counter", "1.2.0", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil); err != nil {
		t.Fatal(err)
	}
}

func TestStorePackageDir(t *testing.T) {
	s, dir := newTestStore(t)
	if got, want := s.PackageDir("demo.app", "1.2.0"), filepath.Join(dir, "apps", "demo.app", "versions", "1.2.0"); got != want {
		t.Errorf("PackageDir = %q, want %q", got, want)
	}
	for _, bad := range [][2]string{{"../x", "1.0.0"}, {"demo.app", ".."}, {"demo.app", "1.0.0/../../x"}, {"demo.app", ".install-1"}} {
		if got := s.PackageDir(bad[0], bad[1]); got != "" {
			t.Errorf("PackageDir(%q, %q) = %q, want \"\"", bad[0], bad[1], got)
		}
	}
}

// faultFs is the real file system with chosen operations failing.
type faultFs struct {
	afero.Fs
	failRename, failWrite, failSync bool
}

var errFault = errors.New("injected fault")

func (f *faultFs) Rename(o, n string) error {
	if f.failRename {
		return &os.LinkError{Op: "rename", Old: o, New: n, Err: errFault}
	}
	return f.Fs.Rename(o, n)
}

func (f *faultFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	file, err := f.Fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

type faultFile struct {
	afero.File
	fs *faultFs
}

func (f *faultFile) Write(p []byte) (int, error) {
	if f.fs.failWrite {
		return len(p) / 2, errFault
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if f.fs.failSync {
		return errFault
	}
	return f.File.Sync()
}

func TestStoreFailedWriteKeepsState(t *testing.T) {
	covers(t, "K3")
	tests := []struct {
		name  string
		fault faultFs
	}{
		{"rename fails", faultFs{failRename: true}},
		{"write fails halfway", faultFs{failWrite: true}},
		{"sync fails", faultFs{failSync: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ffs := &faultFs{Fs: afero.NewOsFs()}
			dir := t.TempDir()
			s, err := OpenStore(StoreConfig{Fs: ffs, Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.editState("demo.app", func(st *AppState) error {
				st.Active, st.LastSequence = "1.0.0", 3
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			statePath := filepath.Join(dir, "apps", "demo.app", "state.json")
			before, err := os.ReadFile(statePath)
			if err != nil {
				t.Fatal(err)
			}

			ffs.failRename, ffs.failWrite, ffs.failSync = tt.fault.failRename, tt.fault.failWrite, tt.fault.failSync
			err = s.editState("demo.app", func(st *AppState) error {
				st.Active, st.LastSequence = "2.0.0", 4
				return nil
			})
			if !errors.Is(err, errFault) {
				t.Fatalf("Update = %v, want the injected fault", err)
			}
			after, err := os.ReadFile(statePath)
			if err != nil || string(after) != string(before) {
				t.Errorf("state.json changed by a failed write:\n before %s\n after  %s (%v)", before, after, err)
			}
			entries, _ := os.ReadDir(filepath.Dir(statePath))
			for _, e := range entries {
				if e.Name() != "state.json" {
					t.Errorf("leftover %s after a failed write", e.Name())
				}
			}
			ffs.failRename, ffs.failWrite, ffs.failSync = false, false, false
			if st, err := s.Load("demo.app"); err != nil || st.Active != "1.0.0" || st.LastSequence != 3 {
				t.Errorf("Load after a failed write = %+v, %v", st, err)
			}
		})
	}

	t.Run("install whose rename fails", func(t *testing.T) {
		ffs := &faultFs{Fs: afero.NewOsFs()}
		s, err := OpenStore(StoreConfig{Fs: ffs, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		pkg, sum := writePkg(t, t.TempDir(), "1.0.0")
		ffs.failRename = true
		var n int
		if err := s.installExtract("demo.app", "1.0.0", pkg, sum, extractTo(s.fs, "1.0.0", &n)); !errors.Is(err, errFault) {
			t.Fatalf("Install = %v, want the injected fault", err)
		}
		entries, _ := os.ReadDir(filepath.Join(s.dir, "apps", "demo.app", storeVersionsDir))
		if len(entries) != 0 {
			t.Errorf("versions folder holds %v after a failed install", entries)
		}
		if st, _ := s.Load("demo.app"); len(st.Installed) != 0 {
			t.Errorf("state lists %v after a failed install", st.Installed)
		}
	})
}

func TestStorePrune(t *testing.T) {
	covers(t, "K1")
	tests := []struct {
		name       string
		installed  []string
		unverified []string
		active     string
		last       *Document
		keep       []string
		orphans    []string // folders no state lists
		want       []string
	}{
		{"active, rollback target and waiting version stay",
			[]string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}, nil, "1.2.0", nil, nil, nil,
			[]string{"1.1.0", "1.2.0", "1.3.0"}},
		{"rollback target skips a revoked version",
			[]string{"1.0.0", "1.1.0", "1.2.0"}, nil, "1.2.0", polDoc("1.2.0", withRevoked("1.1.0")), nil, nil,
			[]string{"1.0.0", "1.2.0"}},
		{"no rollback target below the minimum",
			[]string{"1.0.0", "1.1.0", "1.2.0"}, nil, "1.2.0", polDoc("1.2.0", withMin("1.2.0")), nil, nil,
			[]string{"1.2.0"}},
		{"only the newest waiting version stays",
			[]string{"1.2.0", "1.3.0", "1.4.0"}, nil, "1.2.0", nil, nil, nil,
			[]string{"1.2.0", "1.4.0"}},
		{"a revoked newer version is not waiting",
			[]string{"1.2.0", "1.3.0", "1.4.0"}, nil, "1.2.0", polDoc("1.3.0", withRevoked("1.4.0")), nil, nil,
			[]string{"1.2.0", "1.3.0"}},
		{"a revoked active version stays (it may be running)",
			[]string{"1.0.0", "1.1.0"}, nil, "1.1.0", polDoc("1.0.0", withRevoked("1.1.0")), nil, nil,
			[]string{"1.0.0", "1.1.0"}},
		{"versions running instances use stay",
			[]string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"}, nil, "1.3.0", nil, []string{"1.0.0"}, nil,
			[]string{"1.0.0", "1.2.0", "1.3.0"}},
		{"unverified versions and orphan folders go",
			[]string{"1.0.0", "1.2.0"}, []string{"1.3.0"}, "1.2.0", nil, nil, []string{"1.1.0", ".install-1.4.0-123"},
			[]string{"1.0.0", "1.2.0"}},
		{"never activated: the version to open stays",
			[]string{"1.0.0", "1.1.0"}, nil, "", nil, nil, nil,
			[]string{"1.1.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			installTest(t, s, "demo.app", tt.installed...)
			installTest(t, s, "demo.app", tt.unverified...)
			vdir := filepath.Join(s.dir, "apps", "demo.app", storeVersionsDir)
			for _, o := range tt.orphans {
				if err := os.MkdirAll(filepath.Join(vdir, o), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.editState("demo.app", func(st *AppState) error {
				st.Active = tt.active
				for i := range st.Installed {
					st.Installed[i].Verified = !slices.Contains(tt.unverified, st.Installed[i].Version)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := s.prune(t.Context(), "demo.app", tt.last, tt.keep...); err != nil {
				t.Fatal(err)
			}
			st, err := s.Load("demo.app")
			if err != nil {
				t.Fatal(err)
			}
			var inState []string
			for _, iv := range st.Installed {
				inState = append(inState, iv.Version)
			}
			var onDisk []string
			entries, _ := os.ReadDir(vdir)
			for _, e := range entries {
				onDisk = append(onDisk, e.Name())
			}
			sort.Strings(inState)
			if !slices.Equal(inState, tt.want) || !slices.Equal(onDisk, tt.want) {
				t.Errorf("after Prune: state %v, disk %v; want %v", inState, onDisk, tt.want)
			}
		})
	}

	t.Run("an extraction in progress stays", func(t *testing.T) {
		s, _ := newTestStore(t)
		installTest(t, s, "demo.app", "1.0.0")
		tmp := filepath.Join(s.dir, "apps", "demo.app", storeVersionsDir, ".install-1.1.0-42")
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			t.Fatal(err)
		}
		s.setInstalling(tmp, +1)
		if err := s.prune(t.Context(), "demo.app", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(tmp); err != nil {
			t.Errorf("Prune removed an extraction in progress: %v", err)
		}
		s.setInstalling(tmp, -1)
		if err := s.prune(t.Context(), "demo.app", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Prune kept a finished extraction's leftover: %v", err)
		}
	})
}

func TestStoreConcurrentUpdate(t *testing.T) {
	covers(t, "K3")
	s, _ := newTestStore(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2+6)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- s.editState("demo.app", func(st *AppState) error { st.LastSequence++; return nil })
				errs <- s.editState(fmt.Sprintf("other%d.app", w), func(st *AppState) error { st.LastUsed = time.Unix(int64(i), 0); return nil })
			}
		}()
	}
	// Installs and prunes of the same app run alongside.
	type pkgFile struct{ v, path, sum string }
	var pkgs []pkgFile
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		path, sum := writePkg(t, t.TempDir(), v)
		pkgs = append(pkgs, pkgFile{v, path, sum})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, p := range pkgs {
			v, pkg, sum := p.v, p.path, p.sum
			var n int
			errs <- s.installExtract("demo.app", v, pkg, sum, extractTo(s.fs, v, &n))
			errs <- s.prune(t.Context(), "demo.app", nil)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Load("demo.app")
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSequence != workers*each {
		t.Errorf("LastSequence = %d after %d increments: an update was lost", st.LastSequence, workers*each)
	}
	if l := st.Local(); localVersion(l, nil) != "1.2.0" {
		t.Errorf("installed = %+v, want 1.2.0 kept", st.Installed)
	}
	apps, err := s.Apps()
	if err != nil || len(apps) != workers+1 {
		t.Errorf("Apps() = %v, %v; want %d apps", apps, err, workers+1)
	}
}
