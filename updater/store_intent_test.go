package updater

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/wire"
)

// packFiles packs files (app.json included) with mpk.Pack into a fresh
// folder and returns the package's path and its release as a release
// document would describe it for version v.
func packFiles(t *testing.T, appID, v string, files map[string]string) (string, *Release) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for name, body := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pkg := filepath.Join(dir, v+mpk.Ext)
	if err := mpk.Pack(t.Context(), src, pkg); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return pkg, &Release{Version: v, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Path: wire.PackagePath(appID, v)}
}

// testPackage packs a real package of appID at version v (app.json, an
// entry module, an asset in a folder) and returns its path and release.
func testPackage(t *testing.T, appID, v string) (string, *Release) {
	t.Helper()
	return packFiles(t, appID, v, map[string]string{
		"app.json":     `{"appId": "` + appID + `", "version": "` + v + `", "abi": 1, "entry": "app.wasm"}`,
		"app.wasm":     "\x00asm\x01\x00\x00\x00",
		"img/logo.svg": "<svg>" + v + "</svg>",
	})
}

// installReleases installs real packages of the versions of appID with
// InstallRelease.
func installReleases(t *testing.T, s *Store, appID string, versions ...string) {
	t.Helper()
	for _, v := range versions {
		pkg, rel := testPackage(t, appID, v)
		if err := s.InstallRelease(t.Context(), appID, rel, pkg); err != nil {
			t.Fatal(err)
		}
	}
}

func canceledContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// installedVersions returns the versions appID's state lists, and the
// entries of its versions folder.
func installedVersions(t *testing.T, s *Store, appID string) (listed, onDisk []string) {
	t.Helper()
	st, err := s.Load(appID)
	if err != nil {
		t.Fatal(err)
	}
	for _, iv := range st.Installed {
		listed = append(listed, iv.Version)
	}
	entries, _ := os.ReadDir(filepath.Join(s.dir, "apps", appID, storeVersionsDir))
	for _, e := range entries {
		onDisk = append(onDisk, e.Name())
	}
	return listed, onDisk
}

func TestStoreInstallRelease(t *testing.T) {
	covers(t, "K2", "K3")
	const app = "demo.app"
	pkg, rel := testPackage(t, app, "1.2.0")
	otherApp, otherAppRel := testPackage(t, "demo.other", "1.2.0")
	otherVersion, otherVersionRel := testPackage(t, app, "1.3.0")
	garbage := filepath.Join(t.TempDir(), "garbage.mpk")
	if err := os.WriteFile(garbage, []byte("not a zip archive"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbageSum := sha256.Sum256([]byte("not a zip archive"))
	with := func(r *Release, edit func(*Release)) *Release {
		c := *r
		edit(&c)
		return &c
	}
	tests := []struct {
		name    string
		ctx     func(t *testing.T) context.Context
		rel     *Release
		pkg     string
		sentry  error    // wrapped, when not nil
		mention []string // in the error
	}{
		{name: "checksum mismatch, before the file is read as a package", pkg: garbage,
			rel: with(rel, func(r *Release) { r.SHA256 = strings.Repeat("0", 64) }), sentry: ErrHashMismatch,
			mention: []string{"the release document says " + strings.Repeat("0", 64)}},
		{name: "sha256 not hex", pkg: pkg, rel: with(rel, func(r *Release) { r.SHA256 = "xyz" }), mention: []string{"not 64 hex digits"}},
		{name: "version not canonical", pkg: pkg, rel: with(rel, func(r *Release) { r.Version = "1.2" }), mention: []string{`version "1.2"`}},
		{name: "size not positive", pkg: pkg, rel: with(rel, func(r *Release) { r.Size = 0 }), mention: []string{"size 0"}},
		{name: "size differs", pkg: pkg, rel: with(rel, func(r *Release) { r.Size++ }), mention: []string{"the release document says"}},
		{name: "manifest of another app", pkg: otherApp, rel: with(otherAppRel, func(r *Release) {}),
			mention: []string{"holds demo.other 1.2.0", "the release document says demo.app 1.2.0"}},
		{name: "manifest of another version", pkg: otherVersion, rel: with(otherVersionRel, func(r *Release) { r.Version = "1.2.0" }),
			mention: []string{"holds demo.app 1.3.0", "the release document says demo.app 1.2.0"}},
		{name: "not a package", pkg: garbage, rel: &Release{Version: "1.2.0", Size: int64(len("not a zip archive")), SHA256: hex.EncodeToString(garbageSum[:])},
			sentry: mpk.ErrInvalid, mention: []string{"not a valid zip file"}},
		{name: "missing file", pkg: filepath.Join(t.TempDir(), "gone.mpk"), rel: rel, sentry: fs.ErrNotExist},
		{name: "context ended", ctx: canceledContext, pkg: pkg, rel: rel, sentry: context.Canceled},
		{name: "no release", pkg: pkg, mention: []string{"no release"}},
		{name: "unsafe app id", pkg: pkg, rel: rel, mention: []string{"app id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			ctx := caseContext(t, tt.ctx)
			appID := app
			if tt.name == "unsafe app id" {
				appID = "../etc"
			}
			err := s.InstallRelease(ctx, appID, tt.rel, tt.pkg)
			if err == nil {
				t.Fatal("InstallRelease succeeded")
			}
			if tt.sentry != nil && !errors.Is(err, tt.sentry) {
				t.Errorf("InstallRelease = %v, want it to wrap %v", err, tt.sentry)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("InstallRelease = %v, want it to mention %q", err, m)
				}
			}
			if files := listFilesUnder(t, filepath.Join(s.dir, "apps")); len(files) != 0 {
				t.Errorf("a failed install left %v", files)
			}
		})
	}

	t.Run("installs, then again is a no-op", func(t *testing.T) {
		s, _ := newTestStore(t)
		if err := s.InstallRelease(t.Context(), app, rel, pkg); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(s.PackageDir(app, "1.2.0"), "img", "logo.svg"))
		if err != nil || string(got) != "<svg>1.2.0</svg>" {
			t.Errorf("installed asset = %q, %v", got, err)
		}
		// A marker in the folder shows whether the second call extracted
		// again; the package file is gone, so reading it would fail.
		marker := filepath.Join(s.PackageDir(app, "1.2.0"), "marker")
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := s.InstallRelease(t.Context(), app, rel, filepath.Join(t.TempDir(), "gone.mpk")); err != nil {
			t.Fatalf("second InstallRelease = %v, want a no-op", err)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Errorf("second InstallRelease replaced the folder: %v", err)
		}
		listed, onDisk := installedVersions(t, s, app)
		if !slices.Equal(listed, []string{"1.2.0"}) || !slices.Equal(onDisk, []string{"1.2.0"}) {
			t.Errorf("installed: state %v, disk %v; want [1.2.0]", listed, onDisk)
		}
		os.Remove(marker)
		rep, err := checkOne(t, s, app, false)
		if err != nil || len(rep.Problems) != 0 || !slices.Equal(rep.Verified, []string{"1.2.0"}) {
			t.Errorf("Check after InstallRelease: %v, verified %v, %v", rep.Problems, rep.Verified, err)
		}
	})

	t.Run("concurrent installs of one version install it once", func(t *testing.T) {
		s, _ := newTestStore(t)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { errs[i] = s.InstallRelease(t.Context(), app, rel, pkg) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		listed, onDisk := installedVersions(t, s, app)
		if !slices.Equal(listed, []string{"1.2.0"}) || !slices.Equal(onDisk, []string{"1.2.0"}) {
			t.Errorf("installed: state %v, disk %v; want [1.2.0]", listed, onDisk)
		}
	})
}

// listFilesUnder returns the files and folders under dir, relative (none
// when dir does not exist), apart from the state files a failed install
// may leave unchanged.
func listFilesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	return out
}

func TestStoreRecordCheck(t *testing.T) {
	const app = "demo.app"
	envA, envB := []byte(`{"signed":"a"}`), []byte(`{"signed":"b"}`)
	tests := []struct {
		name     string
		savedSeq uint64 // 0: nothing saved before
		ctx      func(t *testing.T) context.Context
		appID    string
		env      []byte
		seq      uint64
		wantErr  string
		wantEnv  []byte
		wantSeq  uint64
	}{
		{name: "first check", env: envB, seq: 3, wantEnv: envB, wantSeq: 3},
		{name: "newer sequence", savedSeq: 3, env: envB, seq: 4, wantEnv: envB, wantSeq: 4},
		{name: "same sequence, re-signed", savedSeq: 3, env: envB, seq: 3, wantEnv: envB, wantSeq: 3},
		{name: "older sequence: no change", savedSeq: 3, env: envB, seq: 2, wantEnv: envA, wantSeq: 3},
		{name: "empty document", savedSeq: 3, env: nil, seq: 4, wantErr: "empty release document", wantEnv: envA, wantSeq: 3},
		{name: "document too big", savedSeq: 3, env: bytes.Repeat([]byte(" "), wire.MaxEnvelopeSize+1), seq: 4, wantErr: "too large", wantEnv: envA, wantSeq: 3},
		{name: "context ended", savedSeq: 3, ctx: canceledContext, env: envB, seq: 4, wantErr: "context canceled", wantEnv: envA, wantSeq: 3},
		{name: "unsafe app id", appID: "../etc", env: envB, seq: 4, wantErr: "app id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			if tt.savedSeq > 0 {
				if err := s.editState(app, func(st *AppState) error {
					st.LastDocument, st.LastSequence = envA, tt.savedSeq
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			ctx, appID := t.Context(), app
			if tt.ctx != nil {
				ctx = tt.ctx(t)
			}
			if tt.appID != "" {
				appID = tt.appID
			}
			err := s.RecordCheck(ctx, appID, tt.env, tt.seq)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("RecordCheck = %v, want error %q", err, tt.wantErr)
			}
			if appID != app {
				return
			}
			st, err := s.Load(app)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(st.LastDocument, tt.wantEnv) || st.LastSequence != tt.wantSeq {
				t.Errorf("saved %q sequence %d, want %q sequence %d", st.LastDocument, st.LastSequence, tt.wantEnv, tt.wantSeq)
			}
		})
	}
}

func TestStoreRecordOpen(t *testing.T) {
	covers(t, "K1")
	const app = "demo.app"
	at := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	before := time.Date(2030, 4, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		unverified string // an installed version marked unverified
		ctx        func(t *testing.T) context.Context
		v          string
		at         time.Time
		last       *Document
		keep       []string
		wantErr    error
		mention    string
		wantActive string
		wantUsed   time.Time
		wantKept   []string
	}{
		{name: "opens and prunes", v: "1.2.0", at: at,
			wantActive: "1.2.0", wantUsed: at, wantKept: []string{"1.1.0", "1.2.0"}},
		{name: "keep keeps a running version", v: "1.2.0", at: at, keep: []string{"1.0.0"},
			wantActive: "1.2.0", wantUsed: at, wantKept: []string{"1.0.0", "1.1.0", "1.2.0"}},
		{name: "the last document moves the rollback target", v: "1.2.0", at: at,
			last:       &Document{AppID: app, Sequence: 2, Revoked: []string{"1.1.0"}},
			wantActive: "1.2.0", wantUsed: at, wantKept: []string{"1.0.0", "1.2.0"}},
		{name: "opening the older version keeps the newer one waiting", v: "1.0.0", at: at,
			wantActive: "1.0.0", wantUsed: at, wantKept: []string{"1.0.0", "1.2.0"}},
		{name: "not installed", v: "2.0.0", at: at, wantErr: errNotInstalled,
			wantActive: "1.1.0", wantUsed: before, wantKept: []string{"1.0.0", "1.1.0", "1.2.0"}},
		{name: "not verified", unverified: "1.2.0", v: "1.2.0", at: at, wantErr: errNotInstalled,
			wantActive: "1.1.0", wantUsed: before, wantKept: []string{"1.0.0", "1.1.0", "1.2.0"}},
		{name: "zero time", v: "1.2.0", mention: "time is zero",
			wantActive: "1.1.0", wantUsed: before, wantKept: []string{"1.0.0", "1.1.0", "1.2.0"}},
		{name: "context ended", ctx: canceledContext, v: "1.2.0", at: at, wantErr: context.Canceled,
			wantActive: "1.1.0", wantUsed: before, wantKept: []string{"1.0.0", "1.1.0", "1.2.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			installReleases(t, s, app, "1.0.0", "1.1.0", "1.2.0")
			if err := s.editState(app, func(st *AppState) error {
				st.Active, st.LastUsed = "1.1.0", before
				for i := range st.Installed {
					st.Installed[i].Verified = st.Installed[i].Version != tt.unverified
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			ctx := caseContext(t, tt.ctx)
			err := s.RecordOpen(ctx, app, tt.v, tt.at, tt.last, tt.keep...)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("RecordOpen = %v, want %v", err, tt.wantErr)
				}
			case tt.mention != "":
				if err == nil || !strings.Contains(err.Error(), tt.mention) {
					t.Fatalf("RecordOpen = %v, want an error naming %q", err, tt.mention)
				}
			case err != nil:
				t.Fatal(err)
			}
			st, err := s.Load(app)
			if err != nil {
				t.Fatal(err)
			}
			if st.Active != tt.wantActive || !st.LastUsed.Equal(tt.wantUsed) {
				t.Errorf("state: active %q, last used %v; want %q, %v",
					st.Active, st.LastUsed, tt.wantActive, tt.wantUsed)
			}
			listed, onDisk := installedVersions(t, s, app)
			if !slices.Equal(listed, tt.wantKept) || !slices.Equal(onDisk, tt.wantKept) {
				t.Errorf("kept: state %v, disk %v; want %v", listed, onDisk, tt.wantKept)
			}
		})
	}
}

func TestStoreRecordLaunch(t *testing.T) {
	const app = "demo.app"
	tests := []struct {
		name        string
		failing     string // the saved counters
		failures    int
		bad         []string
		ctx         func(t *testing.T) context.Context
		rec         LaunchRecord
		wantErr     string
		wantFailing string
		wantCount   int
		wantBad     []string
	}{
		{name: "first failure", rec: LaunchRecord{Version: "1.2.0", Failures: 1}, wantFailing: "1.2.0", wantCount: 1},
		{name: "another failure", failing: "1.2.0", failures: 1, rec: LaunchRecord{Version: "1.2.0", Failures: 2},
			wantFailing: "1.2.0", wantCount: 2},
		{name: "another version fails", failing: "1.1.0", failures: 1, rec: LaunchRecord{Version: "1.2.0", Failures: 1},
			wantFailing: "1.2.0", wantCount: 1},
		{name: "a success clears", failing: "1.2.0", failures: 1, rec: LaunchRecord{}},
		{name: "no failures with a version clears", failing: "1.2.0", failures: 1, rec: LaunchRecord{Version: "1.2.0"}},
		{name: "mark bad", failing: "1.2.0", failures: 1, bad: []string{"1.0.0"}, rec: LaunchRecord{Version: "1.2.0", Failures: 2, MarkBad: true},
			wantBad: []string{"1.0.0", "1.2.0"}},
		{name: "mark bad again: no duplicate", bad: []string{"1.2.0"}, rec: LaunchRecord{Version: "1.2.0", Failures: 2, MarkBad: true},
			wantBad: []string{"1.2.0"}},
		{name: "invalid version", failing: "1.2.0", failures: 1, rec: LaunchRecord{Version: "1.2", Failures: 2},
			wantErr: `version "1.2"`, wantFailing: "1.2.0", wantCount: 1},
		{name: "negative failures", failing: "1.2.0", failures: 1, rec: LaunchRecord{Version: "1.2.0", Failures: -1},
			wantErr: "negative", wantFailing: "1.2.0", wantCount: 1},
		{name: "mark bad without a version", rec: LaunchRecord{MarkBad: true}, wantErr: "LaunchRecord.Version is empty"},
		{name: "failures without a version", rec: LaunchRecord{Failures: 1}, wantErr: "LaunchRecord.Version is empty"},
		{name: "context ended", failing: "1.2.0", failures: 1, ctx: canceledContext, rec: LaunchRecord{Version: "1.2.0", Failures: 2, MarkBad: true},
			wantErr: "context canceled", wantFailing: "1.2.0", wantCount: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(t)
			if err := s.editState(app, func(st *AppState) error {
				st.FailingVersion, st.LaunchFailures, st.Bad = tt.failing, tt.failures, tt.bad
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			ctx := caseContext(t, tt.ctx)
			err := s.RecordLaunch(ctx, app, tt.rec)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("RecordLaunch = %v, want error %q", err, tt.wantErr)
			}
			st, err := s.Load(app)
			if err != nil {
				t.Fatal(err)
			}
			wantBad := tt.wantBad
			if wantBad == nil {
				wantBad = tt.bad
			}
			if st.FailingVersion != tt.wantFailing || st.LaunchFailures != tt.wantCount || !slices.Equal(st.Bad, wantBad) {
				t.Errorf("state: failing %q x%d, bad %v; want %q x%d, bad %v",
					st.FailingVersion, st.LaunchFailures, st.Bad, tt.wantFailing, tt.wantCount, wantBad)
			}
		})
	}
}

// caseContext returns the context a test case asks for with ctx (nil: the
// test's own).
func caseContext(t *testing.T, ctx func(*testing.T) context.Context) context.Context {
	if ctx == nil {
		return t.Context()
	}
	return ctx(t)
}
