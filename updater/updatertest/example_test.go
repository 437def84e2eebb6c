package updatertest_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

// A test starts a kit server, publishes a package and checks for updates
// with a client that shares the server's clock. (A test passes its
// testing.TB to NewServer, which closes the server at cleanup; an Example
// has none, so it passes nil and calls Close.)
func Example() {
	ctx := context.Background()
	s := updatertest.NewServer(nil, updatertest.Config{})
	defer s.Close()

	dir, err := os.MkdirTemp("", "updatertest-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	pkg := filepath.Join(dir, "hello.mpk")
	if err := mpk.Build(ctx, "../../samples/hello", pkg, mpk.BuildOptions{Version: "1.0.0"}); err != nil {
		log.Fatal(err)
	}
	f, err := os.Open(pkg)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := s.Release.Publish(ctx, "demo.hello", f, 100); err != nil {
		log.Fatal(err)
	}

	c, err := updater.NewClient(updater.ClientConfig{
		BaseURL:   s.URL,
		PublicKey: s.PublicKey,
		Now:       s.Clock.Now, // one clock for the server and its clients
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)
	doc, _, err := c.FetchDocument(ctx, "demo.hello", 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("latest:", doc.Latest.Version)
	fmt.Println("issued:", doc.IssuedAt.Format("2006-01-02 15:04"), "expires in:", doc.ExpiresAt.Sub(s.Clock.Now()))
	for _, r := range s.Requests() {
		fmt.Println(r.Method, r.Path, r.Status)
	}
	// Output:
	// latest: 1.0.0
	// issued: 2026-01-01 00:00 expires in: 1h0m0s
	// GET /apps/demo.hello/release.json 200
}
