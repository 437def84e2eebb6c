package main

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

// zipPackage zips an app.json for appID at version and wasm as its entry,
// with no check of either: the tests hand it to what must check them.
func zipPackage(t *testing.T, appID, version string, wasm []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string][]byte{
		"app.json": []byte(`{"appId": "` + appID + `", "version": "` + version + `", "abi": 1, "entry": "app.wasm"}`),
		"app.wasm": wasm,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRuntimeValidator: the release server that serve runs refuses what the
// runtime cannot run and publishes what it can. The Engine uses the tests'
// shared compile cache, so the sample compiles once per machine.
func TestRuntimeValidator(t *testing.T) {
	val, err := newRuntimeValidator(runtime.Config{CacheDir: runtimetest.CacheDir(t), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeWithin(val.Close) })
	counter, err := os.ReadFile(runtimetest.BuildPackage(t, "samples/counter", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		appID   string
		pkg     []byte
		wantErr error // nil: published
		mention string
	}{
		{"a sample", "demo.counter", counter, nil, ""},
		{"an empty module", "demo.empty", zipPackage(t, "demo.empty", "1.0.0", []byte("\x00asm\x01\x00\x00\x00")), release.ErrInvalidPackage, "publish demo.empty: invalid package"},
		{"a module that does not decode", "demo.broken", zipPackage(t, "demo.broken", "1.0.0", []byte("\x00asm\x01\x00\x00\x00\x04\x0a\x01")), release.ErrInvalidPackage, "invalid package"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := release.New(release.Config{DataDir: t.TempDir(), Key: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)), Validator: val})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { closeWithin(srv.Close) })
			rel, err := srv.Publish(t.Context(), tt.appID, bytes.NewReader(tt.pkg), 100)
			if tt.wantErr == nil {
				if err != nil || rel.Version != "1.0.0" {
					t.Fatalf("Publish = %+v, %v", rel, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("Publish: %v, want %v mentioning %q", err, tt.wantErr, tt.mention)
			}
			if _, err := srv.Status(t.Context(), tt.appID); err == nil {
				t.Fatal("a refused upload was published")
			}
		})
	}
}

// TestCorruptPackages: dev's broken downloads flip one byte of package
// bodies while switched on, and nothing else.
func TestCorruptPackages(t *testing.T) {
	body := bytes.Repeat([]byte{'a'}, 200)
	var on atomic.Bool
	hs := httptest.NewServer(corruptPackages(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}), &on))
	t.Cleanup(hs.Close)
	flipped := func(at int) []byte {
		b := bytes.Clone(body)
		b[at] ^= 0xff
		return b
	}
	tests := []struct {
		name, path, rng string
		on              bool
		want            []byte
	}{
		{"package, off", "/apps/demo.counter/packages/1.0.1.mpk", "", false, body},
		{"package, on", "/apps/demo.counter/packages/1.0.1.mpk", "", true, flipped(64)},
		{"package range, on", "/apps/demo.counter/packages/1.0.1.mpk", "bytes=100-", true, flipped(164)[100:]},
		{"document, on", "/apps/demo.counter/release.json", "", true, body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			on.Store(tt.on)
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, hs.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.rng != "" {
				req.Header.Set("Range", tt.rng)
			}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("body %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

// TestServeCommandValidatesUploads: serve gives its server the runtime's
// Validator, so an upload that passes the package checks but cannot run is
// refused over the admin API (publish checks locally first; this upload
// skips publish).
func TestServeCommandValidatesUploads(t *testing.T) {
	t.Setenv("MINIHOST_TOKEN", "validate-token-a3f0")
	url := relServe(t, "--data", t.TempDir(), "--key", relKeygen(t))
	admin, err := newAdminClient(url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(t.Context())
	_, err = admin.Publish(t.Context(), "demo.empty", bytes.NewReader(zipPackage(t, "demo.empty", "1.0.0", []byte("\x00asm\x01\x00\x00\x00"))), 100)
	var he *updater.HTTPError
	if !errors.Is(err, release.ErrInvalidPackage) || !errors.As(err, &he) || he.StatusCode != http.StatusBadRequest {
		t.Fatalf("upload of a module that cannot run: %v, want a 400 invalid package", err)
	}
	if _, err := admin.Status(t.Context(), "demo.empty"); !errors.Is(err, updater.ErrUnknownApp) {
		t.Fatalf("after the refused upload: %v, want unknown app", err)
	}
}
