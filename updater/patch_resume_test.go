package updater_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/testpkg"
	"github.com/minihost/minihost/updater/updatertest"
)

// TestPatchDownloadResumes: a patch is downloaded like a package
// (Client.Download of its size, sha256 and path), so a cut patch download
// resumes with a Range request from what arrived, and the resumed file
// installs.
func TestPatchDownloadResumes(t *testing.T) {
	kit := updatertest.NewServer(t, updatertest.Config{Patches: true})
	dir := t.TempDir()
	var rels []*updater.Release
	for _, v := range []string{"1.0.0", "1.1.0"} {
		pkg := filepath.Join(dir, v+".mpk")
		if err := os.WriteFile(pkg, testpkg.Sample(t, "demo.counter", v), 0o644); err != nil {
			t.Fatal(err)
		}
		rels = append(rels, kit.Publish(t, pkg, 100))
	}
	rel := rels[1]
	if len(rel.Patches) != 1 {
		t.Fatalf("1.1.0 has patches %+v, want one from 1.0.0", rel.Patches)
	}
	p := rel.Patches[0]
	store, err := updater.OpenStore(updater.StoreConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.InstallRelease(t.Context(), "demo.counter", rels[0], filepath.Join(dir, "1.0.0.mpk")); err != nil {
		t.Fatal(err)
	}
	client, err := updater.NewClient(updater.ClientConfig{BaseURL: kit.URL, PublicKey: kit.PublicKey, Now: kit.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(t.Context())

	const cut = 100
	kit.SetFault(updatertest.Fault{Kind: updatertest.FaultCut, Path: "/apps/*/patches/*/*", After: cut, Times: 1})
	part := filepath.Join(t.TempDir(), "1.1.0.mpd.part")
	asRelease := &updater.Release{Version: rel.Version, Size: p.Size, SHA256: p.SHA256, Path: p.Path}
	if _, err := client.Download(t.Context(), asRelease, part, nil); err == nil {
		t.Fatal("a cut patch download succeeded")
	}
	if fi, err := os.Stat(part); err != nil || fi.Size() != cut {
		t.Fatalf("partial patch: %v, %v; want %d bytes kept", fi, err, cut)
	}
	n, err := client.Download(t.Context(), asRelease, part, nil)
	if err != nil || n != p.Size-cut {
		t.Fatalf("resumed download: %d bytes, %v; want the %d missing", n, err, p.Size-cut)
	}
	var ranged bool
	for _, r := range kit.Requests() {
		ranged = ranged || strings.HasSuffix(r.Path, ".mpd") && r.Range == "bytes=100-"
	}
	if !ranged {
		t.Errorf("no Range request for the rest of the patch among %+v", kit.Requests())
	}
	if err := store.InstallPatch(t.Context(), "demo.counter", rel, "1.0.0", part); err != nil {
		t.Fatal(err)
	}
}
