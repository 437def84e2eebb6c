package updater_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/delta"
	"github.com/minihost/minihost/updater/internal/testpkg"
	"github.com/minihost/minihost/updater/updatertest"
)

// Delta updates (issue 15), on samples/counter. Three changes:
//
//   - code: a one-line code change in main.go (onHide logs the version
//     instead of a fixed text), rebuilt.
//   - asset: one line of a 40 KiB text asset changed; the module and a
//     64 KiB incompressible image are unchanged.
//   - large: a different program (samples/hello's module) under the same
//     app, as a dependency bump or another toolchain would give.

// counterEdit is the one-line code change of the "code" case.
var counterEdit = [2]string{
	`wx.OnHide(func() { wx.Logf(abi.LevelInfo, "counter: onHide") })`,
	`wx.OnHide(func() { wx.Logf(abi.LevelInfo, "counter v%s: onHide", version()) })`,
}

// editedCounter builds samples/counter with counterEdit applied. The copy
// lives in updater/testdata (inside the module, so the guest SDK
// resolves; testdata is ignored by go build ./...) and is removed at the
// end.
func editedCounter(b *testing.B) []byte {
	root := runtimetest.ModuleRoot(b)
	src, err := os.ReadFile(filepath.Join(root, "samples", "counter", "main.go"))
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Contains(src, []byte(counterEdit[0])) {
		b.Fatalf("samples/counter/main.go no longer has the line %q the benchmark edits", counterEdit[0])
	}
	dir, err := os.MkdirTemp(filepath.Join(root, "updater", "testdata"), "bench-counter-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	edited := bytes.Replace(src, []byte(counterEdit[0]), []byte(counterEdit[1]), 1)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), edited, 0o644); err != nil {
		b.Fatal(err)
	}
	return runtimetest.BuildWasm(b, dir)
}

// textAsset returns a 40 KiB text file of numbered lines, line n edited.
func textAsset(edit int) []byte {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 40<<10; i++ {
		word := "hello"
		if i == edit {
			word = "HELLO"
		}
		fmt.Fprintf(&buf, "{\"key\": \"message.%d\", \"text\": \"%s, this is line %d of the strings\"},\n", i, word, i)
	}
	return buf.Bytes()
}

// imageAsset returns n reproducible incompressible bytes, like a PNG.
func imageAsset(n int) []byte {
	out := make([]byte, n)
	rand.NewChaCha8([32]byte{15}).Read(out)
	return out
}

// packed packs app.json at version, wasm and assets into a package and
// returns its bytes.
func packed(b *testing.B, version string, wasm []byte, assets map[string][]byte) []byte {
	stage := filepath.Join(b.TempDir(), "stage")
	files := fstest.MapFS{
		"app.json": {Data: []byte(`{"appId": "demo.counter", "version": "` + version + `", "abi": 1, "entry": "app.wasm"}`)},
		"app.wasm": {Data: wasm},
	}
	for k, v := range assets {
		files[k] = &fstest.MapFile{Data: v}
	}
	if err := os.CopyFS(stage, files); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), version+mpk.Ext)
	if err := mpk.Pack(context.Background(), stage, out); err != nil {
		b.Fatal(err)
	}
	return mustRead(b, out)
}

// deltaCases returns the base and target packages of each change.
func deltaCases(b *testing.B) []struct {
	name         string
	base, target []byte
} {
	counter := runtimetest.BuildWasm(b, "samples/counter")
	img := imageAsset(64 << 10)
	assets := func(edit int) map[string][]byte {
		return map[string][]byte{"assets/logo.png": img, "assets/strings.json": textAsset(edit)}
	}
	return []struct {
		name         string
		base, target []byte
	}{
		{"code", packed(b, "1.0.0", counter, nil), packed(b, "1.0.1", editedCounter(b), nil)},
		{"asset", packed(b, "1.0.0", counter, assets(-1)), packed(b, "1.0.1", counter, assets(300))},
		{"large", packed(b, "1.0.0", counter, nil), packed(b, "2.0.0", runtimetest.BuildWasm(b, "samples/hello"), nil)},
	}
}

// BenchmarkDeltaPatch measures what the release server does at publish
// for one base version: delta.Build over the two packages' files (their
// reading from the .mpk is not timed). It reports the patch's size as a
// share of the full target package, in percent (%pkg); ns/op is the build
// time. Run: go test -run '^$' -bench DeltaPatch ./updater/
func BenchmarkDeltaPatch(b *testing.B) {
	for _, c := range deltaCases(b) {
		base, target := testpkg.Entries(b, c.base), testpkg.Entries(b, c.target)
		b.Run(c.name, func(b *testing.B) {
			var patch []byte
			for b.Loop() {
				var err error
				if patch, err = delta.Build(base, target); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(100*float64(len(patch))/float64(len(c.target)), "%pkg")
			b.ReportMetric(float64(len(patch)), "patch-bytes")
			b.ReportMetric(float64(len(c.target)), "pkg-bytes")
		})
	}
}

// BenchmarkDeltaInstall measures getting the "code" change onto disk on
// loopback from the test kit (patches on), with version 1.0.0 installed:
//
//   - minihost: the patch path: Client.Download of the patch into a .part
//     file, Store.InstallPatch (sha256, apply into the staging folder with
//     every file checked against the content digest and synced, rename,
//     file list, state), the .part file removed.
//   - full: the package path the patch replaces, Client.Download of the
//     package and Store.InstallRelease (BenchmarkDownloadInstall's
//     minihost).
//
// Each iteration starts from a fresh store with 1.0.0 installed (made
// outside the timer). Run: go test -run '^$' -bench DeltaInstall ./updater/
func BenchmarkDeltaInstall(b *testing.B) {
	ctx := context.Background()
	const appID = "demo.counter"
	kit := updatertest.NewServer(b, updatertest.Config{Patches: true})
	cases := deltaCases(b)
	v1 := filepath.Join(b.TempDir(), "1.0.0.mpk")
	if err := os.WriteFile(v1, cases[0].base, 0o644); err != nil {
		b.Fatal(err)
	}
	v2 := filepath.Join(b.TempDir(), "1.0.1.mpk")
	if err := os.WriteFile(v2, cases[0].target, 0o644); err != nil {
		b.Fatal(err)
	}
	rel1 := kit.Publish(b, v1, 100)
	rel := kit.Publish(b, v2, 100)
	if len(rel.Patches) != 1 {
		b.Fatalf("1.0.1 has patches %+v, want one from 1.0.0", rel.Patches)
	}
	p := rel.Patches[0]
	client, err := updater.NewClient(updater.ClientConfig{BaseURL: kit.URL, PublicKey: kit.PublicKey, Now: kit.Clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close(context.Background())
	work := b.TempDir()
	fresh := func(b *testing.B) (*updater.Store, string) {
		dir, err := os.MkdirTemp(work, "iter-")
		if err != nil {
			b.Fatal(err)
		}
		store, err := updater.OpenStore(updater.StoreConfig{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if err := store.InstallRelease(ctx, appID, rel1, v1); err != nil {
			b.Fatal(err)
		}
		return store, dir
	}
	// Each path downloads into part, installs from it and removes it.
	paths := map[string]func(store *updater.Store, part string) error{
		"minihost": func(store *updater.Store, part string) error {
			if _, err := client.Download(ctx, &updater.Release{Version: rel.Version, Size: p.Size, SHA256: p.SHA256, Path: p.Path}, part, nil); err != nil {
				return err
			}
			if err := store.InstallPatch(ctx, appID, rel, p.From, part); err != nil {
				return err
			}
			return os.Remove(part)
		},
		"full": func(store *updater.Store, part string) error {
			if _, err := client.Download(ctx, rel, part, nil); err != nil {
				return err
			}
			if err := store.InstallRelease(ctx, appID, rel, part); err != nil {
				return err
			}
			return os.Remove(part)
		},
	}
	for _, name := range []string{"minihost", "full"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				store, dir := fresh(b)
				b.StartTimer()
				err := paths[name](store, filepath.Join(dir, "download.part"))
				b.StopTimer()
				if err == nil {
					_, err = os.Stat(filepath.Join(store.PackageDir(appID, rel.Version), "app.wasm"))
				}
				if err != nil {
					b.Fatal(err)
				}
				os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}
