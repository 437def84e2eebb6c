package release_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

func TestServerPublishFetchDownload(t *testing.T) {
	ts := newTestServer(t, nil)
	pkg := testPackage(t, "demo.counter", "1.0.0")
	rel := ts.publish("demo.counter", "1.0.0")
	sum := sha256.Sum256(pkg)
	want := updater.Release{Version: "1.0.0", Size: int64(len(pkg)), SHA256: hex.EncodeToString(sum[:]),
		Path: "apps/demo.counter/packages/1.0.0.mpk", Content: rel.Content} // Content: delta_test.go
	if !reflect.DeepEqual(*rel, want) {
		t.Fatalf("Publish = %+v, want %+v", *rel, want)
	}

	c := ts.client()
	doc, env, err := c.FetchDocument(t.Context(), "demo.counter", 0)
	if err != nil {
		t.Fatalf("FetchDocument: %v", err)
	}
	if doc.Latest == nil || !reflect.DeepEqual(*doc.Latest, want) || doc.Stable != nil || doc.RolloutPercent != 100 || doc.Sequence != 1 {
		t.Fatalf("document = %+v", doc)
	}
	if !doc.IssuedAt.Equal(ts.clock.Now()) || !doc.ExpiresAt.Equal(ts.clock.Now().Add(updater.DefaultDocumentLifetime)) {
		t.Fatalf("issued %v expires %v, clock %v", doc.IssuedAt, doc.ExpiresAt, ts.clock.Now())
	}
	if _, err := updater.VerifyDocument(env, ts.srv.PublicKey(), updater.VerifyOptions{AppID: "demo.counter", MinSequence: 1, Now: ts.clock.Now()}); err != nil {
		t.Fatalf("raw envelope does not verify offline: %v", err)
	}
	if got := doc.LatestFor("client-1"); got == nil || got.Version != "1.0.0" {
		t.Fatalf("LatestFor = %+v", got)
	}

	dst := filepath.Join(t.TempDir(), "pkg.part")
	n, err := c.Download(t.Context(), doc.Latest, dst, nil)
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	if got, _ := os.ReadFile(dst); n != int64(len(pkg)) || !bytes.Equal(got, pkg) {
		t.Fatalf("downloaded %d bytes, file equal %v", n, bytes.Equal(got, pkg))
	}

	if _, _, err := c.FetchDocument(t.Context(), "demo.unknown", 0); !errors.Is(err, updater.ErrUnknownApp) {
		t.Fatalf("unknown app: err = %v, want ErrUnknownApp", err)
	}
}

func TestServerPackageHeaders(t *testing.T) {
	ts := newTestServer(t, nil)
	rel := ts.publish("demo.counter", "1.0.0")
	url := ts.hs.URL + "/" + rel.Path
	get := func(hdr map[string]string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := ts.hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := get(nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || int64(len(body)) != rel.Size || resp.ContentLength != rel.Size ||
		resp.Header.Get("ETag") != `"`+rel.SHA256+`"` || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("GET: %d, %d bytes, headers %v", resp.StatusCode, len(body), resp.Header)
	}
	resp = get(map[string]string{"Range": "bytes=10-"})
	part, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[10:]) {
		t.Fatalf("Range: %d, %d bytes", resp.StatusCode, len(part))
	}
	if resp := get(map[string]string{"If-None-Match": `"` + rel.SHA256 + `"`}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", resp.StatusCode)
	}
	if resp := get(nil); resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"apps/demo.counter/packages/9.9.9.mpk", "apps/demo.counter/packages/1.0.0.zip", "apps/nope/packages/1.0.0.mpk"} {
		if status, _ := ts.get(p, ""); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, status)
		}
	}
	// Documents are conditional too.
	d1, err := ts.hs.Client().Get(ts.hs.URL + "/apps/demo.counter/release.json")
	if err != nil {
		t.Fatal(err)
	}
	d1.Body.Close()
	url = ts.hs.URL + "/apps/demo.counter/release.json"
	if resp := get(map[string]string{"If-None-Match": d1.Header.Get("ETag")}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("document If-None-Match: %d, want 304", resp.StatusCode)
	}
}

func TestServerAdminAuth(t *testing.T) {
	logs := &syncBuffer{}
	ts := newTestServer(t, func(c *release.Config) {
		c.Tokens = []string{testToken, "second-token-7a2c9e"}
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ts.publish("demo.counter", "1.0.0")
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "Bearer nope", http.StatusUnauthorized},
		{"prefix of the token", "Bearer " + testToken[:5], http.StatusUnauthorized},
		{"not bearer", "Basic " + testToken, http.StatusUnauthorized},
		{"right", "Bearer " + testToken, http.StatusOK},
		{"second token", "Bearer second-token-7a2c9e", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ts.hs.URL+"/admin/apps/demo.counter/versions", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := ts.hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusUnauthorized {
				var e struct{ Error, Code string }
				json.NewDecoder(resp.Body).Decode(&e)
				if e.Code != "unauthorized" || !strings.Contains(e.Error, "token") || resp.Header.Get("WWW-Authenticate") == "" {
					t.Fatalf("error body %+v, headers %v", e, resp.Header)
				}
			}
		})
	}
	// Wrong tokens cannot publish either.
	bad, _ := release.NewAdminClient(release.AdminClientConfig{BaseURL: ts.hs.URL, Token: "wrong"})
	defer bad.Close(t.Context())
	if _, err := bad.Publish(t.Context(), "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "2.0.0")), 100); !errors.Is(err, updater.ErrUnauthorized) {
		t.Fatalf("publish with a wrong token: %v", err)
	}
	if st, _ := ts.srv.Status(ts.t.Context(), "demo.counter"); len(st.Versions) != 1 {
		t.Fatalf("versions after unauthorized publish: %+v", st)
	}
	// Public routes need no token.
	if status, _ := ts.get("apps/demo.counter/release.json", ""); status != http.StatusOK {
		t.Fatalf("public document: %d", status)
	}
	if log := logs.String(); strings.Contains(log, testToken) || strings.Contains(log, "second-token-7a2c9e") || !strings.Contains(log, "status=401") {
		t.Fatalf("log shows a token or lacks the 401s:\n%s", log)
	}

	t.Run("no tokens configured", func(t *testing.T) {
		ts := newTestServer(t, func(c *release.Config) { c.Tokens = nil })
		req, _ := http.NewRequest(http.MethodGet, ts.hs.URL+"/admin/apps/demo.counter/versions", nil)
		req.Header.Set("Authorization", "Bearer ")
		resp, err := ts.hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403", resp.StatusCode)
		}
	})
}

func TestServerPublishRejects(t *testing.T) {
	limit := int64(len(testPackage(t, "demo.counter", "1.2.0"))) + 100<<10
	ts := newTestServer(t, func(c *release.Config) { c.MaxPackageSize = limit })
	ts.publish("demo.counter", "1.2.0")
	ts.publish("demo.counter", "1.3.0")
	if _, err := ts.srv.Revert(t.Context(), "demo.counter", "1.2.0"); err != nil {
		t.Fatal(err)
	}
	wasm := "\x00asm\x01\x00\x00\x00"
	manifest := manifestJSON("demo.counter", "2.0.0")
	for _, tc := range []struct {
		name     string
		app      string
		body     []byte
		status   int
		sentinel error
		mention  []string
	}{
		{"not a zip", "demo.counter", []byte("hello, not a zip"), 400, release.ErrInvalidPackage, []string{"zip"}},
		{"empty body", "demo.counter", nil, 400, release.ErrInvalidPackage, []string{"empty"}},
		{"no app.json", "demo.counter", craftPackage(t, map[string]string{"app.wasm": wasm}), 400, release.ErrInvalidPackage, []string{"app.json"}},
		{"app.json not JSON", "demo.counter", craftPackage(t, map[string]string{"app.json": "{nope", "app.wasm": wasm}), 400, release.ErrInvalidPackage, []string{"app.json"}},
		{"bad version field", "demo.counter", craftPackage(t, map[string]string{"app.json": manifestJSON("demo.counter", "v2"), "app.wasm": wasm}), 400, release.ErrInvalidPackage, []string{"version"}},
		{"app id other than the URL", "demo.other", craftPackage(t, map[string]string{"app.json": manifest, "app.wasm": wasm}), 400, release.ErrInvalidPackage, []string{"appId", "demo.other", "demo.counter"}},
		{"entry not wasm", "demo.counter", craftPackage(t, map[string]string{"app.json": manifest, "app.wasm": "#!/bin/sh\n"}), 400, release.ErrInvalidPackage, []string{"app.wasm", "WebAssembly"}},
		{"over the size limit", "demo.counter", craftPackage(t, map[string]string{"app.json": manifest, "app.wasm": wasm, "other": randomText(int(limit) * 2)}), 413, mpk.ErrTooLarge, []string{"limit"}},
		{"same version", "demo.counter", testPackage(t, "demo.counter", "1.2.0"), 409, release.ErrRuleViolation, []string{"1.2.0", "not newer"}},
		{"older version", "demo.counter", testPackage(t, "demo.counter", "1.1.0"), 409, release.ErrRuleViolation, []string{"1.1.0", "1.3.0"}},
		{"version of a reverted release", "demo.counter", testPackage(t, "demo.counter", "1.3.0"), 409, release.ErrRuleViolation, []string{"1.3.0", "reverted"}},
		{"bad app id in URL", "demo%2F..", testPackage(t, "demo.counter", "2.0.0"), 400, release.ErrInvalidArgument, []string{"app id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := ts.srv.Status(ts.t.Context(), "demo.counter")
			files := listFiles(t, ts.cfg.DataDir)
			req, _ := http.NewRequest(http.MethodPost, ts.hs.URL+"/admin/apps/"+tc.app+"/packages", bytes.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := ts.hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error, Code string }
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("error body is not JSON: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, e.Error, tc.status)
			}
			for _, m := range tc.mention {
				if !strings.Contains(e.Error, m) {
					t.Errorf("error %q does not mention %q", e.Error, m)
				}
			}
			// The admin client reads the answer back as the sentinel.
			if _, err := ts.admin.Publish(t.Context(), tc.app, bytes.NewReader(tc.body), 100); !errors.Is(err, tc.sentinel) {
				t.Errorf("admin client Publish: %v, want %v (code %q)", err, tc.sentinel, e.Code)
			}
			after, _ := ts.srv.Status(ts.t.Context(), "demo.counter")
			if after.Sequence != before.Sequence || len(after.Versions) != len(before.Versions) {
				t.Errorf("state changed: %+v -> %+v", before, after)
			}
			if got := listFiles(t, ts.cfg.DataDir); !slices.Equal(got, files) {
				t.Errorf("files changed: %v -> %v", files, got)
			}
		})
	}
	// And through the Go API.
	if _, err := ts.srv.Publish(t.Context(), "demo.counter", strings.NewReader("nope"), 100); !errors.Is(err, release.ErrInvalidPackage) {
		t.Fatalf("Go Publish of junk: %v", err)
	}
}

// randomText returns n bytes that do not compress well.
func randomText(n int) string {
	var b strings.Builder
	x := uint64(88172645463325252)
	for b.Len() < n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b.WriteByte(byte('!' + x%90))
	}
	return b.String()
}
