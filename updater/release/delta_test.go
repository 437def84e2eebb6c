package release_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

func froms(rel *updater.Release) []string {
	var out []string
	for _, p := range rel.Patches {
		out = append(out, p.From)
	}
	slices.Sort(out)
	return out
}

func TestPublishBuildsPatches(t *testing.T) {
	tests := []struct {
		name  string
		bases int
		want  []string
	}{
		{name: "default: the last three versions", want: []string{"1.1.0", "1.2.0", "1.3.0"}},
		{name: "one", bases: 1, want: []string{"1.3.0"}},
		{name: "off", bases: -1, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, func(c *release.Config) { c.PatchBases = tt.bases })
			for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
				ts.publish("demo.counter", v)
			}
			rel := ts.publish("demo.counter", "1.4.0")
			doc := ts.fetch(ts.client(), "demo.counter", 0)
			if got := froms(doc.Latest); !slices.Equal(got, tt.want) {
				t.Fatalf("document lists patches from %v, want %v", got, tt.want)
			}
			if len(doc.Latest.Content) != 64 || doc.Latest.Content != rel.Content {
				t.Fatalf("content digest %q in the document, %q from publish", doc.Latest.Content, rel.Content)
			}
			for _, p := range doc.Latest.Patches {
				if p.Size >= rel.Size/4 {
					t.Errorf("patch from %s is %d bytes, the package %d: a version-only change must patch small", p.From, p.Size, rel.Size)
				}
				status, body := ts.get(p.Path, "")
				sum := sha256.Sum256(body)
				if status != http.StatusOK || int64(len(body)) != p.Size || hex.EncodeToString(sum[:]) != p.SHA256 {
					t.Errorf("GET %s = %d, %d bytes, want 200 and the signed %d bytes", p.Path, status, len(body), p.Size)
				}
				if status, part := ts.get(p.Path, "bytes=10-"); status != http.StatusPartialContent || string(part) != string(body[10:]) {
					t.Errorf("GET %s from byte 10 = %d, %d bytes, want 206 and the rest", p.Path, status, len(part))
				}
			}
		})
	}
}

func TestPatchesOfRevokedVersions(t *testing.T) {
	ts := newTestServer(t, withPatches)
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		ts.publish("demo.counter", v)
	}
	if _, err := ts.srv.Revert(t.Context(), "demo.counter", "1.1.0"); err != nil { // revokes 1.2.0
		t.Fatal(err)
	}
	rel := ts.publish("demo.counter", "1.3.0")
	if got := froms(rel); !slices.Equal(got, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("1.3.0 has patches from %v, want 1.0.0 and 1.1.0: never from revoked 1.2.0", got)
	}
	if _, err := os.Stat(filepath.Join(ts.cfg.DataDir, "apps", "demo.counter", "patches", "1.3.0", "1.2.0.mpd")); !os.IsNotExist(err) {
		t.Errorf("a patch from revoked 1.2.0 was built (%v)", err)
	}
	for _, path := range []string{
		"apps/demo.counter/patches/1.2.0/1.1.0.mpd", // to a revoked version
		"apps/demo.counter/patches/1.3.0/1.2.0.mpd", // from one
		"apps/demo.counter/patches/1.3.0/0.9.0.mpd", // from one never published
		"apps/demo.counter/patches/1.3.0/1.1.0",
	} {
		if status, _ := ts.get(path, ""); status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, status)
		}
	}
}

func TestRestartRemovesStrayPatches(t *testing.T) {
	ts := newTestServer(t, withPatches)
	ts.publish("demo.counter", "1.0.0")
	ts.publish("demo.counter", "1.1.0")
	kept := filepath.Join(ts.cfg.DataDir, "apps", "demo.counter", "patches", "1.1.0", "1.0.0.mpd")
	stray := filepath.Join(ts.cfg.DataDir, "apps", "demo.counter", "patches", "1.2.0", "1.1.0.mpd") // a publish cut before its state
	if err := os.MkdirAll(filepath.Dir(stray), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stray, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts.restart()
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Errorf("stray patch still there after a restart (%v)", err)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("the state's patch was removed: %v", err)
	}
}
