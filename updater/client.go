package updater

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
	"github.com/minihost/minihost/updater/internal/wire"
)

// ErrHashMismatch is wrapped by the Client (Download) and the Store
// (InstallRelease, Install) when a package's sha256 is not the one the
// signed release document gives. Besides it and the errors of
// VerifyDocument, a package or document over its size limit wraps
// mpk.ErrTooLarge, the one size-limit sentinel of mpk, updater and
// updater/release. Test with errors.Is; it is a read-only value.
var ErrHashMismatch = errors.New("package sha256 does not match the release document")

// ClientConfig configures a Client. Only BaseURL and PublicKey are required.
type ClientConfig struct {
	// BaseURL is the root of the release server or static export, for
	// example "https://releases.example.com/" or "http://127.0.0.1:8700".
	BaseURL string
	// PublicKey verifies release documents. The client is given it (by the
	// embedder, from a file or flag); it never fetches it from the server it
	// checks.
	PublicKey ed25519.PublicKey
	// HTTPClient makes the requests; nil: a client of its own (never
	// http.DefaultClient). Deadlines come from the contexts passed in.
	HTTPClient *http.Client
	// Now is the real clock against which documents expire; nil: time.Now.
	Now func() time.Time
	// Fs is where Download writes; nil: the OS file system.
	Fs afero.Fs
	// MaxPackageSize refuses releases larger than this (mpk.ErrTooLarge);
	// 0: mpk.Limits' default, 64 MiB.
	MaxPackageSize int64
	// RunningVersion, if set, returns the version of appID this client
	// runs now ("" for none). Document fetches send it (and nothing that
	// identifies the client) so a release server can count adoption. It
	// is called on the fetching goroutine and must be goroutine-safe.
	RunningVersion func(appID string) string
}

// Client fetches and verifies release documents and downloads packages
// from a release server or a static export. It is safe for concurrent use
// by many goroutines; Close releases its idle connections.
type Client struct {
	cfg  ClientConfig
	base string // BaseURL without trailing slash
	own  bool   // cfg.HTTPClient was made here
}

// NewClient checks cfg, fills in defaults and returns a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("new client: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if len(cfg.PublicKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("new client: public key is %d bytes, want %d", len(cfg.PublicKey), ed25519.PublicKeySize)
	}
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/")}
	if c.cfg.HTTPClient == nil {
		c.cfg.HTTPClient = wire.NewHTTPClient(0)
		c.own = true
	}
	if c.cfg.Now == nil {
		c.cfg.Now = time.Now
	}
	if c.cfg.Fs == nil {
		c.cfg.Fs = afero.NewOsFs()
	}
	if c.cfg.MaxPackageSize <= 0 {
		c.cfg.MaxPackageSize = mpk.Limits{}.WithDefaults().MaxPackageSize
	}
	return c, nil
}

// Close closes idle connections of the client's own HTTP client (not of
// one passed in ClientConfig); it does not block, and its error is always
// nil. The Client must not be used afterwards.
func (c *Client) Close(ctx context.Context) error {
	if c.own {
		c.cfg.HTTPClient.CloseIdleConnections()
	}
	return nil
}

// HTTPError is an unexpected HTTP status from a release server, its admin
// API or a static export. Unwrap maps it to this package's sentinel errors
// where one fits (ErrUnknownApp for a 404, ErrUnauthorized for a 401, ...);
// the release package's admin client adds its own (release.ErrRuleViolation).
type HTTPError struct {
	Method     string
	URL        string
	StatusCode int
	// Message is the server's JSON "error" text, or the status text.
	Message string
	// Code is the server's JSON "code" (see the admin API), if any.
	Code string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, e.Message)
}

// Unwrap returns the sentinel error matching e's code or status, or nil.
// (A bare 404 from a static server maps to nothing here; FetchDocument and
// Download add ErrUnknownApp or ErrUnknownVersion.)
func (e *HTTPError) Unwrap() error {
	if err := errorForCode(e.Code); err != nil {
		return err
	}
	switch e.StatusCode {
	case http.StatusRequestEntityTooLarge:
		return mpk.ErrTooLarge
	case http.StatusUnauthorized, http.StatusForbidden:
		return ErrUnauthorized
	}
	return nil
}

// newHTTPError reads the body of a failed response (bounded) for the
// server's JSON error, if it sent one (wire.ErrorBody).
func newHTTPError(resp *http.Response) error {
	e := &HTTPError{Method: resp.Request.Method, URL: resp.Request.URL.Redacted(), StatusCode: resp.StatusCode}
	e.Message, e.Code = wire.ErrorBody(resp)
	return e
}

// notFound wraps a 404 without an API code in sentinel, so a static
// server's plain 404 reads as the server's would.
func notFound(err error, sentinel error) error {
	var he *HTTPError
	if errors.As(err, &he) && he.StatusCode == http.StatusNotFound && he.Code == "" {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	return err
}

// documentURL returns the URL of appID's release document.
func (c *Client) documentURL(appID string) string {
	return c.base + "/" + wire.DocumentPath(appID)
}

// FetchDocument fetches appID's release document and verifies it (see
// VerifyDocument) against the configured public key, the real clock (Now)
// and lastSeq, the highest sequence verified before (0 for none). It
// returns the document and the raw envelope, which a store keeps to
// re-verify later. A 404 wraps ErrUnknownApp.
func (c *Client) FetchDocument(ctx context.Context, appID string, lastSeq uint64) (*Document, []byte, error) {
	doc, env, _, err := c.fetchDocument(ctx, appID, lastSeq, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch release document: %w", err)
	}
	return doc, env, nil
}

// WaitDocument is FetchDocument on the push path: the release server holds
// the request until appID's sequence is above lastSeq or wait (at most the
// server's own bound, an hour by default) passes, and then answers with
// the current document, which may be lastSeq's again: one request that
// stands for every poll it replaces. ctx bounds the whole
// request, so give it more than wait. A server that does not hold
// requests (a static export, or a server at its limit of held requests)
// answers at once: then the error wraps ErrNoPush, with no document, and
// the caller polls instead. Safe for concurrent use.
func (c *Client) WaitDocument(ctx context.Context, appID string, lastSeq uint64, wait time.Duration) (*Document, []byte, error) {
	secs := max(1, int64(wait/time.Second))
	doc, env, pushed, err := c.fetchDocument(ctx, appID, lastSeq, secs)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("wait for release document: %w", err)
	case !pushed && doc.Sequence <= lastSeq:
		return nil, nil, fmt.Errorf("wait for release document: %w", ErrNoPush)
	}
	return doc, env, nil
}

// ErrNoPush is wrapped by WaitDocument when the server answered a held
// request at once, with nothing new: it does not push, and polling is the
// way to learn of releases. It is a read-only value.
var ErrNoPush = errors.New("release server does not hold document requests")

// fetchDocument gets and verifies appID's document; with waitSecs > 0 it
// asks the server to hold the request, and pushed tells whether the server
// was ready to.
func (c *Client) fetchDocument(ctx context.Context, appID string, lastSeq uint64, waitSecs int64) (doc *Document, env []byte, pushed bool, err error) {
	if err := safename.AppID(appID); err != nil {
		return nil, nil, false, err
	}
	u := c.documentURL(appID)
	if waitSecs > 0 {
		u += "?after=" + strconv.FormatUint(lastSeq, 10) + "&wait=" + strconv.FormatInt(waitSecs, 10)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, false, err
	}
	req.Header.Set("Accept", "application/json")
	// Ask caches on the way to revalidate: a stale copy could be expired.
	req.Header.Set("Cache-Control", "no-cache")
	if c.cfg.RunningVersion != nil {
		if v := c.cfg.RunningVersion(appID); v != "" {
			req.Header.Set(wire.VersionHeader, v)
		}
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, false, notFound(newHTTPError(resp), ErrUnknownApp)
	}
	env, err = io.ReadAll(io.LimitReader(resp.Body, wire.MaxEnvelopeSize+1))
	if err != nil {
		return nil, nil, false, err
	}
	if len(env) > wire.MaxEnvelopeSize {
		return nil, nil, false, fmt.Errorf("%w: over %d bytes", mpk.ErrTooLarge, wire.MaxEnvelopeSize)
	}
	env = bytes.TrimLeft(env, "\n") // a held answer starts with heartbeat newlines
	doc, err = VerifyDocument(env, c.cfg.PublicKey, VerifyOptions{AppID: appID, MinSequence: lastSeq, Now: c.cfg.Now()})
	if err != nil {
		return nil, nil, false, err
	}
	return doc, env, resp.Header.Get(wire.WaitHeader) != "", nil
}

// Download fetches rel's package into the file at path (in ClientConfig.Fs)
// and returns how many bytes it transferred. It reads at most rel.Size
// bytes, whatever the server sends, and checks the sha256 against rel's.
//
// A file already at path is taken as a partial download of the same
// release: Download hashes what is there and asks for the rest with a Range
// request (a server that ignores Range and sends the whole file is fine
// too). On a network error or a short body the partial file stays for the
// next call to resume; on a hash mismatch the file is removed (after one
// retry from scratch if the bad bytes may have come from an earlier
// partial) and the error wraps ErrHashMismatch. On success the file holds
// exactly the package, synced; the caller moves it into place.
//
// progress, if not nil, is called on Download's goroutine as bytes arrive,
// with the bytes of the package on disk so far and rel.Size; it must not
// block for long. Download is safe for concurrent use, with different
// paths.
func (c *Client) Download(ctx context.Context, rel *Release, path string, progress func(done, total int64)) (int64, error) {
	if rel == nil {
		return 0, errors.New("download package: no release")
	}
	if _, err := rel.check(); err != nil {
		return 0, fmt.Errorf("download package: %w: %v", ErrInvalidDocument, err)
	}
	if rel.Size > c.cfg.MaxPackageSize {
		return 0, fmt.Errorf("download package %s: %w: %d bytes, limit %d", rel.Version, mpk.ErrTooLarge, rel.Size, c.cfg.MaxPackageSize)
	}
	n, resumed, err := c.download(ctx, rel, path, true, progress)
	if errors.Is(err, ErrHashMismatch) && resumed {
		var m int64
		m, _, err = c.download(ctx, rel, path, false, progress)
		n += m
	}
	return n, err
}

// download does one attempt; resumed reports whether it kept bytes that
// were in the file before it started.
func (c *Client) download(ctx context.Context, rel *Release, path string, resume bool, progress func(done, total int64)) (n int64, resumed bool, err error) {
	fail := func(err error) (int64, bool, error) {
		return n, resumed, fmt.Errorf("download package %s: %w", rel.Version, err)
	}
	f, err := c.cfg.Fs.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fail(err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			n, resumed, err = fail(cerr)
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	offset := fi.Size()
	if !resume || offset > rel.Size {
		offset = 0
	}
	h := sha256.New()
	if offset > 0 {
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, offset)); err != nil {
			return fail(err)
		}
		resumed = true
	}
	if err := f.Truncate(offset); err != nil {
		return fail(err)
	}
	if offset < rel.Size {
		n, offset, err = c.fetchRange(ctx, rel, f, h, offset, progress)
		if err != nil {
			if offset == 0 {
				resumed = false
			}
			// Keep what arrived for the next attempt to resume.
			_ = f.Sync()
			return fail(err)
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != rel.SHA256 {
		_ = f.Close()
		_ = c.cfg.Fs.Remove(path)
		return fail(fmt.Errorf("%w: got %s, want %s", ErrHashMismatch, got, rel.SHA256))
	}
	return n, resumed, nil
}

// fetchRange requests rel's bytes from offset and appends them to f and h,
// reporting them to progress if it is not nil. It returns the bytes
// transferred and the offset it actually started at (0 when the server
// answered a Range request with the whole file).
func (c *Client) fetchRange(ctx context.Context, rel *Release, f afero.File, h io.Writer, offset int64, progress func(done, total int64)) (int64, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/"+rel.Path, nil)
	if err != nil {
		return 0, offset, err
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, offset, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		if start, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || start != offset {
			return 0, offset, fmt.Errorf("server answered range from %d with %q", offset, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusOK:
		if offset > 0 { // Range ignored: start over.
			if err := f.Truncate(0); err != nil {
				return 0, offset, err
			}
			if r, ok := h.(interface{ Reset() }); ok {
				r.Reset()
			}
			offset = 0
		}
	default:
		return 0, offset, notFound(newHTTPError(resp), ErrUnknownVersion)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, offset, err
	}
	var out io.Writer = f
	if offset == 0 { // WriteBehind counts from offset 0
		out = fsutil.WriteBehind(f)
	}
	w := io.MultiWriter(out, h)
	if progress != nil {
		w = &progressWriter{w: w, done: offset, total: rel.Size, fn: progress}
	}
	// Never read past the signed size, whatever the server sends.
	n, err := io.Copy(w, io.LimitReader(resp.Body, rel.Size-offset))
	if err != nil {
		return n, offset, err
	}
	if offset+n < rel.Size {
		return n, offset, fmt.Errorf("%w: got %d of %d bytes", io.ErrUnexpectedEOF, offset+n, rel.Size)
	}
	return n, offset, nil
}

// contentRangeStart parses the first byte position of "bytes a-b/n".
func contentRangeStart(s string) (int64, bool) {
	s, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}

// progressWriter passes writes to w and reports the running total (from
// done, the bytes already on disk) to fn after each.
type progressWriter struct {
	w           io.Writer
	done, total int64
	fn          func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	p.fn(p.done, p.total)
	return n, err
}
