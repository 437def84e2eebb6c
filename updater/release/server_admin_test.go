package release_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

func TestServerSettings(t *testing.T) {
	ts := newTestServer(t, nil)
	ctx := t.Context()
	ts.publish("demo.counter", "1.0.0")
	ts.publish("demo.counter", "1.1.0")
	staged, err := ts.admin.Publish(ctx, "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "1.2.0")), 20)
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client()
	doc := ts.fetch(c, "demo.counter", 0)
	if doc.Latest.Version != staged.Version || doc.RolloutPercent != 20 || doc.Stable == nil || doc.Stable.Version != "1.1.0" || doc.Sequence != 3 {
		t.Fatalf("staged document: %+v", doc)
	}
	seq := doc.Sequence

	for _, tc := range []struct {
		name     string
		set      release.Settings
		sentinel error
		mention  string
	}{
		{"min above released", release.Settings{MinVersion: new("1.2.0")}, release.ErrRuleViolation, "minVersion 1.2.0 is above the fully released version 1.1.0"},
		{"prefer-local above released", release.Settings{PreferLocal: new("1.1.1")}, release.ErrRuleViolation, "preferLocal"},
		{"not semver", release.Settings{MinVersion: new("one")}, release.ErrInvalidArgument, "minVersion"},
		{"not canonical", release.Settings{MinVersion: new("1.0")}, release.ErrInvalidArgument, "minVersion"},
		{"rollout over 100", release.Settings{RolloutPercent: new(101)}, release.ErrInvalidArgument, "rolloutPercent"},
		{"rollout negative", release.Settings{RolloutPercent: new(-1)}, release.ErrInvalidArgument, "rolloutPercent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ts.admin.SetSettings(ctx, "demo.counter", tc.set)
			if !errors.Is(err, tc.sentinel) || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.sentinel, tc.mention)
			}
		})
	}
	if st, _ := ts.srv.Status(ts.t.Context(), "demo.counter"); st.Sequence != seq {
		t.Fatalf("rejected settings changed the sequence: %d -> %d", seq, st.Sequence)
	}
	if _, err := ts.admin.SetSettings(ctx, "demo.nope", release.Settings{RolloutPercent: new(5)}); !errors.Is(err, updater.ErrUnknownApp) {
		t.Fatalf("unknown app: %v", err)
	}

	st, err := ts.admin.SetSettings(ctx, "demo.counter", release.Settings{MinVersion: new("1.1.0"), PreferLocal: new("1.0.0")})
	if err != nil {
		t.Fatal(err)
	}
	if st.MinVersion != "1.1.0" || st.PreferLocal != "1.0.0" || st.Sequence != seq+1 {
		t.Fatalf("status %+v", st)
	}
	// The same again is no change: no new sequence.
	if st, _ = ts.admin.SetSettings(ctx, "demo.counter", release.Settings{MinVersion: new("1.1.0")}); st.Sequence != seq+1 {
		t.Fatalf("no-op bumped the sequence to %d", st.Sequence)
	}
	// Full release lifts the ceiling.
	if _, err := ts.admin.SetSettings(ctx, "demo.counter", release.Settings{RolloutPercent: new(100), MinVersion: new("1.2.0")}); err != nil {
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
	if _, err := ts.admin.SetSettings(ctx, "demo.counter", release.Settings{RolloutPercent: new(50)}); !errors.Is(err, release.ErrRuleViolation) {
		t.Fatalf("rollout below a minimum: %v", err)
	}
	// Clearing works, with "" .
	if st, err = ts.admin.SetSettings(ctx, "demo.counter", release.Settings{MinVersion: new(""), PreferLocal: new("")}); err != nil || st.MinVersion != "" || st.PreferLocal != "" {
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
	ts := newTestServer(t, func(c *release.Config) { c.RevertLimit = 3 })
	ctx := t.Context()
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"} {
		ts.publish("demo.counter", v)
	}
	if _, err := ts.admin.SetSettings(ctx, "demo.counter", release.Settings{MinVersion: new("1.4.0"), PreferLocal: new("1.1.0")}); err != nil {
		t.Fatal(err)
	}
	st, _ := ts.srv.Status(ts.t.Context(), "demo.counter")
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
		{"beyond the limit", "1.0.0", release.ErrRuleViolation, "last 3"},
		{"the latest", "1.4.0", release.ErrRuleViolation, "latest"},
		{"unknown", "1.0.5", updater.ErrUnknownVersion, "1.0.5"},
		{"not a version", "latest", release.ErrInvalidArgument, "latest"},
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
	c := ts.client()
	doc := ts.fetch(c, "demo.counter", 0)
	if doc.Latest.Version != "1.2.0" || doc.RolloutPercent != 100 || !slices.Equal(doc.Revoked, []string{"1.3.0", "1.4.0"}) ||
		doc.MinVersion != "1.2.0" || doc.PreferLocal != "1.1.0" || doc.Sequence != st.Sequence {
		t.Fatalf("after revert: %+v", doc)
	}
	if !slices.Contains(doc.Revoked, "1.4.0") || slices.Contains(doc.Revoked, "1.2.0") {
		t.Fatal("Revoked")
	}
	// Revoked packages are gone from the public paths.
	if status, _ := ts.get("apps/demo.counter/packages/1.4.0.mpk", ""); status != http.StatusNotFound {
		t.Fatalf("revoked package: %d, want 404", status)
	}
	// A revoked version cannot be a target, nor published again.
	if _, err := ts.admin.Revert(ctx, "demo.counter", "1.3.0"); !errors.Is(err, release.ErrRuleViolation) {
		t.Fatalf("revert to revoked: %v", err)
	}
	if _, err := ts.admin.Publish(ctx, "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "1.4.0")), 100); !errors.Is(err, release.ErrRuleViolation) {
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
	if _, err := ts.srv.Revert(t.Context(), "demo.hello", "1.0.0"); !errors.Is(err, release.ErrRuleViolation) || !strings.Contains(err.Error(), "last 5") {
		t.Fatalf("revert past 5: %v", err)
	}
	if _, err := ts.srv.Revert(t.Context(), "demo.hello", "1.1.0"); err != nil {
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
	if _, err := ts.srv.Revert(ctx, "demo.counter", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.srv.SetSettings(ctx, "demo.counter", release.Settings{MinVersion: new("1.0.0")}); err != nil {
		t.Fatal(err)
	}
	docBefore := ts.fetch(ts.client(), "demo.counter", 0)
	before, _ := ts.srv.Status(ts.t.Context(), "demo.counter") // after the fetch: it counts
	// Leftovers of an interrupted publish: an upload and an unnamed package.
	stray := filepath.Join(ts.cfg.DataDir, "apps", "demo.counter", "packages", "9.0.0.mpk")
	os.WriteFile(stray, []byte("half"), 0o644)
	os.WriteFile(filepath.Join(ts.cfg.DataDir, "tmp", "upload-1.mpk"), []byte("half"), 0o644)

	ts.clock.Advance(time.Minute)
	ts.restart()
	after, err := ts.srv.Status(ts.t.Context(), "demo.counter")
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(before, after) {
		t.Fatalf("status changed across restart:\n%+v\n%+v", before, after)
	}
	c := ts.client()
	doc, _, err := c.FetchDocument(ctx, "demo.counter", docBefore.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	docBefore.IssuedAt, docBefore.ExpiresAt = doc.IssuedAt, doc.ExpiresAt
	if !jsonEqual(doc, docBefore) {
		t.Fatalf("document changed across restart:\n%+v\n%+v", docBefore, doc)
	}
	if _, err := c.Download(ctx, doc.Latest, filepath.Join(t.TempDir(), "p"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stray package kept: %v", err)
	}
	if got := listFiles(t, filepath.Join(ts.cfg.DataDir, "tmp")); len(got) != 0 {
		t.Fatalf("tmp not cleaned: %v", got)
	}
	// And the rules still know every version ever published.
	if _, err := ts.srv.Publish(ctx, "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "1.2.0")), 100); !errors.Is(err, release.ErrRuleViolation) {
		t.Fatalf("republish after restart: %v", err)
	}
	if hello, err := ts.srv.Status(ts.t.Context(), "demo.hello"); err != nil || len(hello.Versions) != 1 {
		t.Fatalf("demo.hello after restart: %v %v", hello, err)
	}
}

func TestServerDamagedState(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "apps", "demo.counter"), 0o755)
	os.WriteFile(filepath.Join(dir, "apps", "demo.counter", "state.json"), []byte("{nope"), 0o644)
	_, err := release.New(release.Config{DataDir: dir, Key: testKey(), Validator: release.NoValidation()})
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
				_, errs[i*2+j] = ts.admin.Publish(ctx, app, bytes.NewReader(pkg), 100)
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
		case !errors.Is(err, release.ErrRuleViolation):
			t.Errorf("publish %s 1.%d.0: %v", app, i/2, err)
		}
	}
	for _, app := range []string{"demo.counter", "demo.hello"} {
		st, err := ts.srv.Status(ts.t.Context(), app)
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
	c := ts.client()
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
		if _, err := ts.srv.SetSettings(ctx, "demo.counter", release.Settings{RolloutPercent: new(p * 10)}); err != nil {
			t.Error(err)
		}
	}
	rg.Wait()
}
