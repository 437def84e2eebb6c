package updater_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
)

// progressCalls records the calls a Download makes to its progress
// callback. Safe for concurrent use.
type progressCalls struct {
	mu    sync.Mutex
	done  []int64
	total []int64
}

func (p *progressCalls) fn(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = append(p.done, done)
	p.total = append(p.total, total)
}

// servePackages serves each body at "/" + its path, with Range support.
func servePackages(t *testing.T, bodies map[string][]byte) *updater.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path[1:]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	t.Cleanup(srv.Close)
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := updater.NewClient(updater.ClientConfig{BaseURL: srv.URL, PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func progressRelease(version, path string, body []byte) *updater.Release {
	sum := sha256.Sum256(body)
	return &updater.Release{Version: version, Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), Path: path}
}

func TestDownloadProgress(t *testing.T) {
	body := bytes.Repeat([]byte("minihost"), 64<<10) // 512 KiB: many writes
	path := "apps/demo.counter/packages/1.0.0.mpk"
	c := servePackages(t, map[string][]byte{path: body})
	rel := progressRelease("1.0.0", path, body)

	tests := []struct {
		name    string
		partial int64 // bytes already in the file
		nilFn   bool
	}{
		{name: "fresh"},
		{name: "resumed", partial: 100 << 10},
		{name: "nil callback", nilFn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "pkg.part")
			if tt.partial > 0 {
				if err := os.WriteFile(dst, body[:tt.partial], 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var calls progressCalls
			fn := calls.fn
			if tt.nilFn {
				fn = nil
			}
			n, err := c.Download(t.Context(), rel, dst, fn)
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			if want := rel.Size - tt.partial; n != want {
				t.Errorf("Download transferred %d bytes, want %d", n, want)
			}
			if tt.nilFn {
				return
			}
			if len(calls.done) == 0 {
				t.Fatal("progress never called")
			}
			prev := tt.partial
			for i, d := range calls.done {
				if d <= prev || d > rel.Size {
					t.Fatalf("call %d: done = %d after %d, want increasing in (%d, %d]", i, d, prev, tt.partial, rel.Size)
				}
				if calls.total[i] != rel.Size {
					t.Fatalf("call %d: total = %d, want %d", i, calls.total[i], rel.Size)
				}
				prev = d
			}
			if prev != rel.Size {
				t.Errorf("last progress done = %d, want %d", prev, rel.Size)
			}
		})
	}
}

// TestDownloadProgressPerCall runs two downloads at once on one Client:
// each callback hears only its own download.
func TestDownloadProgressPerCall(t *testing.T) {
	small := bytes.Repeat([]byte("a"), 10<<10)
	large := bytes.Repeat([]byte("b"), 300<<10)
	c := servePackages(t, map[string][]byte{"small.mpk": small, "large.mpk": large})
	rels := []*updater.Release{progressRelease("1.0.0", "small.mpk", small), progressRelease("2.0.0", "large.mpk", large)}

	// The deadline bounds the wait below.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	calls := make([]progressCalls, len(rels))
	var wg sync.WaitGroup
	errs := make([]error, len(rels))
	dir := t.TempDir()
	for i, rel := range rels {
		wg.Go(func() {
			_, errs[i] = c.Download(ctx, rel, filepath.Join(dir, rel.Version+".part"), calls[i].fn)
		})
	}
	wg.Wait()
	for i, rel := range rels {
		if errs[i] != nil {
			t.Fatalf("Download %s: %v", rel.Version, errs[i])
		}
		if len(calls[i].done) == 0 {
			t.Fatalf("%s: progress never called", rel.Version)
		}
		for j, total := range calls[i].total {
			if total != rel.Size || calls[i].done[j] > rel.Size {
				t.Fatalf("%s: call %d = (%d, %d), want totals of %d", rel.Version, j, calls[i].done[j], total, rel.Size)
			}
		}
		if last := calls[i].done[len(calls[i].done)-1]; last != rel.Size {
			t.Errorf("%s: last progress done = %d, want %d", rel.Version, last, rel.Size)
		}
	}
}
