package updater_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/sign"
	"github.com/minihost/minihost/updater/internal/sigtest"
	"github.com/minihost/minihost/updater/internal/wire"
	"github.com/minihost/minihost/updater/release"
)

// Fuzz targets of release-document verification. Run one beyond its seed
// corpus (testdata/fuzz/FuzzXxx plus the f.Add seeds) with, for example:
//
//	go test -run '^$' -fuzz '^FuzzVerifyDocument$' -fuzztime 30s ./updater/

// verifyErrors are the errors VerifyDocument may return with a valid
// public key: anything else is a bug.
var verifyErrors = []error{
	mpk.ErrTooLarge, updater.ErrUnsigned, updater.ErrBadSignature, updater.ErrInvalidDocument,
	updater.ErrWrongApp, updater.ErrExpired, updater.ErrReplay,
}

// fuzzNow is the clock of the fuzz seeds: seeds are valid at it.
var fuzzNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// seedEnvelopes returns real signed envelopes: documents as the server
// builds them (from a release server with real published packages) and
// hand-made ones covering every field.
func seedEnvelopes(tb testing.TB, key ed25519.PrivateKey) [][]byte {
	tb.Helper()
	var out [][]byte
	signDoc := func(d *updater.Document) {
		env, err := sign.Document(d, key)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, env)
	}
	d := sigtest.Document(fuzzNow)
	signDoc(d)
	staged := sigtest.Document(fuzzNow)
	staged.RolloutPercent = 30
	staged.Stable = &updater.Release{Version: "1.1.0", Size: 99, SHA256: strings.Repeat("0f", 32), Path: "apps/demo.counter/packages/1.1.0.mpk"}
	staged.PreferLocal = "1.1.0"
	staged.Revoked = []string{"1.1.5", "1.1.6-rc.1+build.7"}
	signDoc(staged)
	signDoc(&updater.Document{AppID: "demo.counter", Sequence: 1, IssuedAt: fuzzNow, ExpiresAt: fuzzNow.Add(time.Minute)})

	// A release server's own documents, after a publish, a staged publish
	// and a settings change.
	srv, err := release.New(release.Config{Fs: afero.NewMemMapFs(), DataDir: "/data", Key: key, Validator: release.NoValidation(),
		Now: func() time.Time { return fuzzNow }})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	defer srv.Close(ctx) // never Served: returns at once
	for _, step := range []func() error{
		func() error {
			_, err := srv.Publish(ctx, "demo.counter", bytes.NewReader(craftPackage(tb, map[string]string{
				"app.json": manifestJSON("demo.counter", "1.0.0"), "app.wasm": "\x00asm\x01\x00\x00\x00"})), 100)
			return err
		},
		func() error {
			_, err := srv.Publish(ctx, "demo.counter", bytes.NewReader(craftPackage(tb, map[string]string{
				"app.json": manifestJSON("demo.counter", "1.2.0"), "app.wasm": "\x00asm\x01\x00\x00\x00more"})), 10)
			return err
		},
		func() error {
			min := "1.0.0"
			_, err := srv.SetSettings(ctx, "demo.counter", release.Settings{MinVersion: &min, PreferLocal: &min})
			return err
		},
	} {
		if err := step(); err != nil {
			tb.Fatal(err)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+wire.DocumentPath("demo.counter"), nil))
		if rec.Code != http.StatusOK {
			tb.Fatalf("GET the document: %d %s", rec.Code, rec.Body)
		}
		out = append(out, rec.Body.Bytes())
	}
	return out
}

// checkVerified checks what VerifyDocument returned for one input: a
// sentinel error and no document (or, for an empty app id, an error naming
// VerifyOptions.AppID), or a document that obeys every rule the client
// relies on.
func checkVerified(t *testing.T, env []byte, pub ed25519.PublicKey, opts updater.VerifyOptions, doc *updater.Document, err error) {
	t.Helper()
	appID := opts.AppID
	if appID == "" {
		if err == nil || doc != nil || !strings.Contains(err.Error(), "VerifyOptions.AppID") {
			t.Fatalf("VerifyDocument without an app id = %+v, %v; want an error naming VerifyOptions.AppID", doc, err)
		}
		return
	}
	if err != nil {
		if doc != nil {
			t.Fatalf("VerifyDocument returned a document and %v", err)
		}
		for _, want := range verifyErrors {
			if errors.Is(err, want) {
				if !strings.Contains(err.Error(), strconv.Quote(appID)) {
					t.Fatalf("error %q does not name the app %q", err, appID)
				}
				return
			}
		}
		t.Fatalf("VerifyDocument error %q wraps none of the documented errors", err)
	}
	// Accepted: the signature really holds over the signed bytes.
	var raw struct {
		Signed, Signature []byte
	}
	if json.Unmarshal(env, &raw) != nil || !ed25519.Verify(pub, raw.Signed, raw.Signature) {
		t.Fatalf("VerifyDocument accepted an envelope whose signature does not verify: %q", env)
	}
	if doc.AppID != appID {
		t.Fatalf("accepted a document for %q when asked for %q", doc.AppID, appID)
	}
	if !opts.WaiveReplay && doc.Sequence < opts.MinSequence {
		t.Fatalf("accepted sequence %d below %d", doc.Sequence, opts.MinSequence)
	}
	if !opts.WaiveExpiry && !opts.Now.Before(doc.ExpiresAt) {
		t.Fatalf("accepted a document expired at %v at %v", doc.ExpiresAt, opts.Now)
	}
	if doc.RolloutPercent < 0 || doc.RolloutPercent > 100 {
		t.Fatalf("accepted rolloutPercent %d", doc.RolloutPercent)
	}
	if doc.Stable != nil && doc.Latest == nil {
		t.Fatalf("accepted a stable release without a latest one")
	}
	for _, r := range []*updater.Release{doc.Latest, doc.Stable} {
		if r == nil {
			continue
		}
		if r.Size <= 0 || len(r.SHA256) != 64 || strings.Trim(r.SHA256, "0123456789abcdef") != "" {
			t.Fatalf("accepted release %+v", r)
		}
		// The path is joined to the base URL and to folders: it must stay
		// inside both.
		if strings.HasPrefix(r.Path, "/") || strings.ContainsAny(r.Path, "\\?#%:@ \x00") {
			t.Fatalf("accepted package path %q", r.Path)
		}
		for _, seg := range strings.Split(r.Path, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("accepted package path %q", r.Path)
			}
		}
	}
	// The client's reading of the document never panics and picks one of
	// the document's releases.
	for _, id := range []string{"", "client-1", "client-2", strings.Repeat("x", 300)} {
		if got := doc.LatestFor(id); got != nil && got != doc.Latest && got != doc.Stable {
			t.Fatalf("LatestFor(%q) = %+v, not latest or stable", id, got)
		}
	}
	for _, v := range append([]string{"1.0.0", "", "x", doc.MinVersion}, doc.Revoked...) {
		updater.IsRevoked(doc, v)
	}
	// Verification is a pure function of its inputs.
	again, err := updater.VerifyDocument(env, pub, opts)
	if err != nil || !reflect.DeepEqual(again, doc) {
		t.Fatalf("second verification differs: %+v, %v", again, err)
	}
}

// fuzzOptions returns the VerifyOptions of a fuzz input: a unix time of 0
// stands for the re-verification of a saved document (expiry and replay
// both waived), any other for a fresh check at that time.
func fuzzOptions(appID string, lastSeq uint64, unix int64) updater.VerifyOptions {
	if unix == 0 {
		return updater.VerifyOptions{AppID: appID, MinSequence: lastSeq, WaiveExpiry: true, WaiveReplay: true}
	}
	return updater.VerifyOptions{AppID: appID, MinSequence: lastSeq, Now: time.Unix(unix, 0).UTC()}
}

// FuzzVerifyDocument feeds VerifyDocument whole envelopes: mutations of
// real signed ones (the signature only holds while the signed bytes are
// intact) and arbitrary bytes.
func FuzzVerifyDocument(f *testing.F) {
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	for i, env := range seedEnvelopes(f, key) {
		f.Add(env, "demo.counter", uint64(i%3), fuzzNow.Unix())
		f.Add(env, "demo.hello", uint64(0), int64(0))
	}
	f.Add([]byte(`{"signed":"","signature":""}`), "demo.counter", uint64(0), fuzzNow.Unix())
	f.Add([]byte(`null`), "demo.counter", uint64(0), int64(0))
	f.Add([]byte(`{"signed":"e30=","signature":"AAAA","keyId":"x"}`), "a", uint64(1), int64(-1))
	f.Fuzz(func(t *testing.T, env []byte, appID string, lastSeq uint64, unix int64) {
		opts := fuzzOptions(appID, lastSeq, unix)
		doc, err := updater.VerifyDocument(env, pub, opts)
		checkVerified(t, env, pub, opts, doc, err)
	})
}

// FuzzVerifySignedDocument signs arbitrary document bodies with the
// client's key, so that the fuzzer reaches past the signature check into
// parsing and validation: a correctly signed body is still checked field
// by field, and never accepted when it breaks a rule.
func FuzzVerifySignedDocument(f *testing.F) {
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	for _, env := range seedEnvelopes(f, key) {
		var raw struct{ Signed []byte }
		if err := json.Unmarshal(env, &raw); err != nil {
			f.Fatal(err)
		}
		f.Add(raw.Signed, "demo.counter", uint64(1), fuzzNow.Unix())
	}
	f.Add([]byte(`{"appId":"demo.counter","sequence":1,"latest":{"version":"1.0.0","size":1,"sha256":"`+strings.Repeat("a", 64)+
		`","path":"../x.mpk"},"rolloutPercent":100,"issuedAt":"2030-01-01T00:00:00Z","expiresAt":"2031-01-01T00:00:00Z"}`),
		"demo.counter", uint64(0), fuzzNow.Unix())
	f.Add([]byte(`{"appId":"demo.counter","sequence":18446744073709551615,"rolloutPercent":-1}`), "demo.counter", uint64(0), int64(0))
	f.Add([]byte(`[]`), "demo.counter", uint64(0), int64(0))
	f.Fuzz(func(t *testing.T, body []byte, appID string, lastSeq uint64, unix int64) {
		env, err := json.Marshal(struct {
			Signed    []byte `json:"signed"`
			Signature []byte `json:"signature"`
			KeyID     string `json:"keyId"`
		}{body, ed25519.Sign(key, body), updater.KeyID(pub)})
		if err != nil {
			t.Fatal(err)
		}
		opts := fuzzOptions(appID, lastSeq, unix)
		doc, err := updater.VerifyDocument(env, pub, opts)
		if appID != "" && len(body) > 0 && len(env) <= wire.MaxEnvelopeSize &&
			(errors.Is(err, updater.ErrUnsigned) || errors.Is(err, updater.ErrBadSignature)) {
			t.Fatalf("a correctly signed body was refused as unsigned: %v", err)
		}
		checkVerified(t, env, pub, opts, doc, err)
	})
}
