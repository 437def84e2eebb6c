package release_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
)

// versionClient returns a client that reports running (for every app).
func (ts *testServer) versionClient(running string) *updater.Client {
	ts.t.Helper()
	c, err := updater.NewClient(updater.ClientConfig{
		BaseURL: ts.hs.URL, PublicKey: ts.srv.PublicKey(), Now: ts.clock.Now,
		RunningVersion: func(string) string { return running },
	})
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { c.Close(ts.t.Context()) })
	return c
}

// rawGet sends a GET with the given headers and fails on a status other
// than want.
func (ts *testServer) rawGet(path string, header http.Header, want int) {
	ts.t.Helper()
	req, err := http.NewRequestWithContext(ts.t.Context(), http.MethodGet, ts.hs.URL+"/"+path, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		ts.t.Fatalf("GET %s: status %d, want %d", path, resp.StatusCode, want)
	}
}

// counts returns appID's adoption per version from the admin API.
func (ts *testServer) counts(appID string) (map[string][4]int64, int64) {
	ts.t.Helper()
	st, err := ts.admin.Status(ts.t.Context(), appID)
	if err != nil {
		ts.t.Fatal(err)
	}
	out := map[string][4]int64{}
	for _, v := range st.Versions {
		out[v.Version] = [4]int64{v.Fetches, v.Downloads, v.Patches, v.Fetches24h}
	}
	return out, st.UnknownFetches
}

func TestAdoptionCountsFetchesAndDownloads(t *testing.T) {
	ts := newTestServer(t, withPatches)
	ts.publish("demo.counter", "1.0.0")
	rel := ts.publish("demo.counter", "1.1.0")
	old := ts.versionClient("1.0.0")
	for range 3 {
		ts.fetch(old, "demo.counter", 0)
	}
	ts.fetch(ts.versionClient("1.1.0"), "demo.counter", 0)
	ts.fetch(ts.client(), "demo.counter", 0)                   // no version: unknown
	ts.fetch(ts.versionClient("9.9.9"), "demo.counter", 0)     // never published: unknown
	ts.fetch(ts.versionClient("1.0.0; rm"), "demo.counter", 0) // garbage: unknown
	if _, err := old.Download(t.Context(), rel, filepath.Join(t.TempDir(), "p.mpk"), nil); err != nil {
		t.Fatal(err)
	}
	// A resumed download is the same download; an unknown app is not
	// counted at all.
	ts.rawGet(rel.Path, http.Header{"Range": {"bytes=10-"}}, http.StatusPartialContent)
	ts.rawGet(rel.Path, http.Header{"Range": {"bytes=0-"}}, http.StatusPartialContent)
	ts.rawGet("apps/demo.nope/release.json", http.Header{"Minihost-Running-Version": {"1.0.0"}}, http.StatusNotFound)
	// A patch download counts under the version it builds, once per
	// download too.
	if len(rel.Patches) != 1 {
		t.Fatalf("1.1.0 lists %d patches, want one from 1.0.0", len(rel.Patches))
	}
	ts.rawGet(rel.Patches[0].Path, nil, http.StatusOK)
	ts.rawGet(rel.Patches[0].Path, http.Header{"Range": {"bytes=10-"}}, http.StatusPartialContent)

	got, unknown := ts.counts("demo.counter")
	want := map[string][4]int64{"1.0.0": {3, 0, 0, 3}, "1.1.0": {1, 2, 1, 1}}
	for v, w := range want {
		if got[v] != w {
			t.Errorf("version %s: fetches, downloads, patches, fetches24h = %v, want %v", v, got[v], w)
		}
	}
	if unknown != 3 {
		t.Errorf("unknown fetches = %d, want 3 (no header, unpublished, garbage)", unknown)
	}
	if _, err := ts.admin.Status(t.Context(), "demo.nope"); err == nil {
		t.Error("a fetch of an unknown app made it known")
	}
}

func TestAdoptionSurvivesRestartAndStoresNoIdentity(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	ts.fetch(ts.versionClient("1.0.0"), "demo.counter", 0)
	ts.fetch(ts.versionClient("1.0.0"), "demo.counter", 0)
	ts.restart()
	ts.fetch(ts.versionClient("1.0.0"), "demo.counter", 0)
	got, _ := ts.counts("demo.counter")
	if got["1.0.0"][0] != 3 {
		t.Fatalf("fetches of 1.0.0 after a restart = %d, want 3 (2 before, 1 after)", got["1.0.0"][0])
	}
	ts.restart() // Close writes the file
	data, err := os.ReadFile(filepath.Join(ts.cfg.DataDir, "adoption.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"127.0.0.1", "::1", "client", "addr", "agent"} {
		if strings.Contains(strings.ToLower(string(data)), id) {
			t.Errorf("adoption.json holds %q, something that could identify a client:\n%s", id, data)
		}
	}
}

func TestAdoptionBoundedAgainstManyVersions(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	for i := range 10000 {
		v := fmt.Sprintf("1.0.%d", i+1)
		if i%2 == 1 {
			v = fmt.Sprintf("garbage-%d", i)
		}
		ts.rawGet("apps/demo.counter/release.json", http.Header{"Minihost-Running-Version": {v}}, http.StatusOK)
	}
	got, unknown := ts.counts("demo.counter")
	if len(got) != 1 || unknown != 10000 {
		t.Errorf("versions %v, unknown %d: want only 1.0.0 and 10000 unknown", got, unknown)
	}
	ts.restart()
	fi, err := os.Stat(filepath.Join(ts.cfg.DataDir, "adoption.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 1024 {
		t.Errorf("adoption.json is %d bytes after 10,000 versions, want a few hundred", fi.Size())
	}
}

func TestAdoptionWindowAndDamagedFile(t *testing.T) {
	tests := []struct {
		name    string
		file    string // adoption.json before the start; "" none
		advance time.Duration
		want    int64 // fetches of 1.0.0 after one more
	}{
		{"counts kept within the window", "", 29 * 24 * time.Hour, 2},
		{"counts older than 30 days dropped", "", 31 * 24 * time.Hour, 1},
		{"damaged file set aside", "{not json", 0, 1},
		{"wrong format set aside", `{"format":9,"apps":{}}`, 0, 1},
		{"hostile version name set aside", `{"format":1,"apps":{"demo.counter":{"../x":[{"hour":1,"fetches":1}]}}}`, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, nil)
			ts.publish("demo.counter", "1.0.0")
			p := filepath.Join(ts.cfg.DataDir, "adoption.json")
			if tt.file != "" {
				ts.stop()
				if err := os.WriteFile(p, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
				ts.start()
			} else {
				ts.fetch(ts.versionClient("1.0.0"), "demo.counter", 0)
			}
			ts.clock.Advance(tt.advance)
			ts.restart()
			ts.fetch(ts.versionClient("1.0.0"), "demo.counter", 0)
			if got, _ := ts.counts("demo.counter"); got["1.0.0"][0] != tt.want {
				t.Errorf("fetches of 1.0.0 = %d, want %d", got["1.0.0"][0], tt.want)
			}
			if tt.file != "" {
				if data, err := os.ReadFile(p + ".bad"); err != nil || string(data) != tt.file {
					t.Errorf("damaged file not set aside as adoption.json.bad: %q, %v", data, err)
				}
			}
		})
	}
}

// TestAdoptionInStatusJSON: the admin API's answer (what versions --json
// prints) carries the counters, the patch counter included.
func TestAdoptionInStatusJSON(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	ts.fetch(ts.versionClient("1.0.0"), "demo.counter", 0)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.hs.URL+"/admin/apps/demo.counter/versions", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AdoptionSince  time.Time        `json:"adoptionSince"`
		UnknownFetches *int64           `json:"unknownFetches"`
		Versions       []map[string]any `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if want := ts.clock.Now().Add(-30 * 24 * time.Hour); body.AdoptionSince.Sub(want).Abs() > time.Hour {
		t.Errorf("adoptionSince = %v, want about %v", body.AdoptionSince, want)
	}
	if body.UnknownFetches == nil || len(body.Versions) != 1 {
		t.Fatalf("answer lacks unknownFetches or versions: %+v", body)
	}
	for k, want := range map[string]float64{"fetches": 1, "downloads": 0, "patches": 0, "fetches24h": 1} {
		if got, ok := body.Versions[0][k]; !ok || got != want {
			t.Errorf("versions[0].%s = %v, want %v", k, got, want)
		}
	}
}

// TestAdoptionClientSendsOnlyItsVersion: the headers of a document fetch
// are the fixed ones and the running version, nothing per client.
func TestAdoptionClientSendsOnlyItsVersion(t *testing.T) {
	ts := newTestServer(t, nil)
	ts.publish("demo.counter", "1.0.0")
	got := make(chan http.Header, 1)
	url := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Clone():
		default:
		}
		ts.srv.Handler().ServeHTTP(w, r)
	}))
	c, err := updater.NewClient(updater.ClientConfig{
		BaseURL: url, PublicKey: ts.srv.PublicKey(), Now: ts.clock.Now,
		RunningVersion: func(string) string { return "1.0.0" },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	ts.fetch(c, "demo.counter", 0)
	h := <-got
	want := map[string]bool{"Accept": true, "Accept-Encoding": true, "Cache-Control": true, "User-Agent": true, "Minihost-Running-Version": true}
	for k := range h {
		if !want[k] {
			t.Errorf("the client sent header %s: %q", k, h[k])
		}
	}
	if v := h.Get("Minihost-Running-Version"); v != "1.0.0" {
		t.Errorf("Minihost-Running-Version = %q, want 1.0.0", v)
	}
	if ua := h.Get("User-Agent"); ua != "Go-http-client/1.1" {
		t.Errorf("User-Agent = %q, want Go's default (nothing per client)", ua)
	}
}
