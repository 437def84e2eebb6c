package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/release"
)

// The release side's pieces the commands share: the runtime's upload
// check (serve, publish, demo, dev) and an in-process release server on
// loopback (demo, dev).

// runtimeValidator is the runtime's check of an upload for the release
// side: it compiles the entry as a host would, checks that it speaks the
// guest ABI, and instantiates it once so that its start function and
// _initialize run under the host's limits and call deadline
// (runtime.Engine.Validate). A module that cannot run (not a reactor, not
// built with the SDK, wrong imports, over the table limits, trapping or
// looping in its start code) is never published. Verdicts are cached by the
// module's sha256 (a bounded cache), except timeouts and cancellations,
// which say more about the moment than the module. It owns its Engine,
// whose compile cache it shares with every Engine on the same cache folder.
// Close it after the last Validate. It is safe for concurrent use.
type runtimeValidator struct {
	eng *runtime.Engine

	mu       sync.Mutex
	verdicts map[[sha256.Size]byte]error
}

var _ release.Validator = (*runtimeValidator)(nil)

// maxVerdicts bounds the validator's cache.
const maxVerdicts = 256

// newRuntimeValidator starts an Engine with cfg for validating uploads.
func newRuntimeValidator(cfg runtime.Config) (*runtimeValidator, error) {
	eng, err := runtime.NewEngine(cfg)
	if err != nil {
		return nil, err
	}
	return &runtimeValidator{eng: eng, verdicts: map[[sha256.Size]byte]error{}}, nil
}

// Validate checks wasm, the entry of appID's package (see
// runtimeValidator); no callback runs.
func (v *runtimeValidator) Validate(ctx context.Context, appID string, m mpk.Manifest, wasm []byte) error {
	if m.Runtime == mpk.RuntimeJS {
		// JavaScript runs on the base library, which is validated as its
		// own package; the package checks (bounds, UTF-8 entry) are all
		// there is without linking a JS engine into the CLI.
		return nil
	}
	key := sha256.Sum256(wasm)
	v.mu.Lock()
	verdict, ok := v.verdicts[key]
	v.mu.Unlock()
	if ok {
		return verdict
	}
	err := v.eng.Validate(ctx, appID, wasm)
	if errors.Is(err, runtime.ErrTimeout) || ctx.Err() != nil {
		return err
	}
	v.mu.Lock()
	if len(v.verdicts) >= maxVerdicts {
		clear(v.verdicts)
	}
	v.verdicts[key] = err
	v.mu.Unlock()
	return err
}

// Close closes the Engine.
func (v *runtimeValidator) Close(ctx context.Context) error { return v.eng.Close(ctx) }

// closeTimeout bounds closing the pieces above when a command ends.
const closeTimeout = 10 * time.Second

// readHeaderTimeout bounds reading a request's headers on a localServer,
// as release.Server.Serve does on its own listener.
const readHeaderTimeout = 10 * time.Second

// localServer is a release server for demo and dev: the real
// release.Server, with a fresh signing key and its data folder in dir,
// checking uploads with the runtime and serving on a loopback port until
// close. The commands publish through its Go API; hosts reach it at URL.
// It is used from one goroutine, its HTTP side from many.
type localServer struct {
	// URL is the base URL for hosts, "http://127.0.0.1:PORT".
	URL string
	// PublicKey verifies the server's release documents.
	PublicKey ed25519.PublicKey

	srv  *release.Server
	val  *runtimeValidator
	hs   *http.Server
	done chan struct{} // closed when hs.Serve returned
}

// startLocalServer starts a localServer with its data in dir; wrap, if
// set, wraps the server's handler (dev's broken downloads). Logs at warn
// and above go to log.
func startLocalServer(dir string, log *slog.Logger, wrap func(http.Handler) http.Handler) (*localServer, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("start release server: generate key: %w", err)
	}
	val, err := newRuntimeValidator(runtime.Config{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start release server: %w", err)
	}
	srv, err := release.New(release.Config{DataDir: dir, Key: key, Validator: val, Logger: log})
	if err != nil {
		return nil, errors.Join(err, closeWithin(val.Close))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start release server: %w", err), closeWithin(srv.Close), closeWithin(val.Close))
	}
	h := srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	s := &localServer{
		URL: "http://" + ln.Addr().String(), PublicKey: pub, srv: srv, val: val, done: make(chan struct{}),
		hs: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: readHeaderTimeout,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
	go func() {
		defer close(s.done)
		_ = s.hs.Serve(ln) // ErrServerClosed after close
	}()
	return s, nil
}

// publishFile publishes the package file at path as its app's latest
// version, fully released.
func (s *localServer) publishFile(ctx context.Context, path string) error {
	p, err := mpk.OpenFile(path, mpk.Limits{})
	if err != nil {
		return err
	}
	appID := p.Manifest.AppID
	p.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.srv.Publish(ctx, appID, f, 100)
	return err
}

// close stops serving (requests in flight get closeTimeout to finish),
// then closes the release server and the validator.
func (s *localServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := s.hs.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.hs.Close())
	}
	<-s.done
	return errors.Join(err, s.srv.Close(ctx), s.val.Close(ctx))
}

// closeWithin calls close with a context bounded by closeTimeout.
func closeWithin(close func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	return close(ctx)
}

// corruptPackages wraps a release server's handler so that, while on is
// set, the byte at body offset 64 of every package and delta patch
// response (of the range, for a Range response) is flipped: a download the
// client's sha256 check refuses, for dev --simulate-update fail (a good
// patch would install the update the package cannot). Documents pass
// unchanged.
func corruptPackages(h http.Handler, on *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/apps/")
		if !on.Load() || !ok || !strings.Contains(rest, "/packages/") && !strings.Contains(rest, "/patches/") {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&corruptWriter{ResponseWriter: w, at: 64}, r)
	})
}

// corruptWriter flips the body byte at offset at as it goes through.
type corruptWriter struct {
	http.ResponseWriter
	at, n int64 // the offset to flip; body bytes written so far
}

func (c *corruptWriter) Write(p []byte) (int, error) {
	if off := c.at - c.n; off >= 0 && off < int64(len(p)) {
		p = bytes.Clone(p)
		p[off] ^= 0xff
	}
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}
