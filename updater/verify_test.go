package updater_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/sign"
	"github.com/minihost/minihost/updater/internal/sigtest"
	"github.com/minihost/minihost/updater/internal/wire"
)

// editEnvelope decodes an envelope, lets edit change it, and re-encodes it.
func editEnvelope(t *testing.T, env []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(env, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSignVerifyDocument(t *testing.T) {
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	now := newTestClock().Now()
	signDoc := func(d *updater.Document) []byte {
		env, err := sign.Document(d, key)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	good := signDoc(sigtest.Document(now))
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	byOther, _ := sign.Document(sigtest.Document(now), otherKey)
	bad := sigtest.Document(now)
	bad.Latest.SHA256 = "XYZ"
	stableNewer := sigtest.Document(now)
	stableNewer.Stable = &updater.Release{Version: "1.3.0", Size: 1, SHA256: strings.Repeat("cd", 32), Path: "a/b.mpk"}
	escaping := sigtest.Document(now)
	escaping.Latest.Path = "../../etc/passwd"
	// A version no client can store as a file name (it names the
	// download's .part file): the package rule, at most 64 bytes.
	longVersion := sigtest.Document(now)
	longVersion.Latest.Version = "1.2.0-" + strings.Repeat("a", 238)
	longMin := sigtest.Document(now)
	longMin.MinVersion = "1.0.0-" + strings.Repeat("a", 238)

	for _, tc := range []struct {
		name    string
		env     []byte
		app     string
		lastSeq uint64
		now     time.Time
		want    error
	}{
		{"valid", good, "demo.counter", 0, now, nil},
		{"same sequence", good, "demo.counter", 7, now, nil},
		{"replay", good, "demo.counter", 8, now, updater.ErrReplay},
		{"expired", good, "demo.counter", 0, now.Add(time.Hour), updater.ErrExpired},
		{"wrong app", good, "demo.hello", 0, now, updater.ErrWrongApp},
		{"signed by another key", byOther, "demo.counter", 0, now, updater.ErrBadSignature},
		{"tampered body", editEnvelope(t, good, func(m map[string]any) {
			body, _ := base64.StdEncoding.DecodeString(m["signed"].(string))
			body = bytes.Replace(body, []byte(`"sequence":7`), []byte(`"sequence":9`), 1)
			m["signed"] = base64.StdEncoding.EncodeToString(body)
		}), "demo.counter", 0, now, updater.ErrBadSignature},
		{"tampered signature", editEnvelope(t, good, func(m map[string]any) {
			sig, _ := base64.StdEncoding.DecodeString(m["signature"].(string))
			sig[0] ^= 1
			m["signature"] = base64.StdEncoding.EncodeToString(sig)
		}), "demo.counter", 0, now, updater.ErrBadSignature},
		{"no signature", editEnvelope(t, good, func(m map[string]any) { delete(m, "signature") }), "demo.counter", 0, now, updater.ErrUnsigned},
		{"bare document", mustJSON(sigtest.Document(now)), "demo.counter", 0, now, updater.ErrUnsigned},
		{"not JSON", []byte("<html>"), "demo.counter", 0, now, updater.ErrUnsigned},
		{"too big", append(bytes.Repeat([]byte(" "), wire.MaxEnvelopeSize), good...), "demo.counter", 0, now, mpk.ErrTooLarge},
		{"bad hash field", signDoc(bad), "demo.counter", 0, now, updater.ErrInvalidDocument},
		{"stable newer than latest", signDoc(stableNewer), "demo.counter", 0, now, updater.ErrInvalidDocument},
		{"path leaves the base", signDoc(escaping), "demo.counter", 0, now, updater.ErrInvalidDocument},
		{"version too long for a file name", signDoc(longVersion), "demo.counter", 0, now, updater.ErrInvalidDocument},
		{"minVersion too long", signDoc(longMin), "demo.counter", 0, now, updater.ErrInvalidDocument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := updater.VerifyDocument(tc.env, pub, updater.VerifyOptions{AppID: tc.app, MinSequence: tc.lastSeq, Now: tc.now})
			if tc.want == nil {
				if err != nil || doc.Sequence != 7 || doc.Latest.Version != "1.2.0" {
					t.Fatalf("VerifyDocument = %+v, %v", doc, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || doc != nil {
				t.Fatalf("VerifyDocument = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := updater.VerifyDocument(byOther, pub, updater.VerifyOptions{AppID: "demo.counter", Now: now}); !strings.Contains(err.Error(), updater.KeyID(pub)) {
		t.Errorf("wrong-key error does not name the keys: %v", err)
	}
}

// TestVerifyDocumentOptions: every check of VerifyOptions is on unless
// waived, a zero value never turns one off, and a waiver skips only its
// own check.
func TestVerifyDocumentOptions(t *testing.T) {
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	now := newTestClock().Now()
	good, err := sign.Document(sigtest.Document(now), key) // sequence 7, expires now+1h
	if err != nil {
		t.Fatal(err)
	}
	byOther, err := sign.Document(sigtest.Document(now), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	expired := now.Add(time.Hour)
	tests := []struct {
		name    string
		env     []byte
		opts    updater.VerifyOptions
		want    error  // a sentinel, or nil
		mention string // for errors without a sentinel
	}{
		{name: "every check passes", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 7, Now: now}},
		{name: "MinSequence 0: nothing seen yet", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", Now: now}},
		{name: "empty AppID", env: good, opts: updater.VerifyOptions{Now: now}, mention: "VerifyOptions.AppID"},
		{name: "empty AppID with waivers", env: good, opts: updater.VerifyOptions{WaiveExpiry: true, WaiveReplay: true}, mention: "VerifyOptions.AppID"},
		{name: "zero Now without waiver", env: good, opts: updater.VerifyOptions{AppID: "demo.counter"}, mention: "VerifyOptions.Now is zero"},
		{name: "zero Now with WaiveExpiry", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", WaiveExpiry: true}},
		{name: "expired", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", Now: expired}, want: updater.ErrExpired},
		{name: "expired, WaiveExpiry", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", Now: expired, WaiveExpiry: true}},
		{name: "replay", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, Now: now}, want: updater.ErrReplay},
		{name: "replay, WaiveReplay", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, Now: now, WaiveReplay: true}},
		{name: "WaiveReplay keeps the expiry check", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, Now: expired, WaiveReplay: true}, want: updater.ErrExpired},
		{name: "WaiveExpiry keeps the replay check", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, WaiveExpiry: true}, want: updater.ErrReplay},
		{name: "saved document: both waived", env: good, opts: updater.VerifyOptions{AppID: "demo.counter", MinSequence: 8, Now: expired, WaiveExpiry: true, WaiveReplay: true}},
		{name: "waivers keep the app check", env: good, opts: updater.VerifyOptions{AppID: "demo.hello", WaiveExpiry: true, WaiveReplay: true}, want: updater.ErrWrongApp},
		{name: "waivers keep the signature check", env: byOther, opts: updater.VerifyOptions{AppID: "demo.counter", WaiveExpiry: true, WaiveReplay: true}, want: updater.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := updater.VerifyDocument(tt.env, pub, tt.opts)
			switch {
			case tt.want == nil && tt.mention == "":
				if err != nil || doc == nil || doc.Sequence != 7 {
					t.Fatalf("VerifyDocument = %+v, %v; want the document", doc, err)
				}
			case tt.want != nil:
				if !errors.Is(err, tt.want) || doc != nil {
					t.Fatalf("VerifyDocument = %+v, %v; want %v", doc, err, tt.want)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.mention) || doc != nil {
					t.Fatalf("VerifyDocument = %+v, %v; want an error naming %q", doc, err, tt.mention)
				}
				for _, sentinel := range verifyErrors {
					if errors.Is(err, sentinel) {
						t.Errorf("options error %q wraps %v, a verdict on the document", err, sentinel)
					}
				}
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestClientRejects serves bad documents from a real loopback server and
// checks the Client refuses each.
func TestClientRejects(t *testing.T) {
	key := testKey()
	clock := newTestClock()
	now := clock.Now()
	docFor := func(app string, seq uint64, issued time.Time) []byte {
		d := sigtest.Document(issued)
		d.AppID, d.Sequence = app, seq
		env, err := sign.Document(d, key)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	var serve []byte
	hs := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apps/demo.counter/release.json" {
			http.NotFound(w, r)
			return
		}
		w.Write(serve)
	}))
	c, err := updater.NewClient(updater.ClientConfig{BaseURL: hs, PublicKey: key.Public().(ed25519.PublicKey), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	for _, tc := range []struct {
		name    string
		env     []byte
		lastSeq uint64
		want    error
	}{
		{"good", docFor("demo.counter", 5, now), 5, nil},
		{"other app's document", docFor("demo.hello", 5, now), 0, updater.ErrWrongApp},
		{"expired", docFor("demo.counter", 5, now.Add(-2*time.Hour)), 0, updater.ErrExpired},
		{"replayed older", docFor("demo.counter", 4, now), 5, updater.ErrReplay},
		{"signed by another key", func() []byte {
			env, _ := sign.Document(sigtest.Document(now), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)))
			return env
		}(), 0, updater.ErrBadSignature},
		{"unsigned", mustJSON(sigtest.Document(now)), 0, updater.ErrUnsigned},
		{"over the size limit", bytes.Repeat([]byte("x"), wire.MaxEnvelopeSize+10), 0, mpk.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serve = tc.env
			doc, env, err := c.FetchDocument(t.Context(), "demo.counter", tc.lastSeq)
			if tc.want == nil {
				if err != nil || doc == nil || !bytes.Equal(env, tc.env) {
					t.Fatalf("FetchDocument: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || doc != nil || env != nil {
				t.Fatalf("FetchDocument = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestBadSignatureHint: the envelope's keyId tells a tampered document
// from one signed by another key, and Hint names the fix for each. A
// document whose minVersion was edited after signing, still naming the
// client's key, was altered on the way: checking --pubkey would be the
// wrong advice. A document naming another key means the client holds the
// wrong public key. One naming no key could be either.
func TestBadSignatureHint(t *testing.T) {
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	now := newTestClock().Now()
	good, err := sign.Document(sigtest.Document(now), key)
	if err != nil {
		t.Fatal(err)
	}
	lowerMin := func(m map[string]any) {
		body, _ := base64.StdEncoding.DecodeString(m["signed"].(string))
		edited := bytes.Replace(body, []byte(`"minVersion":"1.0.0"`), []byte(`"minVersion":"0.0.1"`), 1)
		if bytes.Equal(edited, body) {
			t.Fatalf("no minVersion to edit in %s", body)
		}
		m["signed"] = base64.StdEncoding.EncodeToString(edited)
	}
	byOther, err := sign.Document(sigtest.Document(now), ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		env           []byte
		want, notWant []string
	}{
		{"key id matches: altered", editEnvelope(t, good, func(m map[string]any) {
			if m["keyId"] != updater.KeyID(pub) {
				t.Fatalf("keyId %v, want the client's %s", m["keyId"], updater.KeyID(pub))
			}
			lowerMin(m)
		}), []string{"altered"}, []string{"--pubkey"}},
		{"key id differs: check --pubkey", byOther, []string{"check --pubkey"}, []string{"altered"}},
		{"key id differs on an altered body: check --pubkey", editEnvelope(t, byOther, lowerMin), []string{"check --pubkey"}, []string{"altered"}},
		{"no key id: either", editEnvelope(t, good, func(m map[string]any) {
			delete(m, "keyId")
			lowerMin(m)
		}), []string{"altered", "--pubkey"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := updater.VerifyDocument(tc.env, pub, updater.VerifyOptions{AppID: "demo.counter", Now: now})
			if !errors.Is(err, updater.ErrBadSignature) {
				t.Fatalf("err = %v, want ErrBadSignature", err)
			}
			hint := updater.Hint(err)
			for _, w := range tc.want {
				if !strings.Contains(hint, w) {
					t.Errorf("Hint = %q, want it to contain %q (err: %v)", hint, w, err)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(hint, w) {
					t.Errorf("Hint = %q, want no %q (err: %v)", hint, w, err)
				}
			}
		})
	}
}
