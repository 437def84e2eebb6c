package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/safename"
	"github.com/minihost/minihost/updater/internal/wire"
)

// defaultAdminTimeout bounds one admin request of an adminClient that owns
// its HTTP client (an upload included).
const defaultAdminTimeout = 5 * time.Minute

// AdminClientConfig configures NewAdminClient, which copies it
// and fills its zero fields once. BaseURL and Token are required.
type AdminClientConfig struct {
	// BaseURL is the release server's root, e.g. "http://127.0.0.1:8700".
	BaseURL string
	// Token is the admin bearer token (the CLI reads MINIHOST_TOKEN).
	Token string
	// HTTPClient makes the requests; nil: one of its own with
	// a 5-minute timeout per request, an upload included (never
	// http.DefaultClient).
	HTTPClient *http.Client
}

// Admin is the admin API of a release server: publish, status, settings,
// revert. A *Server is one, in process; NewAdminClient returns one that
// drives a server over HTTP; a tool written against Admin runs against
// either. The two answer alike: the same checks, the same messages
// (naming the operation and the problem), and the same sentinel errors
// through errors.Is, this package's (ErrRuleViolation, ...) and the
// updater package's (ErrUnknownApp, ErrUnauthorized, ...). Over HTTP an
// error status is also an *updater.HTTPError (errors.As). An Admin is safe
// for concurrent use; its creator calls Close, after which it must not be
// used.
type Admin interface {
	// Publish reads a package from r and publishes it as appID's latest
	// version, rolled out to percent (0-100) of clients (100: fully
	// released; see Server.Publish). It returns the new release.
	Publish(ctx context.Context, appID string, r io.Reader, percent int) (*updater.Release, error)
	// Status returns a snapshot of appID's settings and published
	// versions, newest first.
	Status(ctx context.Context, appID string) (*AppStatus, error)
	// SetSettings changes appID's settings (nil fields stay) and returns
	// its new status.
	SetSettings(ctx context.Context, appID string, set Settings) (*AppStatus, error)
	// Revert makes version appID's latest, fully released, again and
	// returns its new status.
	Revert(ctx context.Context, appID, version string) (*AppStatus, error)
	// Close releases what the Admin holds: a Server closes (see
	// Server.Close); a client of NewAdminClient closes the idle
	// connections of its own HTTP client and returns nil at once.
	Close(ctx context.Context) error
}

var (
	_ Admin = (*Server)(nil)
	_ Admin = (*adminClient)(nil)
)

// adminClient is the Admin NewAdminClient returns.
type adminClient struct {
	cfg  AdminClientConfig
	base string
	own  bool
}

// NewAdminClient checks cfg and returns an Admin that drives the release
// server at cfg.BaseURL over HTTP. It makes no request; the caller calls
// Close.
func NewAdminClient(cfg AdminClientConfig) (Admin, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("new admin client: server URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.Token == "" {
		return nil, errors.New("new admin client: no admin token (set MINIHOST_TOKEN or pass --token)")
	}
	a := &adminClient{cfg: cfg, base: strings.TrimRight(cfg.BaseURL, "/")}
	if a.cfg.HTTPClient == nil {
		a.cfg.HTTPClient = wire.NewHTTPClient(defaultAdminTimeout)
		a.own = true
	}
	return a, nil
}

// Close closes idle connections of the client's own HTTP client (not of
// one passed in AdminClientConfig). It does not wait for anything, so it
// returns nil at once whatever ctx; requests in flight keep their own
// contexts. Close is idempotent.
func (a *adminClient) Close(ctx context.Context) error {
	if a.own {
		a.cfg.HTTPClient.CloseIdleConnections()
	}
	return nil
}

// Publish uploads a package (read from r): POST .../packages.
func (a *adminClient) Publish(ctx context.Context, appID string, r io.Reader, percent int) (*updater.Release, error) {
	var rel updater.Release
	q := ""
	if percent != 100 {
		q = "?rollout=" + strconv.Itoa(percent)
	}
	if err := a.do(ctx, http.MethodPost, appID, "packages"+q, r, &rel); err != nil {
		return nil, err
	}
	return &rel, nil
}

// Status is GET .../versions.
func (a *adminClient) Status(ctx context.Context, appID string) (*AppStatus, error) {
	return a.status(ctx, http.MethodGet, appID, "versions", nil)
}

// SetSettings is PATCH .../settings.
func (a *adminClient) SetSettings(ctx context.Context, appID string, set Settings) (*AppStatus, error) {
	return a.status(ctx, http.MethodPatch, appID, "settings", set)
}

// Revert is POST .../revert.
func (a *adminClient) Revert(ctx context.Context, appID, version string) (*AppStatus, error) {
	return a.status(ctx, http.MethodPost, appID, "revert", map[string]string{"version": version})
}

// status sends req as the JSON body (nil: none) and returns the AppStatus
// the server answers with.
func (a *adminClient) status(ctx context.Context, method, appID, rest string, req any) (*AppStatus, error) {
	var body io.Reader
	if req != nil {
		data, err := json.Marshal(req)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(data)
	}
	var st AppStatus
	if err := a.do(ctx, method, appID, rest, body, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (a *adminClient) do(ctx context.Context, method, appID, rest string, body io.Reader, out any) error {
	if err := safename.AppID(appID); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/admin/apps/"+appID+"/"+rest, body)
	if err != nil {
		return err
	}
	if st, ok := body.(interface{ Stat() (fs.FileInfo, error) }); ok && req.ContentLength == 0 {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			req.ContentLength = fi.Size()
		}
	}
	req.Header.Set("Authorization", "Bearer "+a.cfg.Token)
	req.Header.Set("Accept", "application/json")
	if method == http.MethodPatch || rest == "revert" {
		req.Header.Set("Content-Type", "application/json")
	} else if body != nil {
		req.Header.Set("Content-Type", "application/zip")
	}
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return newAdminError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, wire.MaxEnvelopeSize)).Decode(out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// newAdminError reads the body of a failed response (bounded) for the
// server's JSON error, if it sent one (wire.ErrorBody).
func newAdminError(resp *http.Response) error {
	e := &updater.HTTPError{Method: resp.Request.Method, URL: resp.Request.URL.Redacted(), StatusCode: resp.StatusCode}
	e.Message, e.Code = wire.ErrorBody(resp)
	return &adminError{http: e, sentinel: errorForCode(e.Code)}
}
