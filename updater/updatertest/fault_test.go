package updatertest_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

// pkgPath is the package's URL path on the kit server.
func pkgPath(rel *updater.Release) string { return "/" + rel.Path }

// summary is the part of a logged request the fault tests compare.
type summary struct {
	Path, Range string
	Status      int
	Bytes       int64
	Fault       updatertest.FaultKind
}

func summarize(reqs []updatertest.Request) []summary {
	var out []summary
	for _, r := range reqs {
		out = append(out, summary{r.Path, r.Range, r.Status, r.Bytes, r.Fault})
	}
	return out
}

func checkRequests(t *testing.T, s *updatertest.Server, want []summary) {
	t.Helper()
	got := summarize(s.Requests())
	if len(got) != len(want) {
		t.Fatalf("Requests():\n got %+v\nwant %+v", got, want)
	}
	for i := range want {
		if want[i].Bytes < 0 { // any
			want[i].Bytes = got[i].Bytes
		}
		if got[i] != want[i] {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

const docPath = "/apps/demo.hello/release.json"

func TestFaultRefuse(t *testing.T) {
	s, c, rel, data := published(t)
	fetch(t, c) // leaves a keep-alive connection the fault must close

	s.SetFault(updatertest.Fault{Kind: updatertest.FaultRefuse})
	if _, _, err := c.FetchDocument(t.Context(), appID, 0); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("FetchDocument while refusing: %v, want connection refused", err)
	}
	dst := filepath.Join(t.TempDir(), "dl.mpk")
	if _, err := c.Download(t.Context(), rel, dst, nil); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Download while refusing: %v, want connection refused", err)
	}

	s.SetFault(updatertest.Fault{}) // listens again, same URL
	fetch(t, c)
	if _, err := c.Download(t.Context(), rel, dst, nil); err != nil {
		t.Fatalf("Download after clearing: %v", err)
	}
	checkFile(t, dst, data)
	checkRequests(t, s, []summary{
		{Path: docPath, Status: 200, Bytes: -1},
		{Path: docPath, Status: 200, Bytes: -1},
		{Path: pkgPath(rel), Status: 200, Bytes: rel.Size},
	})

	// Refusing twice, then another fault, also brings the listener back.
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultRefuse})
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultRefuse})
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultStatus, Status: 503, Times: 1})
	if _, _, err := c.FetchDocument(t.Context(), appID, 0); !isStatus(err, 503) {
		t.Errorf("FetchDocument after refuse then 503: %v, want HTTP 503", err)
	}
}

func isStatus(err error, code int) bool {
	var he *updater.HTTPError
	return errors.As(err, &he) && he.StatusCode == code
}

func TestFaultHang(t *testing.T) {
	s, c, rel, data := published(t)
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultHang, Path: "/apps/*/release.json"})

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := c.FetchDocument(ctx, appID, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FetchDocument of a hanging server: %v, want context.DeadlineExceeded", err)
	}
	// Packages are not targeted.
	dst := filepath.Join(t.TempDir(), "dl.mpk")
	if _, err := c.Download(t.Context(), rel, dst, nil); err != nil {
		t.Fatalf("Download: %v", err)
	}
	checkFile(t, dst, data)
	checkRequests(t, s, []summary{
		{Path: docPath, Fault: updatertest.FaultHang},
		{Path: pkgPath(rel), Status: 200, Bytes: rel.Size},
	})
}

// Close ends requests held by FaultHang: it returns, so no handler is
// left running, and the client sees its connection closed.
func TestCloseEndsHangingRequests(t *testing.T) {
	s := updatertest.NewServer(nil, updatertest.Config{}) // closed by the test
	f, err := os.Open(helloPackage(t, "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := s.Release.Publish(t.Context(), appID, f, 100); err != nil {
		t.Fatal(err)
	}
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultHang})
	c := newClient(t, s)
	const n = 3
	errc := make(chan error, n)
	for range n {
		go func() {
			_, _, err := c.FetchDocument(t.Context(), appID, 0) // no deadline
			errc <- err
		}()
	}
	if err := s.WaitForRequests(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() {
		s.Close() // waits for every handler
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatal("Close did not return: hanging handlers were not ended")
	}
	for range n {
		if err := <-errc; err == nil {
			t.Error("FetchDocument succeeded against a hanging, closed server")
		}
	}
	if _, _, err := c.FetchDocument(t.Context(), appID, 0); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("FetchDocument after Close: %v, want connection refused", err)
	}
}

func TestFaultStatus(t *testing.T) {
	tests := []struct {
		name    string
		fault   updatertest.Fault
		docErr  func(error) bool
		dlErr   func(error) bool
		wantLog []int // statuses of the document and package requests
	}{
		{
			name:    "503 everywhere",
			fault:   updatertest.Fault{Kind: updatertest.FaultStatus, Status: 503},
			docErr:  func(err error) bool { return isStatus(err, 503) },
			dlErr:   func(err error) bool { return isStatus(err, 503) },
			wantLog: []int{503, 503},
		},
		{
			name:    "404 on packages reads as a static server's",
			fault:   updatertest.Fault{Kind: updatertest.FaultStatus, Status: 404, Path: "/apps/*/packages/*"},
			docErr:  func(err error) bool { return err == nil },
			dlErr:   func(err error) bool { return errors.Is(err, updater.ErrUnknownVersion) && isStatus(err, 404) },
			wantLog: []int{200, 404},
		},
		{
			name:    "500 on documents",
			fault:   updatertest.Fault{Kind: updatertest.FaultStatus, Status: 500, Path: "/apps/*/release.json"},
			docErr:  func(err error) bool { return isStatus(err, 500) },
			dlErr:   func(err error) bool { return err == nil },
			wantLog: []int{500, 200},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c, rel, _ := published(t)
			s.SetFault(tc.fault)
			if _, _, err := c.FetchDocument(t.Context(), appID, 0); !tc.docErr(err) {
				t.Errorf("FetchDocument: unexpected error %v", err)
			}
			if _, err := c.Download(t.Context(), rel, filepath.Join(t.TempDir(), "dl.mpk"), nil); !tc.dlErr(err) {
				t.Errorf("Download: unexpected error %v", err)
			}
			reqs := s.Requests()
			if len(reqs) != 2 || reqs[0].Status != tc.wantLog[0] || reqs[1].Status != tc.wantLog[1] {
				t.Errorf("Requests() = %+v, want statuses %v", reqs, tc.wantLog)
			}
		})
	}
}

func TestFaultTimesClearsItself(t *testing.T) {
	s, c, _, _ := published(t)
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultStatus, Status: 503, Path: "/apps/*/release.json", Times: 2})
	for i, want := range []int{503, 503, 0} {
		_, _, err := c.FetchDocument(t.Context(), appID, 0)
		if want == 0 && err != nil || want != 0 && !isStatus(err, want) {
			t.Errorf("fetch %d: %v, want status %d (0: success)", i, err, want)
		}
	}
	checkRequests(t, s, []summary{
		{Path: docPath, Status: 503, Bytes: -1, Fault: updatertest.FaultStatus},
		{Path: docPath, Status: 503, Bytes: -1, Fault: updatertest.FaultStatus},
		{Path: docPath, Status: 200, Bytes: -1},
	})
}

// Fault.Path narrows a fault to the requests whose URL path matches it:
// one kind of route, one app, one version.
func TestFaultPath(t *testing.T) {
	tests := []struct {
		path          string
		docErr, dlErr bool // whether the document fetch, the download fail
	}{
		{"", true, true},
		{"/apps/*/release.json", true, false},
		{"/apps/*/packages/*", false, true},
		{"/apps/*/patches/*/*", false, false},
		{"/apps/demo.hello/*", true, false},
		{"/apps/other.app/*", false, false},
		{"/apps/demo.hello/packages/1.0.0.mpk", false, true},
		{"/apps/demo.hello/packages/2.*", false, false},
	}
	s, c, rel, _ := published(t)
	for _, tc := range tests {
		name := tc.path
		if name == "" {
			name = "every public request"
		}
		t.Run(name, func(t *testing.T) {
			s.SetFault(updatertest.Fault{Kind: updatertest.FaultStatus, Status: 503, Path: tc.path})
			defer s.SetFault(updatertest.Fault{})
			if _, _, err := c.FetchDocument(t.Context(), appID, 0); (err != nil) != tc.docErr || err != nil && !isStatus(err, 503) {
				t.Errorf("FetchDocument: %v, want a 503: %t", err, tc.docErr)
			}
			_, err := c.Download(t.Context(), rel, filepath.Join(t.TempDir(), "dl.mpk"), nil)
			if (err != nil) != tc.dlErr || err != nil && !isStatus(err, 503) {
				t.Errorf("Download: %v, want a 503: %t", err, tc.dlErr)
			}
		})
	}
}

// Admin requests and unknown paths are never faulted, even by a Fault.Path
// that matches them.
func TestFaultSparesOtherRoutes(t *testing.T) {
	s, _, _, _ := published(t)
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	for path, want := range map[string]int{
		"/admin/apps/demo.hello/versions":         http.StatusForbidden, // the kit sets no admin token
		"/nowhere":                                http.StatusNotFound,
		"/apps/demo.hello/packages/1.0.0.mpk/x/y": http.StatusNotFound,
	} {
		for _, pattern := range []string{"", path} {
			s.SetFault(updatertest.Fault{Kind: updatertest.FaultStatus, Status: 503, Path: pattern})
			resp, err := hc.Get(s.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("GET %s under Fault.Path %q = %d, want %d", path, pattern, resp.StatusCode, want)
			}
		}
	}
}

// A body fault that applies once fails one download; the next one
// succeeds, resuming from what the failed one kept.
func TestFaultBodyOnce(t *testing.T) {
	tests := []struct {
		name    string
		fault   updatertest.Fault
		wantErr error
		kept    int64 // bytes the failed download leaves; 0: no file
	}{
		{name: "cut", fault: updatertest.Fault{Kind: updatertest.FaultCut, Path: "/apps/*/packages/*", After: 1000, Times: 1},
			wantErr: io.ErrUnexpectedEOF, kept: 1000},
		{name: "corrupt", fault: updatertest.Fault{Kind: updatertest.FaultCorrupt, Path: "/apps/*/packages/*", After: 100, Times: 1},
			wantErr: updater.ErrHashMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c, rel, data := published(t)
			s.SetFault(tc.fault)
			dst := filepath.Join(t.TempDir(), "dl.mpk")
			if _, err := c.Download(t.Context(), rel, dst, nil); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Download under the fault: %v, want %v", err, tc.wantErr)
			}
			fi, err := os.Stat(dst)
			if tc.kept == 0 && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("failed download left its file: %v", err)
			} else if tc.kept > 0 && (err != nil || fi.Size() != tc.kept) {
				t.Fatalf("partial file: %v, %v; want %d bytes kept", fi, err, tc.kept)
			}
			n, err := c.Download(t.Context(), rel, dst, nil)
			if err != nil {
				t.Fatalf("Download after the fault cleared itself: %v", err)
			}
			if n != rel.Size-tc.kept {
				t.Errorf("second Download transferred %d bytes, want %d", n, rel.Size-tc.kept)
			}
			checkFile(t, dst, data)
			first := summary{Path: pkgPath(rel), Status: 200, Bytes: rel.Size, Fault: tc.fault.Kind}
			second := summary{Path: pkgPath(rel), Status: 200, Bytes: rel.Size}
			if tc.kept > 0 {
				first.Bytes = tc.kept
				second.Range, second.Status, second.Bytes = "bytes="+strconv.FormatInt(tc.kept, 10)+"-", 206, rel.Size-tc.kept
			}
			checkRequests(t, s, []summary{first, second})
		})
	}
}

// A cut that stays on cuts every response, resumed ones included, After
// bytes into its body: the download advances After bytes per attempt.
func TestFaultCutEveryResponse(t *testing.T) {
	s, c, rel, data := published(t)
	after := rel.Size/3 + 1
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultCut, Path: "/apps/*/packages/*", After: after})
	dst := filepath.Join(t.TempDir(), "dl.mpk")
	var want []summary
	for i := int64(0); ; i++ {
		_, err := c.Download(t.Context(), rel, dst, nil)
		r := summary{Path: pkgPath(rel), Status: 200, Bytes: min(after, rel.Size-i*after), Fault: updatertest.FaultCut}
		if i > 0 {
			r.Range, r.Status = "bytes="+strconv.FormatInt(i*after, 10)+"-", 206
		}
		want = append(want, r)
		if err == nil {
			break
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) || i == 3 {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	checkFile(t, dst, data)
	checkRequests(t, s, want)
}

// A corrupt document fails its signature check.
func TestFaultCorruptDocument(t *testing.T) {
	s, c, _, _ := published(t)
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultCorrupt, Path: "/apps/*/release.json", After: 60})
	_, _, err := c.FetchDocument(t.Context(), appID, 0)
	if !errors.Is(err, updater.ErrBadSignature) && !errors.Is(err, updater.ErrUnsigned) {
		t.Errorf("FetchDocument of a corrupt document: %v, want a signature error", err)
	}
}

// The corrupt byte sits After bytes into a Range response's body: the
// resumed part is corrupt, so the client starts over and succeeds.
func TestFaultCorruptRange(t *testing.T) {
	s, c, rel, data := published(t)
	dst := filepath.Join(t.TempDir(), "dl.mpk")
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultCut, Path: "/apps/*/packages/*", After: 1000, Times: 1})
	if _, err := c.Download(t.Context(), rel, dst, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Download of a cut body: %v", err)
	}
	s.SetFault(updatertest.Fault{Kind: updatertest.FaultCorrupt, Path: "/apps/*/packages/*", After: 10, Times: 1})
	n, err := c.Download(t.Context(), rel, dst, nil)
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	if n != rel.Size-1000+rel.Size {
		t.Errorf("Download transferred %d bytes, want the resumed part and then the whole package", n)
	}
	checkFile(t, dst, data)
	checkRequests(t, s, []summary{
		{Path: pkgPath(rel), Status: 200, Bytes: 1000, Fault: updatertest.FaultCut},
		{Path: pkgPath(rel), Range: "bytes=1000-", Status: 206, Bytes: rel.Size - 1000, Fault: updatertest.FaultCorrupt},
		{Path: pkgPath(rel), Status: 200, Bytes: rel.Size},
	})
}

func TestFaultSlow(t *testing.T) {
	s, c, rel, data := published(t)

	t.Run("completes", func(t *testing.T) {
		s.ResetRequests()
		// A document of about 1 KB at 8 KB/s: many small steps.
		s.SetFault(updatertest.Fault{Kind: updatertest.FaultSlow, Path: "/apps/*/release.json", BytesPerSecond: 8 << 10})
		doc := fetch(t, c)
		if doc.Latest.Version != "1.0.0" {
			t.Errorf("latest = %s", doc.Latest.Version)
		}
		checkRequests(t, s, []summary{{Path: docPath, Status: 200, Bytes: -1, Fault: updatertest.FaultSlow}})
	})

	t.Run("times out", func(t *testing.T) {
		s.ResetRequests()
		// The package at 1 KB/s would take many minutes: the handler must
		// stop when the client gives up, or Close (at cleanup) would hang.
		s.SetFault(updatertest.Fault{Kind: updatertest.FaultSlow, Path: "/apps/*/packages/*", BytesPerSecond: 1 << 10})
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		dst := filepath.Join(t.TempDir(), "dl.mpk")
		if _, err := c.Download(ctx, rel, dst, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Download at 1 KB/s under a short context: %v, want context.DeadlineExceeded", err)
		}
		fi, err := os.Stat(dst)
		if err != nil || fi.Size() >= rel.Size {
			t.Fatalf("partial file: %v, %v", fi, err)
		}
		s.SetFault(updatertest.Fault{})
		if _, err := c.Download(t.Context(), rel, dst, nil); err != nil {
			t.Fatalf("resumed Download: %v", err)
		}
		checkFile(t, dst, data)
		reqs := s.Requests()
		if len(reqs) != 2 || reqs[0].Fault != updatertest.FaultSlow || reqs[0].Bytes >= rel.Size {
			t.Errorf("Requests() = %+v, want a slow, unfinished request, then the rest", reqs)
		}
	})
}

func TestWaitForRequests(t *testing.T) {
	s, c, _, _ := published(t)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := s.WaitForRequests(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForRequests with no requests: %v, want context.DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.WaitForRequests(t.Context(), 2) }()
	fetch(t, c)
	fetch(t, c)
	if err := <-done; err != nil {
		t.Errorf("WaitForRequests(2) after two fetches: %v", err)
	}
	s.ResetRequests()
	fetch(t, c)
	if err := s.WaitForRequests(t.Context(), 1); err != nil {
		t.Errorf("WaitForRequests(1) after a reset and a fetch: %v", err)
	}
}

func TestSetFaultRejectsMisfits(t *testing.T) {
	tests := []struct {
		name  string
		fault updatertest.Fault
		want  string
	}{
		{"status without code", updatertest.Fault{Kind: updatertest.FaultStatus}, "needs Fault.Status"},
		{"status out of range", updatertest.Fault{Kind: updatertest.FaultStatus, Status: 99}, "outside 200-599"},
		{"status on another kind", updatertest.Fault{Kind: updatertest.FaultHang, Status: 503}, "Fault.Status is for FaultStatus"},
		{"slow without rate", updatertest.Fault{Kind: updatertest.FaultSlow}, "needs Fault.BytesPerSecond"},
		{"negative after", updatertest.Fault{Kind: updatertest.FaultCut, After: -1}, "Fault.After -1 is negative"},
		{"after on another kind", updatertest.Fault{Kind: updatertest.FaultHang, After: 3}, "Fault.After is for"},
		{"negative times", updatertest.Fault{Kind: updatertest.FaultHang, Times: -1}, "Fault.Times -1"},
		{"refuse with path", updatertest.Fault{Kind: updatertest.FaultRefuse, Path: "/apps/*/packages/*"}, "Fault.Path and Fault.Times must be zero"},
		{"refuse with times", updatertest.Fault{Kind: updatertest.FaultRefuse, Times: 1}, "Fault.Path and Fault.Times must be zero"},
		{"none with path", updatertest.Fault{Path: "/apps/*/release.json"}, "FaultNone takes no Fault.Path"},
		{"unknown kind", updatertest.Fault{Kind: 42}, "Fault.Kind 42 is unknown"},
		{"bad path pattern", updatertest.Fault{Kind: updatertest.FaultHang, Path: "/apps/[a/release.json"}, `Fault.Path "/apps/[a/release.json" is not a path.Match pattern: syntax error in pattern`},
		{"relative path", updatertest.Fault{Kind: updatertest.FaultHang, Path: "apps/*/release.json"}, `Fault.Path "apps/*/release.json" does not start with "/"`},
	}
	s := updatertest.NewServer(t, updatertest.Config{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "updatertest: SetFault: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("SetFault(%+v) panicked with %q, want a message containing %q", tc.fault, msg, tc.want)
				}
			}()
			s.SetFault(tc.fault)
		})
	}
}

func TestFaultKindString(t *testing.T) {
	for k, want := range map[updatertest.FaultKind]string{
		updatertest.FaultNone: "none", updatertest.FaultCorrupt: "corrupt", 99: "FaultKind(99)",
	} {
		if got := k.String(); got != want {
			t.Errorf("FaultKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
