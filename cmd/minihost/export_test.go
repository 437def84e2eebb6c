package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

// publishedHello returns the data folder of a release server, signing
// with key, that holds demo.hello 1.0.0 (samples/hello), and that package.
func publishedHello(t *testing.T, key ed25519.PrivateKey) (data string, pkg []byte) {
	t.Helper()
	data = t.TempDir()
	srv, err := release.New(release.Config{DataDir: data, Key: key, Validator: release.NoValidation()})
	if err != nil {
		t.Fatal(err)
	}
	pkg, _ = os.ReadFile(runtimetest.BuildPackage(t, "samples/hello", "1.0.0"))
	if _, err := srv.Publish(t.Context(), "demo.hello", bytes.NewReader(pkg), 100); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	return data, pkg
}

// exportClient serves the exported folder out over HTTP until the test
// ends and returns a client of it that trusts pub and reads the time from
// now.
func exportClient(t *testing.T, out string, pub ed25519.PublicKey, now func() time.Time) *updater.Client {
	t.Helper()
	hs := httptest.NewServer(http.FileServer(http.Dir(out)))
	t.Cleanup(hs.Close)
	return newTestClient(t, hs.URL, pub, now)
}

// newTestClient returns a client of the release server at url that trusts
// pub and reads the time from now (nil: the clock), closed when the test
// ends.
func newTestClient(t *testing.T, url string, pub ed25519.PublicKey, now func() time.Time) *updater.Client {
	t.Helper()
	c, err := updater.NewClient(updater.ClientConfig{BaseURL: url, PublicKey: pub, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.WithoutCancel(t.Context())) })
	return c
}

func TestExportCommand(t *testing.T) {
	keyFile := relKeygen(t)
	key, err := release.LoadPrivateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	data, pkg := publishedHello(t, key)

	out := filepath.Join(t.TempDir(), "public")
	code, stdout, stderr := relRun(t, "export", "--data", data, "--to", out, "--key", keyFile, "--expires", "72h")
	if code != 0 || !strings.Contains(stdout, "exported 1 app (demo.hello), 1 package (1 copied)") {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	now := time.Now().Add(71 * time.Hour) // within --expires, far past the server's lifetime
	c := exportClient(t, out, key.Public().(ed25519.PublicKey), func() time.Time { return now })
	doc, _, err := c.FetchDocument(t.Context(), "demo.hello", 0)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "p")
	if _, err := c.Download(t.Context(), doc.Latest, dst, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, pkg) {
		t.Fatal("package from the export differs")
	}

	if code, _, stderr := relRun(t, "export", "--data", data, "--to", out, "--key", keyFile+".missing"); code != 1 || !strings.Contains(stderr, "minihost keygen") {
		t.Fatalf("missing key: exit %d, %q", code, stderr)
	}
	if code, _, _ := relRun(t, "export", "--data", data, "--key", keyFile); code != 2 {
		t.Fatalf("missing --to: exit %d, want 2", code)
	}
	if code, _, stderr := relRun(t, "export", "--data", data, "--to", out, "--key", keyFile, "--app", "demo.nope"); code != 1 || !strings.Contains(stderr, "unknown app") {
		t.Fatalf("unknown app: exit %d, %q", code, stderr)
	}
}

// TestExportCommandDataFolder: --data must be a release server's data
// folder, or export fails naming it, exit 1, and writes nothing; a fresh
// server's folder exports no app and says nothing about expiry.
func TestExportCommandDataFolder(t *testing.T) {
	keyFile := relKeygen(t)
	key, err := release.LoadPrivateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	fresh := t.TempDir()
	srv, err := release.New(release.Config{DataDir: fresh, Key: key, Validator: release.NoValidation()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data string
	}{
		{"missing", filepath.Join(t.TempDir(), "nonexist")},
		{"empty", t.TempDir()},
		{"samples", filepath.Join("..", "..", "samples")}, // a folder of something else
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "pub")
			code, stdout, stderr := relRun(t, "export", "--data", tc.data, "--to", out, "--key", keyFile)
			if code != 1 || stdout != "" ||
				!strings.Contains(stderr, tc.data+" is not a release server data folder (") || !strings.HasSuffix(stderr, "): check --data\n") {
				t.Fatalf("exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output folder written: %v", err)
			}
		})
	}
	t.Run("fresh server", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "pub")
		code, stdout, stderr := relRun(t, "export", "--data", fresh, "--to", out, "--key", keyFile)
		if code != 0 || !strings.HasPrefix(stdout, "exported 0 apps to "+out) || !strings.Contains(stdout, "no documents written") ||
			strings.Contains(stdout, "expire") || strings.Contains(stdout, "0001-") {
			t.Fatalf("exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
		}
		code, stdout, stderr = relRun(t, "export", "--json", "--data", fresh, "--to", out, "--key", keyFile)
		if code != 0 || !strings.Contains(stdout, `"apps": []`) || strings.Contains(stdout, "expiresAt") {
			t.Fatalf("--json: exit %d\nstdout %s\nstderr %q", code, stdout, stderr)
		}
	})
}

// TestPrintPlurals: counts of one take the singular, others the plural.
func TestPrintPlurals(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		print func(w *bytes.Buffer)
		want  string
	}{
		{"export one app", func(w *bytes.Buffer) {
			printExport(w, exportJSON{Apps: []string{"demo.hello"}, Packages: 1, Copied: 1, To: "pub", ExpiresAt: at})
		}, "exported 1 app (demo.hello), 1 package (1 copied) to pub\nthe document expires at 2030-01-02T03:04:05Z: re-export before then\n"},
		{"export two apps", func(w *bytes.Buffer) {
			printExport(w, exportJSON{Apps: []string{"demo.a", "demo.b"}, Packages: 3, Copied: 0, To: "pub", ExpiresAt: at})
		}, "exported 2 apps (demo.a, demo.b), 3 packages (0 copied) to pub\ndocuments expire at 2030-01-02T03:04:05Z: re-export before then\n"},
		{"status 0 unknown fetches", func(w *bytes.Buffer) {
			printStatus(w, &release.AppStatus{AppID: "demo.a", AdoptionSince: at})
		}, "adoption since 2030-01-02 03:04:05; 0 fetches from clients of no published version\n"},
		{"status 1 unknown fetch", func(w *bytes.Buffer) {
			printStatus(w, &release.AppStatus{AppID: "demo.a", AdoptionSince: at, UnknownFetches: 1})
		}, "adoption since 2030-01-02 03:04:05; 1 fetch from clients of no published version\n"},
		{"status 2 unknown fetches", func(w *bytes.Buffer) {
			printStatus(w, &release.AppStatus{AppID: "demo.a", AdoptionSince: at, UnknownFetches: 2})
		}, "adoption since 2030-01-02 03:04:05; 2 fetches from clients of no published version\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.print(&b)
			if !strings.HasSuffix(b.String(), tc.want) {
				t.Fatalf("printed\n%s\nwant it to end with\n%s", b.String(), tc.want)
			}
		})
	}
}
