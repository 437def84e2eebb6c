package updater_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/updater"
)

func TestServerPublishFetchDownload(t *testing.T) {
	ts := newTestServer(t, nil)
	pkg := testPackage(t, "demo.counter", "1.0.0")
	rel := ts.publish("demo.counter", "1.0.0")
	sum := sha256.Sum256(pkg)
	want := updater.Release{Version: "1.0.0", Size: int64(len(pkg)), SHA256: hex.EncodeToString(sum[:]),
		Path: "apps/demo.counter/packages/1.0.0.mpk"}
	if *rel != want {
		t.Fatalf("Publish = %+v, want %+v", *rel, want)
	}

	c := ts.client("client-1")
	doc, env, err := c.FetchDocument(t.Context(), "demo.counter", 0)
	if err != nil {
		t.Fatalf("FetchDocument: %v", err)
	}
	if doc.Latest == nil || *doc.Latest != want || doc.Stable != nil || doc.RolloutPercent != 100 || doc.Sequence != 1 {
		t.Fatalf("document = %+v", doc)
	}
	if !doc.IssuedAt.Equal(ts.clock.Now()) || !doc.ExpiresAt.Equal(ts.clock.Now().Add(updater.DefaultDocumentLifetime)) {
		t.Fatalf("issued %v expires %v, clock %v", doc.IssuedAt, doc.ExpiresAt, ts.clock.Now())
	}
	if _, err := updater.VerifyDocument(env, ts.srv.PublicKey(), updater.VerifyOptions{AppID: "demo.counter", MinSequence: 1, Now: ts.clock.Now()}); err != nil {
		t.Fatalf("raw envelope does not verify offline: %v", err)
	}
	if got := c.Latest(doc); got == nil || got.Version != "1.0.0" {
		t.Fatalf("Latest = %+v", got)
	}

	dst := filepath.Join(t.TempDir(), "pkg.part")
	n, err := c.Download(t.Context(), doc.Latest, dst)
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
	for _, p := range []string{"/apps/demo.counter/packages/9.9.9.mpk", "/apps/demo.counter/packages/1.0.0.zip", "/apps/nope/packages/1.0.0.mpk"} {
		resp, err := ts.hs.Client().Get(ts.hs.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
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

// rangeRecorder wraps a handler and records the Range headers it saw;
// with ignoreRange it drops them (a server without Range support).
type rangeRecorder struct {
	h           http.Handler
	ignoreRange bool
	mu          sync.Mutex
	ranges      []string
}

func (r *rangeRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.ranges = append(r.ranges, req.Header.Get("Range"))
	r.mu.Unlock()
	if r.ignoreRange {
		req.Header.Del("Range")
	}
	r.h.ServeHTTP(w, req)
}

func TestClientDownloadResume(t *testing.T) {
	ts := newTestServer(t, nil)
	rel := ts.publish("demo.counter", "1.0.0")
	pkg := testPackage(t, "demo.counter", "1.0.0")
	half := len(pkg) / 2
	for _, tc := range []struct {
		name        string
		partial     []byte
		ignoreRange bool
		wantN       int64
		wantRanges  []string
	}{
		{"resume", pkg[:half], false, int64(len(pkg) - half), []string{fmt.Sprintf("bytes=%d-", half)}},
		{"server ignores range", pkg[:half], true, int64(len(pkg)), []string{fmt.Sprintf("bytes=%d-", half)}},
		{"complete already", pkg, false, 0, nil},
		{"longer than the package", append(slices.Clone(pkg), "junk"...), false, int64(len(pkg)), []string{""}},
		{"damaged partial is retried from scratch", append([]byte("garbage!"), pkg[8:half]...), false,
			int64(len(pkg) - half + len(pkg)), []string{fmt.Sprintf("bytes=%d-", half), ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rr := &rangeRecorder{h: ts.srv.Handler(), ignoreRange: tc.ignoreRange}
			hs := httptestServer(t, rr)
			c, err := updater.NewClient(updater.ClientConfig{BaseURL: hs, PublicKey: ts.srv.PublicKey()})
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "pkg.part")
			if err := os.WriteFile(dst, tc.partial, 0o644); err != nil {
				t.Fatal(err)
			}
			n, err := c.Download(t.Context(), rel, dst)
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			if got, _ := os.ReadFile(dst); !bytes.Equal(got, pkg) {
				t.Fatal("downloaded file differs from the package")
			}
			if n != tc.wantN {
				t.Errorf("transferred %d bytes, want %d", n, tc.wantN)
			}
			if !slices.Equal(rr.ranges, tc.wantRanges) {
				t.Errorf("Range headers %q, want %q", rr.ranges, tc.wantRanges)
			}
		})
	}
}

func TestClientDownloadBadServers(t *testing.T) {
	pkg := testPackage(t, "demo.counter", "1.0.0")
	sum := sha256.Sum256(pkg)
	rel := &updater.Release{Version: "1.0.0", Size: int64(len(pkg)), SHA256: hex.EncodeToString(sum[:]), Path: "p/1.0.0.mpk"}
	for _, tc := range []struct {
		name     string
		body     []byte
		wantErr  error
		wantFile []byte // nil: removed
	}{
		{"more than the signed size", append(slices.Clone(pkg), bytes.Repeat([]byte("x"), 1<<20)...), nil, pkg},
		{"other bytes", bytes.Repeat([]byte("y"), len(pkg)), updater.ErrHashMismatch, nil},
		{"short body", pkg[:100], io.ErrUnexpectedEOF, pkg[:100]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var served int64
			hs := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := w.Write(tc.body)
				served += int64(n)
			}))
			c, err := updater.NewClient(updater.ClientConfig{BaseURL: hs, PublicKey: testKey().Public().(ed25519PublicKey)})
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "pkg.part")
			_, err = c.Download(t.Context(), rel, dst)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Download: %v, want %v", err, tc.wantErr)
			}
			got, rerr := os.ReadFile(dst)
			if tc.wantFile == nil {
				if !errors.Is(rerr, os.ErrNotExist) {
					t.Fatalf("file left behind after %v", err)
				}
			} else if !bytes.Equal(got, tc.wantFile) {
				t.Fatalf("file has %d bytes, want %d", len(got), len(tc.wantFile))
			}
		})
	}
	t.Run("too big for the client", func(t *testing.T) {
		c, _ := updater.NewClient(updater.ClientConfig{BaseURL: "http://127.0.0.1:1", PublicKey: testKey().Public().(ed25519PublicKey), MaxPackageSize: 10})
		if _, err := c.Download(t.Context(), rel, filepath.Join(t.TempDir(), "x")); !errors.Is(err, updater.ErrTooBig) {
			t.Fatalf("err = %v, want ErrTooBig", err)
		}
	})
}

func TestServerAdminAuth(t *testing.T) {
	var logs bytes.Buffer
	var logMu sync.Mutex
	ts := newTestServer(t, func(c *updater.ServerConfig) {
		c.Tokens = []string{testToken, "second-token"}
		c.Logger = slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
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
		{"second token", "Bearer second-token", http.StatusOK},
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
	bad, _ := updater.NewAdminClient(updater.AdminClientConfig{BaseURL: ts.hs.URL, Token: "wrong"})
	defer bad.Close()
	if _, err := bad.Publish(t.Context(), "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "2.0.0"))); !errors.Is(err, updater.ErrUnauthorized) {
		t.Fatalf("publish with a wrong token: %v", err)
	}
	if vs, _ := ts.srv.Versions("demo.counter"); len(vs) != 1 {
		t.Fatalf("versions after unauthorized publish: %+v", vs)
	}
	// Public routes need no token.
	resp, err := ts.hs.Client().Get(ts.hs.URL + "/apps/demo.counter/release.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("public document: %d", resp.StatusCode)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), testToken) || strings.Contains(logs.String(), "second-token") || !strings.Contains(logs.String(), "status=401") {
		t.Fatalf("log shows a token or lacks the 401s:\n%s", logs.String())
	}

	t.Run("no tokens configured", func(t *testing.T) {
		ts := newTestServer(t, func(c *updater.ServerConfig) { c.Tokens = nil })
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

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestServerPublishRejects(t *testing.T) {
	limit := int64(len(testPackage(t, "demo.counter", "1.2.0"))) + 100<<10
	ts := newTestServer(t, func(c *updater.ServerConfig) { c.MaxPackageSize = limit })
	ts.publish("demo.counter", "1.2.0")
	ts.publish("demo.counter", "1.3.0")
	if err := ts.srv.Revert(t.Context(), "demo.counter", "1.2.0"); err != nil {
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
		{"not a zip", "demo.counter", []byte("hello, not a zip"), 400, updater.ErrInvalidPackage, []string{"zip"}},
		{"empty body", "demo.counter", nil, 400, updater.ErrInvalidPackage, []string{"empty"}},
		{"no app.json", "demo.counter", craftPackage(t, map[string]string{"app.wasm": wasm}), 400, updater.ErrInvalidPackage, []string{"app.json"}},
		{"app.json not JSON", "demo.counter", craftPackage(t, map[string]string{"app.json": "{nope", "app.wasm": wasm}), 400, updater.ErrInvalidPackage, []string{"app.json"}},
		{"bad version field", "demo.counter", craftPackage(t, map[string]string{"app.json": manifestJSON("demo.counter", "v2"), "app.wasm": wasm}), 400, updater.ErrInvalidPackage, []string{"version"}},
		{"app id other than the URL", "demo.other", craftPackage(t, map[string]string{"app.json": manifest, "app.wasm": wasm}), 400, updater.ErrInvalidPackage, []string{"appId", "demo.other", "demo.counter"}},
		{"entry not wasm", "demo.counter", craftPackage(t, map[string]string{"app.json": manifest, "app.wasm": "#!/bin/sh\n"}), 400, updater.ErrInvalidPackage, []string{"app.wasm", "WebAssembly"}},
		{"over the size limit", "demo.counter", craftPackage(t, map[string]string{"app.json": manifest, "app.wasm": wasm, "other": randomText(int(limit) * 2)}), 413, updater.ErrTooBig, []string{"limit"}},
		{"same version", "demo.counter", testPackage(t, "demo.counter", "1.2.0"), 409, updater.ErrRuleViolation, []string{"1.2.0", "not newer"}},
		{"older version", "demo.counter", testPackage(t, "demo.counter", "1.1.0"), 409, updater.ErrRuleViolation, []string{"1.1.0", "1.3.0"}},
		{"version of a reverted release", "demo.counter", testPackage(t, "demo.counter", "1.3.0"), 409, updater.ErrRuleViolation, []string{"1.3.0", "reverted"}},
		{"bad app id in URL", "demo%2F..", testPackage(t, "demo.counter", "2.0.0"), 400, updater.ErrInvalidArgument, []string{"app id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := ts.srv.Status("demo.counter")
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
			hErr := &updater.HTTPError{StatusCode: resp.StatusCode, Code: e.Code}
			if !errors.Is(hErr, tc.sentinel) {
				t.Errorf("code %q does not map to %v", e.Code, tc.sentinel)
			}
			after, _ := ts.srv.Status("demo.counter")
			if after.Sequence != before.Sequence || len(after.Versions) != len(before.Versions) {
				t.Errorf("state changed: %+v -> %+v", before, after)
			}
			if got := listFiles(t, ts.cfg.DataDir); !slices.Equal(got, files) {
				t.Errorf("files changed: %v -> %v", files, got)
			}
		})
	}
	// And through the Go API.
	if _, err := ts.srv.Publish(t.Context(), "demo.counter", strings.NewReader("nope")); !errors.Is(err, updater.ErrInvalidPackage) {
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

func TestServerSettings(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := t.Context()
	ts.publish("demo.counter", "1.0.0")
	ts.publish("demo.counter", "1.1.0")
	staged, err := ts.admin.PublishStaged(ctx, "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "1.2.0")), 20)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client("c")
	doc, _, err := c.FetchDocument(ctx, "demo.counter", 0)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Latest.Version != staged.Version || doc.RolloutPercent != 20 || doc.Stable == nil || doc.Stable.Version != "1.1.0" || doc.Sequence != 3 {
		t.Fatalf("staged document: %+v", doc)
	}
	seq := doc.Sequence

	for _, tc := range []struct {
		name     string
		set      updater.Settings
		sentinel error
		mention  string
	}{
		{"min above released", updater.Settings{MinVersion: new("1.2.0")}, updater.ErrRuleViolation, "minVersion 1.2.0 is above the fully released version 1.1.0"},
		{"prefer-local above released", updater.Settings{PreferLocal: new("1.1.1")}, updater.ErrRuleViolation, "preferLocal"},
		{"not semver", updater.Settings{MinVersion: new("one")}, updater.ErrInvalidArgument, "minVersion"},
		{"not canonical", updater.Settings{MinVersion: new("1.0")}, updater.ErrInvalidArgument, "minVersion"},
		{"rollout over 100", updater.Settings{RolloutPercent: new(101)}, updater.ErrInvalidArgument, "rolloutPercent"},
		{"rollout negative", updater.Settings{RolloutPercent: new(-1)}, updater.ErrInvalidArgument, "rolloutPercent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ts.admin.SetSettings(ctx, "demo.counter", tc.set)
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.sentinel, tc.mention)
			}
		})
	}
	if st, _ := ts.srv.Status("demo.counter"); st.Sequence != seq {
		t.Fatalf("rejected settings changed the sequence: %d -> %d", seq, st.Sequence)
	}
	if _, err := ts.admin.SetSettings(ctx, "demo.nope", updater.Settings{RolloutPercent: new(5)}); !errors.Is(err, updater.ErrUnknownApp) {
		t.Fatalf("unknown app: %v", err)
	}

	st, err := ts.admin.SetSettings(ctx, "demo.counter", updater.Settings{MinVersion: new("1.1.0"), PreferLocal: new("1.0.0")})
	if err != nil {
		t.Fatal(err)
	}
	if st.MinVersion != "1.1.0" || st.PreferLocal != "1.0.0" || st.Sequence != seq+1 {
		t.Fatalf("status %+v", st)
	}
	// The same again is no change: no new sequence.
	if st, _ = ts.admin.SetSettings(ctx, "demo.counter", updater.Settings{MinVersion: new("1.1.0")}); st.Sequence != seq+1 {
		t.Fatalf("no-op bumped the sequence to %d", st.Sequence)
	}
	// Full release lifts the ceiling.
	if _, err := ts.admin.SetSettings(ctx, "demo.counter", updater.Settings{RolloutPercent: new(100), MinVersion: new("1.2.0")}); err != nil {
		t.Fatal(err)
	}
	doc, _, err = c.FetchDocument(ctx, "demo.counter", seq)
	if err != nil {
		t.Fatal(err)
	}
	if doc.RolloutPercent != 100 || doc.Stable != nil || doc.MinVersion != "1.2.0" || doc.PreferLocal != "1.0.0" || doc.Sequence != seq+2 {
		t.Fatalf("after full release: %+v", doc)
	}
	// Lowering the rollout again would leave the minimum above Stable.
	if _, err := ts.admin.SetSettings(ctx, "demo.counter", updater.Settings{RolloutPercent: new(50)}); !errors.Is(err, updater.ErrRuleViolation) {
		t.Fatalf("rollout below a minimum: %v", err)
	}
	// Clearing works, with "" .
	if st, err = ts.admin.SetSettings(ctx, "demo.counter", updater.Settings{MinVersion: new(""), PreferLocal: new("")}); err != nil || st.MinVersion != "" || st.PreferLocal != "" {
		t.Fatalf("clear: %+v, %v", st, err)
	}
	// A strict decoder: a misspelt setting is an error, not a no-op.
	req, _ := http.NewRequest(http.MethodPatch, ts.hs.URL+"/admin/apps/demo.counter/settings", strings.NewReader(`{"minVerison":"1.0.0"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := ts.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("unknown field: %d, want 400", resp.StatusCode)
	}
}

func TestServerRevert(t *testing.T) {
	ts := newTestServer(t, func(c *updater.ServerConfig) { c.RevertLimit = 3 })
	ctx := t.Context()
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
		ts.publish("demo.counter", v)
	}
	if _, err := ts.admin.SetSettings(ctx, "demo.counter", updater.Settings{MinVersion: new("1.4.0"), PreferLocal: new("1.1.0")}); err != nil {
		t.Fatal(err)
	}
	st, _ := ts.srv.Status("demo.counter")
	var revertible []string
	for _, v := range st.Versions {
		if v.Revertible {
			revertible = append(revertible, v.Version)
		}
	}
	if want := []string{"1.3.0", "1.2.0", "1.1.0"}; !slices.Equal(revertible, want) {
		t.Fatalf("revertible %v, want %v", revertible, want)
	}
	for _, tc := range []struct {
		name, to string
		sentinel error
		mention  string
	}{
		{"beyond the limit", "1.0.0", updater.ErrRuleViolation, "last 3"},
		{"the latest", "1.4.0", updater.ErrRuleViolation, "latest"},
		{"unknown", "1.0.5", updater.ErrUnknownVersion, "1.0.5"},
		{"not a version", "latest", updater.ErrInvalidArgument, "latest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ts.admin.Revert(ctx, "demo.counter", tc.to)
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.sentinel, tc.mention)
			}
		})
	}
	st, err := ts.admin.Revert(ctx, "demo.counter", "1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client("c")
	doc, _, err := c.FetchDocument(ctx, "demo.counter", 0)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Latest.Version != "1.2.0" || doc.RolloutPercent != 100 || !slices.Equal(doc.Revoked, []string{"1.3.0", "1.4.0"}) ||
		doc.MinVersion != "1.2.0" || doc.PreferLocal != "1.1.0" || doc.Sequence != st.Sequence {
		t.Fatalf("after revert: %+v", doc)
	}
	if !doc.IsRevoked("1.4.0") || doc.IsRevoked("1.2.0") {
		t.Fatal("IsRevoked")
	}
	// Revoked packages are gone from the public paths.
	resp, err := ts.hs.Client().Get(ts.hs.URL + "/apps/demo.counter/packages/1.4.0.mpk")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("revoked package: %d, want 404", resp.StatusCode)
	}
	// A revoked version cannot be a target, nor published again.
	if _, err := ts.admin.Revert(ctx, "demo.counter", "1.3.0"); !errors.Is(err, updater.ErrRuleViolation) {
		t.Fatalf("revert to revoked: %v", err)
	}
	if _, err := ts.admin.Publish(ctx, "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "1.4.0"))); !errors.Is(err, updater.ErrRuleViolation) {
		t.Fatalf("republish of revoked: %v", err)
	}
	ts.publish("demo.counter", "1.5.0")
	if _, err := ts.admin.Revert(ctx, "demo.counter", "1.1.0"); err != nil {
		t.Fatalf("second revert: %v", err)
	}
	doc, _, _ = c.FetchDocument(ctx, "demo.counter", doc.Sequence)
	if doc.Latest.Version != "1.1.0" || !slices.Equal(doc.Revoked, []string{"1.2.0", "1.3.0", "1.4.0", "1.5.0"}) {
		t.Fatalf("after second revert: %+v", doc)
	}
}

func TestServerDefaultRevertLimit(t *testing.T) {
	ts := newTestServer(t, nil)
	for i := range 7 {
		ts.publish("demo.hello", fmt.Sprintf("1.%d.0", i))
	}
	if err := ts.srv.Revert(t.Context(), "demo.hello", "1.0.0"); !errors.Is(err, updater.ErrRuleViolation) || !strings.Contains(err.Error(), "last 5") {
		t.Fatalf("revert past 5: %v", err)
	}
	if err := ts.srv.Revert(t.Context(), "demo.hello", "1.1.0"); err != nil {
		t.Fatalf("revert to the 5th: %v", err)
	}
}

func TestServerRestart(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := t.Context()
	ts.publish("demo.counter", "1.0.0")
	ts.publish("demo.counter", "1.1.0")
	ts.publish("demo.counter", "1.2.0")
	ts.publish("demo.hello", "1.0.0")
	if err := ts.srv.Revert(ctx, "demo.counter", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.SetSettings(ctx, "demo.counter", updater.Settings{MinVersion: new("1.0.0")}); err != nil {
		t.Fatal(err)
	}
	before, _ := ts.srv.Status("demo.counter")
	docBefore, _, err := ts.client("c").FetchDocument(ctx, "demo.counter", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Leftovers of an interrupted publish: an upload and an unnamed package.
	stray := filepath.Join(ts.cfg.DataDir, "apps", "demo.counter", "packages", "9.0.0.mpk")
	os.WriteFile(stray, []byte("half"), 0o644)
	os.WriteFile(filepath.Join(ts.cfg.DataDir, "tmp", "upload-1.mpk"), []byte("half"), 0o644)

	ts.clock.Advance(time.Minute)
	ts.restart()
	after, err := ts.srv.Status("demo.counter")
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(before, after) {
		t.Fatalf("status changed across restart:\n%+v\n%+v", before, after)
	}
	c := ts.client("c")
	doc, _, err := c.FetchDocument(ctx, "demo.counter", docBefore.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	docBefore.IssuedAt, docBefore.ExpiresAt = doc.IssuedAt, doc.ExpiresAt
	if !jsonEqual(doc, docBefore) {
		t.Fatalf("document changed across restart:\n%+v\n%+v", docBefore, doc)
	}
	if _, err := c.Download(ctx, doc.Latest, filepath.Join(t.TempDir(), "p")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stray package kept: %v", err)
	}
	if got := listFiles(t, filepath.Join(ts.cfg.DataDir, "tmp")); len(got) != 0 {
		t.Fatalf("tmp not cleaned: %v", got)
	}
	// And the rules still know every version ever published.
	if _, err := ts.srv.Publish(ctx, "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "1.2.0"))); !errors.Is(err, updater.ErrRuleViolation) {
		t.Fatalf("republish after restart: %v", err)
	}
	if hello, err := ts.srv.Versions("demo.hello"); err != nil || len(hello) != 1 {
		t.Fatalf("demo.hello after restart: %v %v", hello, err)
	}
}

func TestServerDamagedState(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "apps", "demo.counter"), 0o755)
	os.WriteFile(filepath.Join(dir, "apps", "demo.counter", "state.json"), []byte("{nope"), 0o644)
	_, err := updater.NewServer(updater.ServerConfig{DataDir: dir, Key: testKey()})
	if err == nil || !strings.Contains(err.Error(), filepath.Join("demo.counter", "state.json")) {
		t.Fatalf("NewServer on a damaged state: %v", err)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestServerConcurrentPublish(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := t.Context()
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n*2)
	for i := range n {
		for j, app := range []string{"demo.counter", "demo.hello"} {
			pkg := testPackage(t, app, fmt.Sprintf("1.%d.0", i))
			wg.Go(func() {
				_, errs[i*2+j] = ts.admin.Publish(ctx, app, bytes.NewReader(pkg))
			})
		}
	}
	wg.Wait()
	ok := map[string]int{}
	for i, err := range errs {
		app := []string{"demo.counter", "demo.hello"}[i%2]
		switch {
		case err == nil:
			ok[app]++
		case !errors.Is(err, updater.ErrRuleViolation):
			t.Errorf("publish %s 1.%d.0: %v", app, i/2, err)
		}
	}
	for _, app := range []string{"demo.counter", "demo.hello"} {
		st, err := ts.srv.Status(app)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Versions) != ok[app] || st.Sequence != uint64(ok[app]) || ok[app] == 0 {
			t.Fatalf("%s: %d versions, sequence %d, %d successful publishes", app, len(st.Versions), st.Sequence, ok[app])
		}
		for i := 1; i < len(st.Versions); i++ { // newest first, strictly descending
			if st.Versions[i-1].Version <= st.Versions[i].Version {
				t.Fatalf("%s: versions out of order: %+v", app, st.Versions)
			}
		}
		pkgs := listFiles(t, filepath.Join(ts.cfg.DataDir, "apps", app, "packages"))
		if len(pkgs) != ok[app] {
			t.Fatalf("%s: %d package files for %d versions: %v", app, len(pkgs), ok[app], pkgs)
		}
	}
	if got := listFiles(t, filepath.Join(ts.cfg.DataDir, "tmp")); len(got) != 0 {
		t.Fatalf("uploads left in tmp: %v", got)
	}
	// Concurrent readers and a writer on one app.
	c := ts.client("r")
	var rg sync.WaitGroup
	for range 4 {
		rg.Go(func() {
			for range 20 {
				if _, _, err := c.FetchDocument(ctx, "demo.counter", 0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for p := range 10 {
		if err := ts.srv.SetSettings(ctx, "demo.counter", updater.Settings{RolloutPercent: new(p * 10)}); err != nil {
			t.Error(err)
		}
	}
	rg.Wait()
}

// failingFs fails Rename and OpenFile for names containing the substring
// fail, while set.
type failingFs struct {
	afero.Fs
	mu   sync.Mutex
	fail string
}

var errInjected = errors.New("injected fs failure")

func (f *failingFs) failing(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail != "" && strings.Contains(name, f.fail)
}

func (f *failingFs) Rename(o, n string) error {
	if f.failing(n) {
		return errInjected
	}
	return f.Fs.Rename(o, n)
}

func (f *failingFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	if flag&os.O_CREATE != 0 && f.failing(name) {
		return nil, errInjected
	}
	return f.Fs.OpenFile(name, flag, perm)
}

func (f *failingFs) set(s string) {
	f.mu.Lock()
	f.fail = s
	f.mu.Unlock()
}

func TestServerFailingFs(t *testing.T) {
	ffs := &failingFs{Fs: afero.NewMemMapFs()}
	ts := newTestServer(t, func(c *updater.ServerConfig) { c.Fs = ffs; c.DataDir = "/data" })
	ctx := t.Context()
	ts.publish("demo.counter", "1.0.0")
	for _, fail := range []string{"state.json", "2.0.0.mpk", "upload-"} {
		t.Run(fail, func(t *testing.T) {
			ffs.set(fail)
			defer ffs.set("")
			_, err := ts.admin.Publish(ctx, "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "2.0.0")))
			var he *updater.HTTPError
			if !errors.As(err, &he) || he.StatusCode != 500 || strings.Contains(he.Message, "injected") {
				t.Fatalf("publish on a failing fs: %v (want a 500 that hides the detail)", err)
			}
			st, _ := ts.srv.Status("demo.counter")
			if len(st.Versions) != 1 || st.Sequence != 1 {
				t.Fatalf("state changed: %+v", st)
			}
			files, _ := afero.ReadDir(ffs.Fs, "/data/apps/demo.counter/packages")
			if len(files) != 1 {
				t.Fatalf("package files after failure: %d", len(files))
			}
			tmp, _ := afero.ReadDir(ffs.Fs, "/data/tmp")
			if len(tmp) != 0 {
				t.Fatalf("tmp files after failure: %d", len(tmp))
			}
		})
	}
	ts.publish("demo.counter", "2.0.0") // healed
	ffs.set("state.json")
	if err := ts.srv.SetSettings(ctx, "demo.counter", updater.Settings{MinVersion: new("2.0.0")}); !errors.Is(err, errInjected) {
		t.Fatalf("settings on a failing fs: %v", err)
	}
	ffs.set("")
	if st, _ := ts.srv.Status("demo.counter"); st.MinVersion != "" || st.Sequence != 2 {
		t.Fatalf("settings half-applied: %+v", st)
	}
}

func TestServerDocumentResign(t *testing.T) {
	ts := newTestServer(t, func(c *updater.ServerConfig) { c.DocumentLifetime = time.Hour })
	ts.publish("demo.counter", "1.0.0")
	get := func() []byte {
		b, err := ts.srv.DocumentBytes("demo.counter")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := get()
	ts.clock.Advance(29 * time.Minute)
	if !bytes.Equal(get(), first) {
		t.Fatal("re-signed before half the lifetime passed")
	}
	ts.clock.Advance(2 * time.Minute)
	second := get()
	if bytes.Equal(second, first) {
		t.Fatal("not re-signed after half the lifetime")
	}
	doc, err := updater.VerifyDocument(second, ts.srv.PublicKey(), updater.VerifyOptions{AppID: "demo.counter", MinSequence: 1, Now: ts.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IssuedAt.Equal(ts.clock.Now()) || doc.Sequence != 1 {
		t.Fatalf("re-signed document: %+v", doc)
	}
	// Long idle: the next request gets a fresh document, never an expired one.
	ts.clock.Advance(10 * time.Hour)
	c := ts.client("c")
	if _, _, err := c.FetchDocument(t.Context(), "demo.counter", 1); err != nil {
		t.Fatalf("after idle: %v", err)
	}
}

func TestServerServe(t *testing.T) {
	srv, err := updater.NewServer(updater.ServerConfig{DataDir: t.TempDir(), Key: testKey(), Tokens: []string{testToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := srv.Publish(t.Context(), "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "1.0.0"))); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	c, err := updater.NewClient(updater.ClientConfig{BaseURL: base, PublicKey: srv.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, _, err := c.FetchDocument(t.Context(), "demo.counter", 0); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("listener still open after shutdown")
	}
	srv.Close()
	if _, err := srv.Publish(t.Context(), "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "2.0.0"))); !errors.Is(err, updater.ErrServerClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
}
