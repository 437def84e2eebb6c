package updater_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

// The Client's downloads against a real release server (the test kit's)
// and against servers that misbehave.

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
	s := updatertest.NewServer(t, updatertest.Config{})
	rel := s.Publish(t, runtimetest.BuildPackage(t, "samples/counter", "1.0.0"), 100)
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
			rr := &rangeRecorder{h: s.Release.Handler(), ignoreRange: tc.ignoreRange}
			hs := httptestServer(t, rr)
			c, err := updater.NewClient(updater.ClientConfig{BaseURL: hs, PublicKey: s.PublicKey})
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "pkg.part")
			if err := os.WriteFile(dst, tc.partial, 0o644); err != nil {
				t.Fatal(err)
			}
			n, err := c.Download(t.Context(), rel, dst, nil)
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
			_, err = c.Download(t.Context(), rel, dst, nil)
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
		if _, err := c.Download(t.Context(), rel, filepath.Join(t.TempDir(), "x"), nil); !errors.Is(err, mpk.ErrTooLarge) {
			t.Fatalf("err = %v, want mpk.ErrTooLarge", err)
		}
	})
}
