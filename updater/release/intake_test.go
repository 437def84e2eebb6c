package release_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
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
		// Refused at the URL, before the upload is read: the server's app
		// id check is the package's rule.
		{"publish a 65-byte app id", "POST", "/admin/apps/" + longID + "/packages", pkg(longID, "1.0.0"), 400, []string{"app id", "1 to 64"}},
		{"publish a 4000-byte app id", "POST", "/admin/apps/" + strings.Repeat("a", 4000) + "/packages", pkg("demo.counter", "1.0.0"), 400, []string{"app id", "1 to 64"}},
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
			if len(msg) > 400 {
				t.Errorf("error of %d bytes: a long id or version is quoted shortened", len(msg))
			}
			if tt.status == 400 && !slices.Equal(listFiles(t, ts.cfg.DataDir), files) {
				t.Errorf("a refused request changed the data folder: %v -> %v", files, listFiles(t, ts.cfg.DataDir))
			}
		})
	}
}
