package release_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/release"
)

// recordingValidator answers every upload with err and records what it
// was given.
type recordingValidator struct {
	err  error
	mu   sync.Mutex
	got  []string // app ids
	man  []mpk.Manifest
	wasm [][]byte
}

var _ release.Validator = (*recordingValidator)(nil)

func (v *recordingValidator) Validate(ctx context.Context, appID string, m mpk.Manifest, wasm []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.got = append(v.got, appID)
	v.man = append(v.man, m)
	v.wasm = append(v.wasm, bytes.Clone(wasm))
	return v.err
}

// blockingValidator waits for its context, as a compile interrupted by a
// cancelled upload does.
type blockingValidator struct{ started chan struct{} }

func (v blockingValidator) Validate(ctx context.Context, _ string, _ mpk.Manifest, _ []byte) error {
	close(v.started)
	<-ctx.Done()
	return errors.New("compile interrupted")
}

func TestServerNeedsValidator(t *testing.T) {
	_, err := release.New(release.Config{DataDir: t.TempDir(), Key: testKey()})
	if err == nil || !strings.Contains(err.Error(), "Validator") || !strings.Contains(err.Error(), "NoValidation") {
		t.Fatalf("New without a Validator: %v, want an error naming Config.Validator and NoValidation", err)
	}
}

// TestServerRefusesWeakTokens: a token a login limit could be guessed
// through (short, or empty) is refused at New, naming which one, and
// never echoing it; 16 characters are enough.
func TestServerRefusesWeakTokens(t *testing.T) {
	tests := []struct {
		name   string
		tokens []string
		want   string // "" for none
	}{
		{"16 characters", []string{"0123456789abcdef"}, ""},
		{"empty", []string{""}, "admin token 1 of 1 is 0 characters, want at least 16"},
		{"a word", []string{"0123456789abcdef", "s3cret"}, "admin token 2 of 2 is 6 characters, want at least 16"},
		{"15 characters", []string{"0123456789abcde"}, "is 15 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := release.New(release.Config{DataDir: t.TempDir(), Key: testKey(), Validator: release.NoValidation(), Tokens: tt.tokens})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New with %q: %v, want no error", tt.tokens, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New with %q: %v, want an error containing %q", tt.tokens, err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error echoes the token: %v", err)
			}
		})
	}
}

func TestServerValidator(t *testing.T) {
	wasm := "\x00asm\x01\x00\x00\x00 the entry"
	pkg := craftPackage(t, map[string]string{"app.json": manifestJSON("demo.counter", "1.0.0"), "app.wasm": wasm, "other": "x"})
	tests := []struct {
		name       string
		err        error // the Validator's answer
		wantStatus int
		wantErr    error    // of the admin client; nil: published
		mention    []string // in the error message
	}{
		{"accepted", nil, http.StatusCreated, nil, nil},
		{"refused", errors.New("guest does not export minihost_on_launch"), http.StatusBadRequest, release.ErrInvalidPackage,
			[]string{"publish demo.counter", "invalid package", "minihost_on_launch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &recordingValidator{err: tt.err}
			ts := newTestServer(t, func(c *release.Config) { c.Validator = v })
			files := listFiles(t, ts.cfg.DataDir)
			_, err := ts.admin.Publish(t.Context(), "demo.counter", bytes.NewReader(pkg), 100)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Publish: %v, want %v", err, tt.wantErr)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			v.mu.Lock()
			defer v.mu.Unlock()
			if !slices.Equal(v.got, []string{"demo.counter"}) || v.man[0].Version != "1.0.0" || v.man[0].Entry != "app.wasm" || string(v.wasm[0]) != wasm {
				t.Fatalf("Validator got apps %v, manifests %+v, entry %q; want one call with the upload's", v.got, v.man, v.wasm)
			}
			st, serr := ts.srv.Status(context.Background(), "demo.counter")
			if tt.wantErr != nil {
				if serr == nil || !slices.Equal(listFiles(t, ts.cfg.DataDir), files) {
					t.Fatalf("a refused upload left state %+v or files %v", st, listFiles(t, ts.cfg.DataDir))
				}
				return
			}
			if serr != nil || len(st.Versions) != 1 {
				t.Fatalf("Status after an accepted upload: %+v, %v", st, serr)
			}
		})
	}
	t.Run("not called for a package the server refuses", func(t *testing.T) {
		v := &recordingValidator{}
		ts := newTestServer(t, func(c *release.Config) { c.Validator = v })
		bad := craftPackage(t, map[string]string{"app.json": manifestJSON("demo.counter", "1.0.0"), "app.wasm": "#!/bin/sh\n"})
		if _, err := ts.srv.Publish(t.Context(), "demo.counter", bytes.NewReader(bad), 100); !errors.Is(err, release.ErrInvalidPackage) {
			t.Fatalf("Publish: %v", err)
		}
		if len(v.got) != 0 {
			t.Fatalf("Validator called for %v", v.got)
		}
	})
	t.Run("cancelled while validating", func(t *testing.T) {
		v := blockingValidator{started: make(chan struct{})}
		ts := newTestServer(t, func(c *release.Config) { c.Validator = v })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := ts.srv.Publish(ctx, "demo.counter", bytes.NewReader(pkg), 100)
			done <- err
		}()
		select {
		case <-v.started:
		case <-time.After(time.Minute):
			t.Fatal("Validate was not called within a minute")
		}
		cancel()
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			t.Fatal("Publish did not return within a minute of the cancel")
		}
		if !errors.Is(err, context.Canceled) || errors.Is(err, release.ErrInvalidPackage) {
			t.Fatalf("Publish: %v, want context.Canceled, not ErrInvalidPackage", err)
		}
	})
}
