package release_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/wire"
	"github.com/minihost/minihost/updater/release"
)

func TestExportServedByFileServer(t *testing.T) {
	ts := newTestServer(t, withPatches)
	ctx := t.Context()
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		ts.publish("demo.counter", v)
	}
	if _, err := ts.srv.Revert(ctx, "demo.counter", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.srv.Publish(ctx, "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "1.3.0")), 30); err != nil {
		t.Fatal(err)
	}
	ts.publish("demo.hello", "1.0.0")

	out := t.TempDir()
	export := func() *release.ExportResult {
		res, err := release.Export(ctx, release.ExportConfig{
			DataDir: ts.cfg.DataDir, OutDir: out, Key: testKey(), Lifetime: 48 * time.Hour, Now: ts.clock.Now,
		})
		if err != nil {
			t.Fatalf("Export: %v", err)
		}
		return res
	}
	res := export()
	if !slices.Equal(res.Apps, []string{"demo.counter", "demo.hello"}) || res.Packages != 4 || res.Copied != 4 ||
		!res.ExpiresAt.Equal(ts.clock.Now().Add(48*time.Hour)) {
		t.Fatalf("Export = %+v", res)
	}
	want := []string{
		"apps/demo.counter/packages/1.0.0.mpk", "apps/demo.counter/packages/1.1.0.mpk", "apps/demo.counter/packages/1.3.0.mpk",
		"apps/demo.counter/patches/1.1.0/1.0.0.mpd", "apps/demo.counter/patches/1.3.0/1.0.0.mpd", "apps/demo.counter/patches/1.3.0/1.1.0.mpd",
		"apps/demo.counter/release.json",
		"apps/demo.hello/packages/1.0.0.mpk", "apps/demo.hello/release.json",
	}
	if got := listFiles(t, out); !slices.Equal(got, want) {
		t.Fatalf("exported files\n%v\nwant\n%v", got, want)
	}

	// Clients use the static tree exactly as the server, past the server's
	// own document lifetime.
	ts.clock.Advance(30 * time.Hour)
	static := httptestServer(t, http.FileServer(http.Dir(out)))
	live := ts.client()
	serverDoc, _, err := live.FetchDocument(ctx, "demo.counter", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"client-1", "client-2", "client-3", "client-4", "client-5"} {
		c, err := updater.NewClient(updater.ClientConfig{BaseURL: static, PublicKey: ts.srv.PublicKey(), Now: ts.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		doc, _, err := c.FetchDocument(ctx, "demo.counter", serverDoc.Sequence)
		if err != nil {
			t.Fatalf("FetchDocument from the export: %v", err)
		}
		serverDoc.IssuedAt, serverDoc.ExpiresAt = doc.IssuedAt, doc.ExpiresAt
		if !jsonEqual(doc, serverDoc) {
			t.Fatalf("exported document\n%+v\nserver's\n%+v", doc, serverDoc)
		}
		rel := doc.LatestFor(id)
		dst := filepath.Join(t.TempDir(), "p")
		pkg := testPackage(t, "demo.counter", rel.Version)
		os.WriteFile(dst, pkg[:len(pkg)/3], 0o644) // resume from the static server too
		if _, err := c.Download(ctx, rel, dst, nil); err != nil {
			t.Fatalf("Download %s from the export: %v", rel.Version, err)
		}
		if got, _ := os.ReadFile(dst); !bytes.Equal(got, pkg) {
			t.Fatal("downloaded package differs")
		}
	}

	// A static server's plain 404s read as the release server's.
	c, _ := updater.NewClient(updater.ClientConfig{BaseURL: static, PublicKey: ts.srv.PublicKey(), Now: ts.clock.Now})
	if _, _, err := c.FetchDocument(ctx, "demo.nope", 0); !errors.Is(err, updater.ErrUnknownApp) {
		t.Fatalf("unknown app on the static server: %v", err)
	}
	revoked := *serverDoc.Latest
	revoked.Version, revoked.Path = "1.2.0", wire.PackagePath("demo.counter", "1.2.0")
	if _, err := c.Download(ctx, &revoked, filepath.Join(t.TempDir(), "r"), nil); !errors.Is(err, updater.ErrUnknownVersion) {
		t.Fatalf("revoked package on the static server: %v", err)
	}

	// Re-export: documents re-signed, intact packages not copied again.
	if res := export(); res.Copied != 0 || res.Packages != 4 {
		t.Fatalf("re-export = %+v", res)
	}
	ts.clock.Advance(47 * time.Hour)
	if _, _, err := c.FetchDocument(ctx, "demo.hello", 0); err != nil {
		t.Fatalf("after re-export: %v", err)
	}
	ts.clock.Advance(2 * time.Hour)
	if _, _, err := c.FetchDocument(ctx, "demo.hello", 0); !errors.Is(err, updater.ErrExpired) {
		t.Fatalf("export past its lifetime: %v, want ErrExpired", err)
	}
}

func TestExportDamagedPackage(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	p := filepath.Join(ts.cfg.DataDir, "apps", "demo.counter", "packages", "1.0.0.mpk")
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 0xff
	os.WriteFile(p, b, 0o644)
	out := t.TempDir()
	_, err := release.Export(t.Context(), release.ExportConfig{DataDir: ts.cfg.DataDir, OutDir: out, Key: testKey()})
	if !errors.Is(err, updater.ErrHashMismatch) {
		t.Fatalf("Export of a damaged package: %v", err)
	}
	if got := listFiles(t, out); len(got) != 0 {
		t.Fatalf("files written: %v", got)
	}
	if _, err := release.Export(t.Context(), release.ExportConfig{DataDir: ts.cfg.DataDir, OutDir: out, Key: testKey(), Apps: []string{"demo.nope"}}); !errors.Is(err, updater.ErrUnknownApp) {
		t.Fatalf("Export of an unknown app: %v", err)
	}
}

// TestExportNotADataFolder: a folder without a release server's layout is
// refused, naming it, and nothing is written; a fresh server's folder
// exports nothing, successfully.
func TestExportNotADataFolder(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.hello", "1.0.0")
	exported := t.TempDir()
	if _, err := release.Export(t.Context(), release.ExportConfig{DataDir: ts.cfg.DataDir, OutDir: exported, Key: testKey()}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		make func(t *testing.T) string // returns the data folder
		want string
	}{
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nonexist") }, "(no such folder)"},
		{"a file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "f")
			os.WriteFile(p, []byte("x"), 0o644)
			return p
		}, "(not a folder)"},
		{"empty", func(t *testing.T) string { return t.TempDir() }, "(no apps folder)"},
		{"another folder", func(t *testing.T) string {
			d := t.TempDir()
			os.MkdirAll(filepath.Join(d, "hello"), 0o755)
			os.WriteFile(filepath.Join(d, "hello", "app.json"), []byte("{}"), 0o644)
			return d
		}, "(no apps folder)"},
		{"apps is a file", func(t *testing.T) string {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, "apps"), nil, 0o644)
			return d
		}, "(apps is not a folder)"},
		{"an exported tree", func(*testing.T) string { return exported }, "(its apps have release.json but no state.json: an exported tree?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.make(t)
			out := filepath.Join(t.TempDir(), "out")
			for _, apps := range [][]string{nil, {"demo.hello"}} {
				res, err := release.Export(t.Context(), release.ExportConfig{DataDir: data, OutDir: out, Key: testKey(), Apps: apps})
				if !errors.Is(err, release.ErrInvalidArgument) || !strings.Contains(err.Error(), data+" is not a release server data folder "+tc.want) {
					t.Fatalf("Export(apps %v) = %+v, %v; want ErrInvalidArgument naming %s %s", apps, res, err, data, tc.want)
				}
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("output folder written: %v", err)
			}
		})
	}

	fresh := newTestServer(t, nil) // apps folder, no app
	out := filepath.Join(t.TempDir(), "out")
	res, err := release.Export(t.Context(), release.ExportConfig{DataDir: fresh.cfg.DataDir, OutDir: out, Key: testKey()})
	if err != nil || len(res.Apps) != 0 || res.Packages != 0 || !res.ExpiresAt.IsZero() {
		t.Fatalf("Export of a fresh server = %+v, %v", res, err)
	}
}
