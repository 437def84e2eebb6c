package updater

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/minihost/minihost/updater/internal/delta"
	"github.com/minihost/minihost/updater/internal/testpkg"
)

// patchFixture is a store with demo.counter 1.0.0 installed from its
// package, and 1.1.0's release with a patch from 1.0.0 in a file.
type patchFixture struct {
	s         *Store
	rel       *Release
	patch     string // the patch file
	v2        []delta.Entry
	v1, v2pkg []byte
}

func newPatchFixture(t *testing.T) *patchFixture {
	t.Helper()
	s, _ := newTestStore(t)
	f := &patchFixture{s: s, v1: testpkg.Sample(t, "demo.counter", "1.0.0"), v2pkg: testpkg.Sample(t, "demo.counter", "1.1.0")}
	pkg := filepath.Join(t.TempDir(), "1.0.0.mpk")
	if err := os.WriteFile(pkg, f.v1, 0o644); err != nil {
		t.Fatal(err)
	}
	rel1 := &Release{Version: "1.0.0", Size: int64(len(f.v1)), SHA256: testpkg.SHA256(f.v1), Path: "p"}
	if err := s.InstallRelease(t.Context(), "demo.counter", rel1, pkg); err != nil {
		t.Fatal(err)
	}
	f.v2 = testpkg.Entries(t, f.v2pkg)
	patch, err := delta.Build(testpkg.Entries(t, f.v1), f.v2)
	if err != nil {
		t.Fatal(err)
	}
	f.patch = filepath.Join(t.TempDir(), "1.1.0.mpd")
	if err := os.WriteFile(f.patch, patch, 0o644); err != nil {
		t.Fatal(err)
	}
	f.rel = &Release{Version: "1.1.0", Size: int64(len(f.v2pkg)), SHA256: testpkg.SHA256(f.v2pkg), Path: "p", Content: testpkg.Digest(f.v2),
		Patches: []Patch{{From: "1.0.0", Size: int64(len(patch)), SHA256: testpkg.SHA256(patch), Path: "q"}}}
	return f
}

// installed returns the verified versions of demo.counter.
func (f *patchFixture) installed(t *testing.T) []string {
	t.Helper()
	st, err := f.s.Load("demo.counter")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, iv := range st.Installed {
		if iv.Verified {
			out = append(out, iv.Version)
		}
	}
	return out
}

func TestInstallPatch(t *testing.T) {
	f := newPatchFixture(t)
	if err := f.s.InstallPatch(t.Context(), "demo.counter", f.rel, "1.0.0", f.patch); err != nil {
		t.Fatal(err)
	}
	if got := f.installed(t); !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("installed %v, want 1.0.0 and 1.1.0", got)
	}
	dir := f.s.PackageDir("demo.counter", "1.1.0")
	for _, e := range f.v2 {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Path)))
		if err != nil || !bytes.Equal(got, e.Data) {
			t.Errorf("%s: %d bytes (%v), want the package's %d", e.Path, len(got), err, len(e.Data))
		}
	}
	if got := testpkg.ListFiles(t, dir); len(got) != len(f.v2) {
		t.Errorf("installed files %v, want the package's %d", got, len(f.v2))
	}
}

func TestInstallPatchRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(t *testing.T, f *patchFixture) (rel *Release, from string)
		is   error // nil: any error
	}{
		{name: "patch file is not the signed one", is: ErrHashMismatch, edit: func(t *testing.T, f *patchFixture) (*Release, string) {
			b, _ := os.ReadFile(f.patch)
			b[len(b)-1] ^= 1
			os.WriteFile(f.patch, b, 0o644)
			return f.rel, "1.0.0"
		}},
		{name: "signed patch rebuilds other files", is: delta.ErrBadPatch, edit: func(t *testing.T, f *patchFixture) (*Release, string) {
			other := slices.Clone(f.v2)
			other[0].Data = append(slices.Clone(other[0].Data), ' ')
			b, err := delta.Build(testpkg.Entries(t, f.v1), other)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(f.patch, b, 0o644)
			rel := *f.rel
			rel.Patches = []Patch{{From: "1.0.0", Size: int64(len(b)), SHA256: testpkg.SHA256(b), Path: "q"}}
			return &rel, "1.0.0"
		}},
		{name: "truncated patch", is: delta.ErrBadPatch, edit: func(t *testing.T, f *patchFixture) (*Release, string) {
			b, _ := os.ReadFile(f.patch)
			b = b[:len(b)/2]
			os.WriteFile(f.patch, b, 0o644)
			rel := *f.rel
			rel.Patches = []Patch{{From: "1.0.0", Size: int64(len(b)), SHA256: testpkg.SHA256(b), Path: "q"}}
			return &rel, "1.0.0"
		}},
		{name: "base version not installed", is: errNoPatchBase, edit: func(t *testing.T, f *patchFixture) (*Release, string) {
			rel := *f.rel
			rel.Patches = []Patch{{From: "0.9.0", Size: f.rel.Patches[0].Size, SHA256: f.rel.Patches[0].SHA256, Path: "q"}}
			return &rel, "0.9.0"
		}},
		{name: "base files changed on disk", edit: func(t *testing.T, f *patchFixture) (*Release, string) {
			wasm := filepath.Join(f.s.PackageDir("demo.counter", "1.0.0"), "app.wasm")
			b, _ := os.ReadFile(wasm)
			b[len(b)/2] ^= 1
			os.WriteFile(wasm, b, 0o644)
			return f.rel, "1.0.0"
		}},
		{name: "release without a content digest", edit: func(t *testing.T, f *patchFixture) (*Release, string) {
			rel := *f.rel
			rel.Content = ""
			return &rel, "1.0.0"
		}},
		{name: "release does not list the patch", edit: func(t *testing.T, f *patchFixture) (*Release, string) {
			rel := *f.rel
			rel.Patches = nil
			return &rel, "1.0.0"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newPatchFixture(t)
			rel, from := tt.edit(t, f)
			err := f.s.InstallPatch(t.Context(), "demo.counter", rel, from, f.patch)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("InstallPatch = %v, want an error wrapping %v", err, tt.is)
			}
			if got := f.installed(t); !slices.Equal(got, []string{"1.0.0"}) {
				t.Fatalf("installed %v after a refused patch, want 1.0.0 only", got)
			}
			entries, err := os.ReadDir(filepath.Dir(f.s.PackageDir("demo.counter", "1.0.0")))
			if err != nil || len(entries) != 1 {
				t.Fatalf("versions folder holds %v (%v) after a refused patch, want 1.0.0 only", entries, err)
			}
		})
	}
}
