package updater_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/crashfs"
	"github.com/minihost/minihost/updater/internal/delta"
	"github.com/minihost/minihost/updater/internal/testpkg"
)

// TestCrashPowerCutPatch cuts the power at every crash point of
// Store.InstallPatch (1.1.0 installed, 1.2.0 from a patch): after each, a
// fresh store holds 1.1.0 intact and 1.2.0 either complete or not listed,
// only leftovers are found, and installing the patch again completes.
func TestCrashPowerCutPatch(t *testing.T) {
	pkgs := t.TempDir()
	old, cur := crashPackage(t, pkgs, "1.1.0", true), crashPackage(t, pkgs, "1.2.0", true)
	sums := map[string]map[string]string{"1.1.0": packageSums(t, old), "1.2.0": packageSums(t, cur)}
	target := testpkg.Entries(t, mustRead(t, cur))
	patch, err := delta.Build(testpkg.Entries(t, mustRead(t, old)), target)
	if err != nil {
		t.Fatal(err)
	}
	patchFile := filepath.Join(pkgs, "1.2.0.mpd")
	if err := os.WriteFile(patchFile, patch, 0o644); err != nil {
		t.Fatal(err)
	}
	rel := releaseOf(t, crashApp, "1.2.0", cur)
	rel.Content = testpkg.Digest(target)
	rel.Patches = []updater.Patch{{From: "1.1.0", Size: int64(len(patch)), SHA256: testpkg.SHA256(patch), Path: "p"}}

	template := t.TempDir()
	s, err := updater.OpenStore(updater.StoreConfig{Dir: template})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InstallRelease(t.Context(), crashApp, releaseOf(t, crashApp, "1.1.0", old), old); err != nil {
		t.Fatal(err)
	}
	home := func(t *testing.T) string {
		dst := filepath.Join(t.TempDir(), "home")
		if err := os.CopyFS(dst, os.DirFS(template)); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	install := func(fsys *crashfs.Fs, dir string) error {
		s, err := updater.OpenStore(updater.StoreConfig{Fs: fsys, Dir: dir})
		if err != nil {
			return err
		}
		return s.InstallPatch(t.Context(), crashApp, rel, "1.1.0", patchFile)
	}
	live := home(t)
	fsys, err := crashfs.New(crashfs.Config{Root: live, WriteBlock: crashWriteBlock})
	if err != nil {
		t.Fatal(err)
	}
	if err := install(fsys, live); err != nil {
		t.Fatalf("install without a crash: %v", err)
	}
	ops := fsys.Ops()
	if len(ops) < 10 {
		t.Fatalf("%d crash points, want at least 10: %v", len(ops), ops)
	}
	for n := 1; n <= len(ops)+1; n++ {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			live := home(t)
			fsys, err := crashfs.New(crashfs.Config{Root: live, CrashAt: n, Durable: true, WriteBlock: crashWriteBlock})
			if err != nil {
				t.Fatal(err)
			}
			if err := install(fsys, live); n <= len(ops) && !errors.Is(err, crashfs.ErrCrashed) {
				t.Fatalf("crash at %v: install returned %v, want ErrCrashed", ops[n-1], err)
			}
			img := filepath.Join(t.TempDir(), "image")
			if err := os.Mkdir(img, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := fsys.Image(img, false); err != nil {
				t.Fatal(err)
			}
			s, err := updater.OpenStore(updater.StoreConfig{Dir: img})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := checkOne(t, s, crashApp, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(rep.Verified, "1.1.0") {
				t.Errorf("verified %v after a crash, want 1.1.0 kept", rep.Verified)
			}
			for _, v := range rep.Verified { // against the packages, not the store's own lists
				samePackage(t, s.PackageDir(crashApp, v), sums[v])
			}
			for _, p := range rep.Problems {
				if !slices.Contains(leftoverKinds, p.Kind) {
					t.Errorf("after the crash: %v", p)
				}
			}
			// A restart installs again from the same patch.
			if err := s.InstallPatch(t.Context(), crashApp, rel, "1.1.0", patchFile); err != nil {
				t.Fatalf("install after the crash: %v", err)
			}
			samePackage(t, s.PackageDir(crashApp, "1.2.0"), sums["1.2.0"])
			if !bytes.Equal(patch, mustRead(t, patchFile)) {
				t.Fatal("the patch file changed")
			}
		})
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
