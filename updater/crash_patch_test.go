package updater_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/crashfs"
	"github.com/minihost/minihost/updater/internal/delta"
)

// packageEntries returns the files of the package file pkg, for delta.Build.
func packageEntries(t *testing.T, pkg string) []delta.Entry {
	t.Helper()
	p, err := mpk.OpenFile(pkg, mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var out []delta.Entry
	for _, name := range p.Files() {
		data, err := p.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, delta.Entry{Path: name, Data: data})
	}
	return out
}

// TestCrashPowerCutPatch cuts the power at every crash point of
// Store.InstallPatch (1.1.0 installed, 1.2.0 from a patch): after each, a
// fresh store holds 1.1.0 intact and 1.2.0 either complete or not listed,
// only leftovers are found, and installing the patch again completes.
func TestCrashPowerCutPatch(t *testing.T) {
	pkgs := t.TempDir()
	old, cur := crashPackage(t, pkgs, "1.1.0", true), crashPackage(t, pkgs, "1.2.0", true)
	sums := map[string]map[string]string{"1.1.0": packageSums(t, old), "1.2.0": packageSums(t, cur)}
	target := packageEntries(t, cur)
	patch, err := delta.Build(packageEntries(t, old), target)
	if err != nil {
		t.Fatal(err)
	}
	patchFile := filepath.Join(pkgs, "1.2.0.mpd")
	if err := os.WriteFile(patchFile, patch, 0o644); err != nil {
		t.Fatal(err)
	}
	var files []delta.File
	for _, e := range target {
		s := sha256.Sum256(e.Data)
		files = append(files, delta.File{Path: e.Path, Size: int64(len(e.Data)), SHA256: hex.EncodeToString(s[:])})
	}
	psum := sha256.Sum256(patch)
	rel := releaseOf(t, crashApp, "1.2.0", cur)
	rel.Content = delta.Digest(files)
	rel.Patches = []updater.Patch{{From: "1.1.0", Size: int64(len(patch)), SHA256: hex.EncodeToString(psum[:]), Path: "p"}}

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
			st, err := s.Load(crashApp)
			if err != nil {
				t.Fatal(err)
			}
			var listed []string
			for _, iv := range st.Installed {
				listed = append(listed, iv.Version)
				samePackage(t, s.PackageDir(crashApp, iv.Version), sums[iv.Version])
			}
			if !slices.Contains(listed, "1.1.0") {
				t.Errorf("installed %v after a crash, want 1.1.0 kept", listed)
			}
			rep, err := checkOne(t, s, crashApp, false)
			if err != nil {
				t.Fatal(err)
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

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
