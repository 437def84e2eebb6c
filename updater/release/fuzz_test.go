package release_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

// checkingValidator accepts what reaches it, after checking that the
// server only hands it uploads whose manifest it already parsed and
// matched to the app.
type checkingValidator struct {
	calls atomic.Int64
	bad   atomic.Value // string: what the server let through
}

var _ release.Validator = (*checkingValidator)(nil)

func (v *checkingValidator) Validate(_ context.Context, appID string, m mpk.Manifest, wasm []byte) error {
	v.calls.Add(1)
	if m.AppID != appID || !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		v.bad.Store(fmt.Sprintf("validator reached with manifest %+v, %d bytes of wasm", m, len(wasm)))
	}
	return nil
}

// FuzzPublish sends arbitrary bytes as an upload: the server refuses it
// with an error (storing nothing) or publishes a version it then lists;
// the Validator only ever sees uploads whose manifest names the app.
func FuzzPublish(f *testing.F) {
	f.Add(craftPackage(f, map[string]string{"app.json": manifestJSON("demo.fuzz", "1.0.0"), "app.wasm": "\x00asm\x01\x00\x00\x00"}))
	f.Add(craftPackage(f, map[string]string{"app.json": manifestJSON("demo.other", "1.0.0"), "app.wasm": "\x00asm\x01\x00\x00\x00"}))
	f.Add(craftPackage(f, map[string]string{"app.json": manifestJSON("demo.fuzz", "1.0.0.0"), "app.wasm": "\x00asm"}))
	f.Add(craftPackage(f, map[string]string{"app.json": `{"appId":"demo.fuzz"}`}))
	f.Add([]byte("PK\x03\x04 not really"))
	val := &checkingValidator{}
	ts := newTestServer(f, func(c *release.Config) { withPatches(c); c.Validator = val })
	f.Fuzz(func(t *testing.T, upload []byte) {
		before := listFiles(t, ts.cfg.DataDir)
		type result struct {
			rel *updater.Release
			err error
		}
		done := make(chan result, 1)
		go func() {
			rel, err := ts.srv.Publish(t.Context(), "demo.fuzz", bytes.NewReader(upload), 100)
			done <- result{rel, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Publish of a %d-byte upload did not return within 10 s", len(upload))
		}
		rel, err := res.rel, res.err
		if bad, _ := val.bad.Load().(string); bad != "" {
			t.Fatal(bad)
		}
		if err != nil {
			if after := listFiles(t, ts.cfg.DataDir); !slices.Equal(before, after) {
				t.Fatalf("refused upload (%v) changed the data folder:\n before %v\n after  %v", err, before, after)
			}
			return
		}
		if _, err := mpk.ParseVersion(rel.Version); err != nil {
			t.Fatalf("published version %q does not parse: %v", rel.Version, err)
		}
		st, err := ts.srv.Status(context.Background(), "demo.fuzz")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(st.Versions, func(v release.VersionInfo) bool { return v.Version == rel.Version }) {
			t.Fatalf("published %s is not listed: %+v", rel.Version, st)
		}
	})
}
