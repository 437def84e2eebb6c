package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

// relRun runs a command line through run and returns the exit code and
// what it printed.
func relRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// relKeygen makes a key pair in a temp folder and returns the private key
// file's path.
func relKeygen(t *testing.T) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "release.key")
	if code, _, stderr := relRun(t, "keygen", "-o", key); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	return key
}

// relServe runs "minihost serve" with args on 127.0.0.1:0 until the test
// ends and returns its URL, read from what it prints.
func relServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	pr, pw := io.Pipe()
	var errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), pw, &errOut)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		cancel()
		t.Fatalf("serve printed nothing; exit %d, stderr:\n%s", <-done, errOut.String())
	}
	m := regexp.MustCompile(`serving releases at (http://\S+)/ `).FindStringSubmatch(lines.Text())
	if m == nil {
		cancel()
		t.Fatalf("serve printed %q", lines.Text())
	}
	var rest []string
	drained := make(chan struct{})
	go func() {
		for lines.Scan() {
			rest = append(rest, lines.Text())
		}
		close(drained)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exit %d after cancel, stderr:\n%s", code, errOut.String())
		}
		<-drained
		if !strings.Contains(strings.Join(rest, "\n"), "release server stopped") {
			t.Errorf("serve did not report its shutdown: %q", rest)
		}
	})
	return m[1]
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeCommandMissingKey(t *testing.T) {
	key := filepath.Join(t.TempDir(), "none.key")
	code, _, stderr := relRun(t, "serve", "--data", t.TempDir(), "--key", key)
	if code != 1 || !strings.Contains(stderr, "minihost keygen -o "+key) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if code, _, _ := relRun(t, "serve", "--data", t.TempDir()); code != 2 {
		t.Fatalf("no --key: exit %d, want 2", code)
	}
}

// TestServeCommandReleaseFlow drives a real "minihost serve" with the
// admin commands and checks what a client sees.
func TestServeCommandReleaseFlow(t *testing.T) {
	key := relKeygen(t)
	data := t.TempDir()
	t.Setenv("MINIHOST_TOKEN", "flow-token-0e5d7c3b")
	pkg1 := runtimetest.BuildPackage(t, "samples/counter", "1.0.0")
	pkg2 := runtimetest.BuildPackage(t, "samples/counter", "1.1.0")
	useTestCompileCache(t) // the server's validator compiles each upload
	url := relServe(t, "--data", data, "--key", key)

	steps := []struct {
		name string
		args []string
		code int
		out  []string // regexps stdout must match
		err  string   // substring of stderr
	}{
		{"publish", []string{"publish", "--server", url, pkg1}, 0, []string{`published demo\.counter 1\.0\.0 \(\d+ bytes, sha256 [0-9a-f]{64}, rollout 100%\)`, `apps/demo\.counter/packages/1\.0\.0\.mpk`}, ""},
		{"publish staged, flags after the file", []string{"publish", pkg2, "--server", url, "--rollout", "20"}, 0, []string{`published demo\.counter 1\.1\.0 .*rollout 20%`}, ""},
		{"publish again", []string{"publish", "--server", url, pkg2}, 1, nil, "not newer"},
		{"versions", []string{"versions", "--server", url, "demo.counter"}, 0, []string{
			`demo\.counter  sequence 2  rollout 20%  min version -  prefer local -`,
			`VERSION +STATE +REVERT +SIZE +PUBLISHED +FETCHES +24H +DOWNLOADS +SHA256`, `adoption since .*; 0 fetches from clients of no published version`,
			`1\.1\.0 +latest +\d+ `, `1\.0\.0 +stable +yes +\d+ `}, ""},
		{"min above released", []string{"settings", "--server", url, "demo.counter", "--min-version", "1.1.0"}, 1, nil, "above the fully released version 1.0.0"},
		{"settings", []string{"settings", "--server", url, "demo.counter", "--rollout", "100", "--min-version", "1.1.0", "--prefer-local", "1.0.0"}, 0, []string{`sequence 3  rollout 100%  min version 1\.1\.0  prefer local 1\.0\.0`}, ""},
		{"revert", []string{"revert", "--server", url, "demo.counter", "--to", "1.0.0"}, 0, []string{`sequence 4  rollout 100%  min version 1\.0\.0`, `1\.1\.0 +revoked`, `1\.0\.0 +latest`}, ""},
		{"revert to unknown", []string{"revert", "--server", url, "demo.counter", "--to", "0.9.0"}, 1, nil, "unknown version"},
		{"unknown app", []string{"versions", "--server", url, "demo.nope"}, 1, nil, "unknown app"},
		{"wrong token", []string{"versions", "--server", url, "--token", "nope", "demo.counter"}, 1, nil, "401 wrong admin token"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, stdout, stderr := relRun(t, s.args...)
			if code != s.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, s.code, stdout, stderr)
			}
			for _, re := range s.out {
				if !regexp.MustCompile(re).MatchString(stdout) {
					t.Errorf("stdout does not match %q:\n%s", re, stdout)
				}
			}
			if !strings.Contains(stderr, s.err) {
				t.Errorf("stderr does not contain %q:\n%s", s.err, stderr)
			}
		})
	}

	// The dashboard is served, behind a login.
	resp, err := http.Get(url + "/dashboard/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(page), `id="login"`) {
		t.Fatalf("GET /dashboard/ without a session: %d, want 401 and the login page", resp.StatusCode)
	}

	// --json for scripts.
	code, stdout, stderr := relRun(t, "versions", "--json", "--server", url, "demo.counter")
	var st release.AppStatus
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil || st.Sequence != 4 || len(st.Versions) != 2 || st.Versions[0].State != "revoked" {
		t.Fatalf("versions --json: exit %d, %+v\n%s", code, st, stderr)
	}

	// A client holding the public key file sees the reverted release.
	pub, err := updater.LoadPublicKey(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, url, pub, nil)
	doc, _, err := c.FetchDocument(t.Context(), "demo.counter", 4)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Latest.Version != "1.0.0" || !slices.Contains(doc.Revoked, "1.1.0") || doc.MinVersion != "1.0.0" {
		t.Fatalf("document %+v", doc)
	}
	dst := filepath.Join(t.TempDir(), "p.mpk")
	if _, err := c.Download(t.Context(), doc.Latest, dst, nil); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(pkg1)
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, want) {
		t.Fatal("downloaded package differs from the published file")
	}

	// The server counted what it saw: the fetch (the client sent no
	// running version) and the download.
	code, stdout, stderr = relRun(t, "versions", "--json", "--server", url, "demo.counter")
	st = release.AppStatus{}
	if code != 0 || json.Unmarshal([]byte(stdout), &st) != nil || st.UnknownFetches != 1 || st.Versions[1].Downloads != 1 {
		t.Fatalf("versions --json after a fetch and a download: exit %d, %+v\n%s", code, st, stderr)
	}
}

func TestServeCommandWithoutToken(t *testing.T) {
	t.Setenv("MINIHOST_TOKEN", "")
	url := relServe(t, "--data", t.TempDir(), "--key", relKeygen(t))
	code, _, stderr := relRun(t, "versions", "--server", url, "--token", "x", "demo.counter")
	if code != 1 || !strings.Contains(stderr, "admin API disabled") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
