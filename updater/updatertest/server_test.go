package updatertest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
	"github.com/minihost/minihost/updater/updatertest"
)

const appID = "demo.hello" // samples/hello's app id

var (
	pkgMu    sync.Mutex
	pkgCache = map[string][]byte{} // version -> package bytes
)

// helloPackage returns the path of a samples/hello package at version, in
// t.TempDir(). Each version is built once per test binary (a build takes
// a second or two) and copied for each test.
func helloPackage(t *testing.T, version string) string {
	t.Helper()
	pkgMu.Lock()
	defer pkgMu.Unlock()
	data, ok := pkgCache[version]
	if !ok {
		var err error
		data, err = os.ReadFile(runtimetest.BuildPackage(t, "samples/hello", version))
		if err != nil {
			t.Fatal(err)
		}
		pkgCache[version] = data
	}
	p := filepath.Join(t.TempDir(), "demo.hello-"+version+".mpk")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// newClient returns a client of s that shares its clock, closed at the
// end of the test.
func newClient(t *testing.T, s *updatertest.Server) *updater.Client {
	t.Helper()
	c, err := updater.NewClient(updater.ClientConfig{BaseURL: s.URL, PublicKey: s.PublicKey, Now: s.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// fetch fetches the app's document and fails the test on error.
func fetch(t *testing.T, c *updater.Client) *updater.Document {
	t.Helper()
	doc, _, err := c.FetchDocument(t.Context(), appID, 0)
	if err != nil {
		t.Fatalf("FetchDocument: %v", err)
	}
	return doc
}

// published starts a server with samples/hello 1.0.0 published and
// returns it, a client, the release and the package's bytes.
func published(t *testing.T) (*updatertest.Server, *updater.Client, *updater.Release, []byte) {
	t.Helper()
	s := updatertest.NewServer(t, updatertest.Config{})
	pkg := helloPackage(t, "1.0.0")
	rel := s.Publish(t, pkg, 100)
	data, err := os.ReadFile(pkg)
	if err != nil {
		t.Fatal(err)
	}
	return s, newClient(t, s), rel, data
}

// checkFile fails the test unless the file at path holds want.
func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes that differ from the package's %d", path, len(got), len(want))
	}
}

func TestPublishFetchDownload(t *testing.T) {
	s, c, rel, data := published(t)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q, want http://127.0.0.1:PORT", s.URL)
	}
	doc := fetch(t, c)
	if doc.Latest == nil || !reflect.DeepEqual(*doc.Latest, *rel) {
		t.Fatalf("document's latest = %+v, want the published %+v", doc.Latest, rel)
	}
	if rel.Version != "1.0.0" || rel.Size != int64(len(data)) {
		t.Errorf("release = %+v, want version 1.0.0 of %d bytes", rel, len(data))
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !doc.IssuedAt.Equal(now) || !doc.ExpiresAt.Equal(now.Add(updater.DefaultDocumentLifetime)) {
		t.Errorf("document issued %v, expires %v; want the kit clock's default start and +1h", doc.IssuedAt, doc.ExpiresAt)
	}

	dst := filepath.Join(t.TempDir(), "dl.mpk")
	n, err := c.Download(t.Context(), doc.Latest, dst, nil)
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	if n != rel.Size {
		t.Errorf("Download transferred %d bytes, want %d", n, rel.Size)
	}
	checkFile(t, dst, data)

	reqs := s.Requests()
	want := []updatertest.Request{
		{Method: "GET", Path: "/apps/demo.hello/release.json", Status: 200, Time: now},
		{Method: "GET", Path: "/apps/demo.hello/packages/1.0.0.mpk", Status: 200, Bytes: rel.Size, Time: now},
	}
	if len(reqs) != len(want) {
		t.Fatalf("Requests() = %+v, want %d requests", reqs, len(want))
	}
	for i := range want {
		if i == 0 {
			want[0].Bytes = reqs[0].Bytes // the envelope's size
		}
		if reqs[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, reqs[i], want[i])
		}
	}
	if reqs[0].Bytes < 100 {
		t.Errorf("document response was %d bytes", reqs[0].Bytes)
	}

	s.ResetRequests()
	if got := s.Requests(); len(got) != 0 {
		t.Errorf("Requests() after ResetRequests = %+v", got)
	}
}

// The server signs with its clock; a client on the same clock sees
// documents expire and renew as that clock moves.
func TestOneClock(t *testing.T) {
	clock := updatertest.NewFakeClock(start)
	s := updatertest.NewServer(t, updatertest.Config{Clock: clock, DocumentLifetime: 10 * time.Minute})
	if s.Clock != clock {
		t.Fatal("Server.Clock is not Config.Clock")
	}
	s.Publish(t, helloPackage(t, "1.0.0"), 100)
	c := newClient(t, s)
	doc, env, err := c.FetchDocument(t.Context(), appID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IssuedAt.Equal(start) || !doc.ExpiresAt.Equal(start.Add(10*time.Minute)) {
		t.Errorf("issued %v, expires %v; want start and start+10m", doc.IssuedAt, doc.ExpiresAt)
	}

	clock.Advance(11 * time.Minute)
	if _, err := updater.VerifyDocument(env, s.PublicKey, updater.VerifyOptions{AppID: appID, Now: s.Clock.Now()}); !errors.Is(err, updater.ErrExpired) {
		t.Errorf("old envelope at start+11m: %v, want ErrExpired", err)
	}
	doc = fetch(t, c)
	if !doc.IssuedAt.Equal(start.Add(11 * time.Minute)) {
		t.Errorf("re-signed document issued %v, want start+11m", doc.IssuedAt)
	}
	if got := s.Requests()[1].Time; !got.Equal(start.Add(11 * time.Minute)) {
		t.Errorf("request logged at %v, want the kit clock's start+11m", got)
	}
}

func TestSettingsAndRevertShowInDocument(t *testing.T) {
	s := updatertest.NewServer(t, updatertest.Config{})
	c := newClient(t, s)
	pkg := func(v string) string { return helloPackage(t, v) }
	s.Publish(t, pkg("1.0.0"), 100)
	s.Publish(t, pkg("1.1.0"), 100)

	var seq uint64
	next := func() *updater.Document {
		t.Helper()
		doc, _, err := c.FetchDocument(t.Context(), appID, seq)
		if err != nil {
			t.Fatalf("FetchDocument: %v", err)
		}
		if doc.Sequence <= seq {
			t.Errorf("sequence %d did not grow from %d", doc.Sequence, seq)
		}
		seq = doc.Sequence
		return doc
	}
	version := func(r *updater.Release) string {
		if r == nil {
			return ""
		}
		return r.Version
	}

	steps := []struct {
		name   string
		change func()
		// Wanted document fields.
		latest, stable, min, prefer string
		percent                     int
		revoked                     []string
	}{
		{name: "published", change: func() {}, latest: "1.1.0", percent: 100},
		{name: "min version", change: func() { s.SetSettings(t, appID, release.Settings{MinVersion: new("1.0.0")}) },
			latest: "1.1.0", min: "1.0.0", percent: 100},
		{name: "prefer local", change: func() { s.SetSettings(t, appID, release.Settings{PreferLocal: new("1.1.0")}) },
			latest: "1.1.0", min: "1.0.0", prefer: "1.1.0", percent: 100},
		{name: "staged", change: func() { s.Publish(t, pkg("1.2.0"), 20) },
			latest: "1.2.0", stable: "1.1.0", min: "1.0.0", prefer: "1.1.0", percent: 20},
		{name: "rollout", change: func() { s.SetSettings(t, appID, release.Settings{RolloutPercent: new(100)}) },
			latest: "1.2.0", min: "1.0.0", prefer: "1.1.0", percent: 100},
		{name: "revert", change: func() { s.Revert(t, appID, "1.1.0") },
			latest: "1.1.0", min: "1.0.0", prefer: "1.1.0", percent: 100, revoked: []string{"1.2.0"}},
		{name: "clear min", change: func() { s.SetSettings(t, appID, release.Settings{MinVersion: new("")}) },
			latest: "1.1.0", prefer: "1.1.0", percent: 100, revoked: []string{"1.2.0"}},
	}
	for _, st := range steps {
		st.change()
		doc := next()
		if version(doc.Latest) != st.latest || version(doc.Stable) != st.stable || doc.MinVersion != st.min ||
			doc.PreferLocal != st.prefer || doc.RolloutPercent != st.percent ||
			strings.Join(doc.Revoked, ",") != strings.Join(st.revoked, ",") {
			t.Errorf("%s: document latest=%q stable=%q min=%q prefer=%q rollout=%d revoked=%v; want %q %q %q %q %d %v",
				st.name, version(doc.Latest), version(doc.Stable), doc.MinVersion, doc.PreferLocal, doc.RolloutPercent, doc.Revoked,
				st.latest, st.stable, st.min, st.prefer, st.percent, st.revoked)
		}
	}
}

func TestPublishAfterCloseFailsTheTest(t *testing.T) {
	s := updatertest.NewServer(t, updatertest.Config{})
	pkg := helloPackage(t, "1.0.0")
	s.Close()
	s.Close() // idempotent
	ft := &fatalTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		s.Publish(ft, pkg, 100)
	}()
	if !strings.Contains(ft.msg, "release server closed") {
		t.Errorf("Publish after Close reported %q, want the server-closed error", ft.msg)
	}
}

// fatalTB records Fatalf instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic("fatal")
}
