package updater_test

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

// BenchmarkDownloadInstall measures getting a new version onto disk, on
// loopback from the test kit's release server, with the bench guest's
// package (a Go module of about 3 MiB, zipped):
//
//   - minihost: the update pipeline for a download: Client.Download into a
//     .part file (sha256 while writing, fsync), then Store.InstallRelease
//     (sha256 of the file again, mpk.Open, manifest check and Extract:
//     every file and folder synced, renamed into place, state.json written
//     atomically), then the .part file removed.
//   - floor: one raw keep-alive GET with net/http that does the same
//     durable writes and nothing else: the body streamed into a file
//     through sha256, the file synced, the hash compared, the zip's files
//     extracted with archive/zip into a temporary folder, each synced, the
//     folder synced, renamed into place, its parent synced, the download
//     removed.
//
// Each iteration installs into a fresh folder (made and removed outside
// the timer): for minihost a store with the app's folder in place, as for
// an update (the app's first install made it). Run: go test -run '^$' -bench DownloadInstall ./updater/
func BenchmarkDownloadInstall(b *testing.B) {
	ctx := context.Background()
	kit := updatertest.NewServer(b, updatertest.Config{})
	kit.Publish(b, runtimetest.BuildPackage(b, "runtime/testdata/guests/bench", "1.0.0"), 100)
	const appID = "test.bench"
	client, err := updater.NewClient(updater.ClientConfig{BaseURL: kit.URL, PublicKey: kit.PublicKey, Now: kit.Clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close(context.Background())
	doc, _, err := client.FetchDocument(ctx, appID, 0)
	if err != nil {
		b.Fatal(err)
	}
	rel := doc.LatestFor("bench-client")
	work := b.TempDir()
	fresh := func(b *testing.B) string {
		dir, err := os.MkdirTemp(work, "iter-")
		if err != nil {
			b.Fatal(err)
		}
		return dir
	}

	b.Run("minihost", func(b *testing.B) {
		b.SetBytes(rel.Size)
		for b.Loop() {
			b.StopTimer()
			dir := fresh(b)
			store, err := updater.OpenStore(updater.StoreConfig{Dir: dir})
			if err != nil {
				b.Fatal(err)
			}
			// An update installs into the app's folder, which its first
			// install made, as the floor installs into a folder it is
			// given: neither times making its parent folders. The first
			// install also made the folder of the file lists, beside the
			// versions folder (updater/store.go).
			appDir := filepath.Dir(filepath.Dir(store.PackageDir(appID, rel.Version)))
			for _, d := range []string{"versions", "files"} {
				if err := os.MkdirAll(filepath.Join(appDir, d), 0o755); err != nil {
					b.Fatal(err)
				}
			}
			part := filepath.Join(dir, rel.Version+mpk.Ext+".part")
			b.StartTimer()
			if _, err := client.Download(ctx, rel, part, nil); err != nil {
				b.Fatal(err)
			}
			if err := store.InstallRelease(ctx, appID, rel, part); err != nil {
				b.Fatal(err)
			}
			if err := os.Remove(part); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := os.Stat(filepath.Join(store.PackageDir(appID, rel.Version), "app.wasm")); err != nil {
				b.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(appDir, "files", rel.Version+".json")); err != nil {
				b.Fatalf("the file list is not where the setup made its folder: %v", err)
			}
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})

	b.Run("floor", func(b *testing.B) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		url := kit.URL + "/" + rel.Path
		b.SetBytes(rel.Size)
		for b.Loop() {
			b.StopTimer()
			dir := fresh(b)
			b.StartTimer()
			if err := rawDownloadInstall(ctx, hc, url, rel.SHA256, dir); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if _, err := os.Stat(filepath.Join(dir, "pkg", "app.wasm")); err != nil {
				b.Fatal(err)
			}
			os.RemoveAll(dir)
			b.StartTimer()
		}
	})
}

// rawDownloadInstall is the floor of BenchmarkDownloadInstall: GET url
// into dir/download through sha256, sync, compare with want, extract the
// zip into dir/pkg durably (files and folders synced, rename, parent
// synced), remove the download.
func rawDownloadInstall(ctx context.Context, hc *http.Client, url, want, dir string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	path := filepath.Join(dir, "download")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 %s, want %s", got, want)
	}
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".pkg.tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	folders := []string{tmp}
	for _, zf := range zr.File {
		name := filepath.Join(tmp, filepath.FromSlash(zf.Name))
		if !strings.HasPrefix(name, tmp+string(filepath.Separator)) {
			return fmt.Errorf("zip entry %q leaves the folder", zf.Name)
		}
		if strings.HasSuffix(zf.Name, "/") {
			if err := os.MkdirAll(name, 0o755); err != nil {
				return err
			}
			folders = append(folders, name)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := rawExtractFile(zf, name); err != nil {
			return err
		}
	}
	for i := len(folders) - 1; i >= 0; i-- {
		if err := syncPath(folders[i]); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, filepath.Join(dir, "pkg")); err != nil {
		return err
	}
	if err := syncPath(dir); err != nil {
		return err
	}
	return os.Remove(path)
}

func rawExtractFile(zf *zip.File, name string) error {
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncPath(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
