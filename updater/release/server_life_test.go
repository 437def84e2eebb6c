package release_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

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
	ts := newTestServer(t, func(c *release.Config) { c.Fs = ffs; c.DataDir = "/data" })
	ctx := t.Context()
	ts.publish("demo.counter", "1.0.0")
	for _, fail := range []string{"state.json", "2.0.0.mpk", "upload-"} {
		t.Run(fail, func(t *testing.T) {
			ffs.set(fail)
			defer ffs.set("")
			_, err := ts.admin.Publish(ctx, "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "2.0.0")), 100)
			var he *updater.HTTPError
			if !errors.As(err, &he) || he.StatusCode != 500 || strings.Contains(he.Message, "injected") {
				t.Fatalf("publish on a failing fs: %v (want a 500 that hides the detail)", err)
			}
			st, _ := ts.srv.Status(context.Background(), "demo.counter")
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
	if _, err := ts.srv.SetSettings(ctx, "demo.counter", release.Settings{MinVersion: new("2.0.0")}); !errors.Is(err, errInjected) {
		t.Fatalf("settings on a failing fs: %v", err)
	}
	ffs.set("")
	if st, _ := ts.srv.Status(context.Background(), "demo.counter"); st.MinVersion != "" || st.Sequence != 2 {
		t.Fatalf("settings half-applied: %+v", st)
	}
}

func TestServerDocumentResign(t *testing.T) {
	ts := newTestServer(t, func(c *release.Config) { c.DocumentLifetime = time.Hour })
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
	c := ts.client()
	if _, _, err := c.FetchDocument(t.Context(), "demo.counter", 1); err != nil {
		t.Fatalf("after idle: %v", err)
	}
}

func TestServerServe(t *testing.T) {
	ss := serveServer(t, nil)
	srv := ss.srv
	if _, err := srv.Publish(t.Context(), "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "1.0.0")), 100); err != nil {
		t.Fatal(err)
	}
	c, err := updater.NewClient(updater.ClientConfig{BaseURL: ss.url, PublicKey: srv.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	if _, _, err := c.FetchDocument(t.Context(), "demo.counter", 0); err != nil {
		t.Fatal(err)
	}
	if err := ss.stop(); err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := net.Dial("tcp", ss.addr); err == nil {
		t.Fatal("listener still open after shutdown")
	}
	if err := srv.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := srv.Publish(t.Context(), "demo.counter", bytes.NewReader(testPackage(t, "demo.counter", "2.0.0")), 100); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
}
