package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/runtimetest"
)

func TestShellUsage(t *testing.T) {
	testExits(t, []exitCase{
		{"not loopback", []string{"shell", "--home", "HOME", "--addr", "0.0.0.0:0"}, 2, "loopback only"},
		{"no port", []string{"shell", "--home", "HOME", "--addr", "127.0.0.1"}, 2, `--addr "127.0.0.1"`},
		{"app without server", []string{"shell", "--home", "HOME", "--app", "demo.counter"}, 2, "--app needs --server"},
		{"server without pubkey", []string{"shell", "--home", "HOME", "--server", "http://127.0.0.1:1"}, 2, "--server needs --pubkey"},
		{"missing target", []string{"shell", "--home", "HOME", "no/such/dir"}, 1, "no/such/dir"},
	})
}

// TestShellCommand runs `minihost shell --json` on a package, reads the
// URL it prints, loads the shell's page and its state, and stops it.
func TestShellCommand(t *testing.T) {
	pkg := runtimetest.BuildPackage(t, "samples/counter", "1.0.0")
	useTestCompileCache(t) // after runtimetest, whose cache root it moves
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	defer cancel()
	pr, pw := io.Pipe()
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"shell", pkg, "--json", "--home", t.TempDir()}, pw, &errOut)
		pw.Close()
	}()
	var out struct {
		URL string `json:"url"`
	}
	if err := json.NewDecoder(pr).Decode(&out); err != nil {
		t.Fatalf("read --json output: %v; stderr:\n%s", err, errOut.String())
	}
	go io.Copy(io.Discard, pr)
	if !strings.HasPrefix(out.URL, "http://127.0.0.1:") {
		t.Fatalf("url %q, want one on 127.0.0.1", out.URL)
	}
	res, err := http.Get(out.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "minihost shell") {
		t.Fatalf("GET %s: %d\n%s", out.URL, res.StatusCode, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("shell exit %d after Ctrl-C; stderr:\n%s", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shell did not stop within 30s of its context ending")
	}
}

// TestShellNamesItselfWhileBuilding: building a source folder says
// "minihost shell: compiling ...", not "minihost run:" (they share the
// build). The context is already over, so nothing is built.
func TestShellNamesItselfWhileBuilding(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out, errOut syncBuffer
	code := run(ctx, []string{"shell", "--home", t.TempDir(), "../../samples/hello"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "minihost shell: compiling ../../samples/hello") || strings.Contains(errOut.String(), "minihost run") {
		t.Fatalf("exit %d, want 1 after a line naming the shell; stderr:\n%s", code, errOut.String())
	}
}
