package host_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/updatertest"
)

// Delta updates end to end (issue 15): the real host and client against
// the kit with patches on. The patch path and every fallback must end with
// exactly the files a full install gives.

// requireSameFiles checks that installed version v of faultApp holds the
// files of its published package, byte for byte.
func requireSameFiles(t *testing.T, f *updFixture, v string) {
	t.Helper()
	p, err := mpk.OpenFile(packageFile(t, guestUpdater, v), mpk.Limits{})
	require.NoError(t, err)
	defer p.Close()
	dir := f.store(t).PackageDir(faultApp, v)
	for _, name := range p.Files() {
		want, err := p.ReadFile(name)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		require.NoError(t, err)
		require.Equal(t, want, got, "%s of %s", name, v)
	}
}

func TestDeltaUpdate(t *testing.T) {
	tests := []struct {
		name    string
		fault   updatertest.Fault
		via     string
		minimum func(pkg, patch int64) int64 // bytes on the wire at least
		maximum func(pkg, patch int64) int64
	}{
		{name: "patch", via: "patch from 1.0.0",
			minimum: func(_, patch int64) int64 { return patch }, maximum: func(_, patch int64) int64 { return patch }},
		{name: "corrupt patch falls back to the package",
			fault: updatertest.Fault{Kind: updatertest.FaultCorrupt, Path: "/apps/*/patches/*/*", After: 20},
			via:   "full after patch from 1.0.0 failed",
			// The patch's bytes are read whole before its hash fails (a
			// resumed retry may read it twice), then the package.
			minimum: func(pkg, patch int64) int64 { return pkg + patch }, maximum: func(pkg, patch int64) int64 { return pkg + 2*patch }},
		{name: "missing patch falls back to the package",
			fault:   updatertest.Fault{Kind: updatertest.FaultStatus, Status: 404, Path: "/apps/*/patches/*/*"},
			via:     "full after patch from 1.0.0 failed",
			minimum: func(pkg, _ int64) int64 { return pkg }, maximum: func(pkg, _ int64) int64 { return pkg }},
		{name: "cut patch falls back to the package",
			fault:   updatertest.Fault{Kind: updatertest.FaultCut, Path: "/apps/*/patches/*/*", After: 10},
			via:     "full after patch from 1.0.0 failed",
			minimum: func(pkg, _ int64) int64 { return pkg }, maximum: func(pkg, patch int64) int64 { return pkg + patch }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := faultFixture(t, updatertest.Config{Patches: true})
			f.install(t, guestUpdater, faultApp)
			rel := f.publishCached(t, guestUpdater, "2.0.0")
			require.Len(t, rel.Patches, 1, "%+v", rel)
			patch := rel.Patches[0]
			require.Equal(t, "1.0.0", patch.From)
			require.Less(t, patch.Size, rel.Size/4, "a version-only change patches in well under a quarter of the package")
			f.kit.SetFault(tt.fault)
			f.longUnused() // a sync launch: the download is in the decision
			a, _, h := f.coldStart(t, faultApp)
			d := a.Decision()
			stop(t, a, h)
			require.Equal(t, "2.0.0", d.Opened, "%+v", d)
			require.NotNil(t, d.Download)
			require.Equal(t, "ok", d.Download.Result, "%+v", d.Download)
			require.Equal(t, tt.via, d.Download.Via)
			require.GreaterOrEqual(t, d.Download.Bytes, tt.minimum(rel.Size, patch.Size), "bytes on the wire")
			require.LessOrEqual(t, d.Download.Bytes, tt.maximum(rel.Size, patch.Size), "bytes on the wire")
			requireInstalled(t, f, "1.0.0", "2.0.0")
			requireSameFiles(t, f, "2.0.0")
			left, _ := os.ReadDir(filepath.Join(f.home, "downloads", faultApp))
			require.Empty(t, left, "downloads left after the update installed")
		})
	}
}

func TestDeltaUpdateWithoutTheBase(t *testing.T) {
	f := faultFixture(t, updatertest.Config{Patches: true})
	f.install(t, guestUpdater, faultApp)
	for _, v := range []string{"2.0.0", "3.0.0", "4.0.0"} {
		f.publishCached(t, guestUpdater, v)
	}
	rel := f.publishCached(t, guestUpdater, "5.0.0")
	var froms []string
	for _, p := range rel.Patches {
		froms = append(froms, p.From)
	}
	require.ElementsMatch(t, []string{"2.0.0", "3.0.0", "4.0.0"}, froms, "patches from the last three versions")
	f.longUnused()
	a, _, h := f.coldStart(t, faultApp)
	d := a.Decision()
	stop(t, a, h)
	require.Equal(t, "5.0.0", d.Opened, "%+v", d)
	require.Equal(t, "full", d.Download.Via, "1.0.0 has no patch: the package")
	require.Equal(t, rel.Size, d.Download.Bytes)
	requireSameFiles(t, f, "5.0.0")
}
