package updater_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
)

// longVersion returns a valid-looking pre-release version of n bytes.
func longVersion(n int) string { return "1.0.0-" + strings.Repeat("a", n-len("1.0.0-")) }

// adminDo sends an admin request and returns the status and error message.
func adminDo(t *testing.T, ts *testServer, method, path string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, ts.hs.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := ts.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error
}

// TestIntakeServerVersionLimit: the publish API took a 244-byte version
// (every client then failed forever on "file name too long") and answered
// 500 at 300 bytes. It answers 400 naming the field, stores nothing, and
// takes a version at the limit. The same rule holds for settings and
// revert, and for the app id.
func TestIntakeServerVersionLimit(t *testing.T) {
	ts := newTestServer(t, nil)
	wasm := "\x00asm\x01\x00\x00\x00"
	pkg := func(appID, version string) []byte {
		return craftPackage(t, map[string]string{"app.json": manifestJSON(appID, version), "app.wasm": wasm})
	}
	longID := "demo." + strings.Repeat("x", 60) // 65 bytes
	tests := []struct {
		name    string
		method  string
		path    string
		body    []byte
		status  int
		mention []string
	}{
		{"publish 64 bytes, the limit", "POST", "/admin/apps/demo.counter/packages", pkg("demo.counter", longVersion(64)), 201, nil},
		{"publish 244 bytes", "POST", "/admin/apps/demo.counter/packages", pkg("demo.counter", longVersion(244)), 400, []string{`"version"`, "244 bytes exceeds the limit of 64"}},
		{"publish 300 bytes", "POST", "/admin/apps/demo.counter/packages", pkg("demo.counter", longVersion(300)), 400, []string{`"version"`, "300 bytes exceeds the limit of 64"}},
		{"publish 65 bytes", "POST", "/admin/apps/demo.counter/packages", pkg("demo.counter", longVersion(65)), 400, []string{`"version"`, "65 bytes exceeds the limit of 64"}},
		{"publish a tilde", "POST", "/admin/apps/demo.counter/packages", pkg("demo.counter", "1.0.0-a~b"), 400, []string{`"version"`, "a~b"}},
		{"publish a 65-byte app id", "POST", "/admin/apps/" + longID + "/packages", pkg(longID, "1.0.0"), 400, []string{`"appId"`, "1 to 64"}},
		{"minimum version of 300 bytes", "PATCH", "/admin/apps/demo.counter/settings", []byte(`{"minVersion": "` + longVersion(300) + `"}`), 400, []string{"minVersion", "300 bytes exceeds the limit of 64"}},
		{"revert to 300 bytes", "POST", "/admin/apps/demo.counter/revert", []byte(`{"version": "` + longVersion(300) + `"}`), 400, []string{"300 bytes exceeds the limit of 64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := listFiles(t, ts.cfg.DataDir)
			status, msg := adminDo(t, ts, tt.method, tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, msg, tt.status)
			}
			for _, m := range tt.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q does not mention %q", msg, m)
				}
			}
			if tt.status == 400 && !slices.Equal(listFiles(t, ts.cfg.DataDir), files) {
				t.Errorf("a refused request changed the data folder: %v -> %v", files, listFiles(t, ts.cfg.DataDir))
			}
		})
	}
}

// TestIntakeStoreRefusesLongVersion: the client store is never given a
// version it could not name a file after: InstallRelease refuses it before
// reading or extracting anything.
func TestIntakeStoreRefusesLongVersion(t *testing.T) {
	for _, n := range []int{65, 244, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			home := t.TempDir()
			s, err := updater.OpenStore(updater.StoreConfig{Dir: home})
			if err != nil {
				t.Fatal(err)
			}
			v := longVersion(n)
			pkg := filepath.Join(t.TempDir(), "p.mpk")
			if err := os.WriteFile(pkg, craftPackage(t, map[string]string{
				"app.json": manifestJSON("demo.app", v), "app.wasm": "\x00asm\x01\x00\x00\x00"}), 0o644); err != nil {
				t.Fatal(err)
			}
			rel := releaseOf(t, "demo.app", v, pkg)
			err = s.InstallRelease(t.Context(), "demo.app", rel, pkg)
			if want := fmt.Sprintf("%d bytes exceeds the limit of 64", n); err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("InstallRelease: %v, want an error saying %q", err, want)
			}
			if files := listFiles(t, home); len(files) != 0 {
				t.Errorf("a refused InstallRelease left %v", files)
			}
		})
	}
}

// TestIntakeStoreOpenRemovesTempLeftovers: a crash during an atomic write
// leaves its temporary file, which made doctor report a problem (exit 1)
// until --repair. Opening the store removes such leftovers (they are never
// valid state), so Check then reports the app clean; an extraction folder,
// possibly an install in progress elsewhere, is left to Check and Prune.
func TestIntakeStoreOpenRemovesTempLeftovers(t *testing.T) {
	tests := []struct {
		name      string
		leftovers []string // relative to apps/demo.app
		kept      []string
		clean     bool // Check finds nothing after the open
	}{
		{name: "state write", leftovers: []string{".state.json.tmp-123"}, clean: true},
		{name: "several state writes", leftovers: []string{".state.json.tmp-1", ".state.json.tmp-2"}, clean: true},
		{name: "file list write", leftovers: []string{"files/.1.0.0.json.tmp-4"}, clean: true},
		{name: "extraction in progress", kept: []string{"versions/.install-2.0.0-9/pkg/app.json"}},
		{name: "other files stay", kept: []string{"notes.tmp", "files/1.0.0.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			s, err := updater.OpenStore(updater.StoreConfig{Dir: home})
			if err != nil {
				t.Fatal(err)
			}
			pkg := filepath.Join(t.TempDir(), "p.mpk")
			if err := os.WriteFile(pkg, craftPackage(t, map[string]string{
				"app.json": manifestJSON("demo.app", "1.0.0"), "app.wasm": "\x00asm\x01\x00\x00\x00"}), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := s.InstallRelease(t.Context(), "demo.app", releaseOf(t, "demo.app", "1.0.0", pkg), pkg); err != nil {
				t.Fatal(err)
			}
			appDir := filepath.Join(home, "apps", "demo.app")
			for _, name := range append(slices.Clone(tt.leftovers), tt.kept...) {
				p := filepath.Join(appDir, filepath.FromSlash(name))
				if _, err := os.Stat(p); err == nil {
					continue // a real file of the store, such as the file list
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte("{"), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			s, err = updater.OpenStore(updater.StoreConfig{Dir: home})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range tt.leftovers {
				if _, err := os.Stat(filepath.Join(appDir, filepath.FromSlash(name))); !os.IsNotExist(err) {
					t.Errorf("leftover %s still there after the open (%v)", name, err)
				}
			}
			for _, name := range tt.kept {
				if _, err := os.Stat(filepath.Join(appDir, filepath.FromSlash(name))); err != nil {
					t.Errorf("%s removed by the open: %v", name, err)
				}
			}
			rep, err := s.Check("demo.app", false)
			if err != nil {
				t.Fatal(err)
			}
			if tt.clean && (!rep.OK() || len(rep.Problems) != 0) {
				t.Errorf("Check after the open found %v", rep.Problems)
			}
		})
	}
}
