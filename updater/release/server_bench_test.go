package release_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/minihost/minihost/updater/internal/wire"
)

// BenchmarkDocument measures release-document GETs per second from the
// release server over loopback, with keep-alive clients in parallel. Its
// floor is BenchmarkDocumentFileServer: http.FileServer serving the same
// bytes from a file; compare the req/s of the two in one run.
func BenchmarkDocument(b *testing.B) {
	ts := newTestServer(b, nil)
	ts.publish("demo.counter", "1.0.0")
	benchGET(b, ts.hs.URL+"/apps/demo.counter/release.json")
}

// BenchmarkDocumentFileServer is the floor for BenchmarkDocument.
func BenchmarkDocumentFileServer(b *testing.B) {
	ts := newTestServer(b, nil)
	ts.publish("demo.counter", "1.0.0")
	body, err := ts.srv.DocumentBytes("demo.counter")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	p := filepath.Join(dir, filepath.FromSlash(wire.DocumentPath("demo.counter")))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, body, 0o644); err != nil {
		b.Fatal(err)
	}
	benchGET(b, httptestServer(b, http.FileServer(http.Dir(dir)))+"/"+wire.DocumentPath("demo.counter"))
}

func benchGET(b *testing.B, url string) {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n == 0 {
				b.Errorf("GET %s: %d, %d bytes", url, resp.StatusCode, n)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
