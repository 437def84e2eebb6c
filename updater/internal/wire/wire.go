// Package wire holds what the client side (updater) and the release side
// (updater/release) share of the release API's wire format: the signed
// envelope of a release document and its size bound, the paths of a
// document and a package under the server root (or export folder), the
// JSON error body of a failed response, and the HTTP client both make for
// themselves. It keeps no state; everything in it is safe for concurrent
// use.
package wire

import (
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// Envelope is the wire format of a signed release document: the exact
// JSON bytes of the Document that were signed, the ed25519 signature over
// them, and the id of the key (updater.KeyID) so an operator can tell keys
// apart. encoding/json writes the byte slices as standard base64.
// updater.VerifyDocument reads it; sign.Document (updater/internal/sign)
// writes it. An
// Envelope is a plain value, not safe for concurrent mutation.
type Envelope struct {
	Signed    []byte `json:"signed"`
	Signature []byte `json:"signature"`
	KeyID     string `json:"keyId"`
}

// MaxErrorBody bounds what is read of a failed response's body.
const MaxErrorBody = 64 << 10

// ErrorBody reads the body of a failed response (at most MaxErrorBody
// bytes) for the server's JSON error: its "error" text and "code". When
// the body is no such JSON, message is the status text and code is "".
func ErrorBody(resp *http.Response) (message, code string) {
	var body struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		return body.Error, body.Code
	}
	return http.StatusText(resp.StatusCode), ""
}

// NewHTTPClient returns an http.Client with its own transport (cloned from
// the default one's settings, not shared, with a 30 s response header
// timeout) and an overall timeout (0: none; contexts bound each request).
func NewHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: t, Timeout: timeout}
}

// WaitHeader is the response header a release server sets on a document
// request it holds (?after=SEQ&wait=SECONDS, the push path); its value is
// the longest hold in seconds. A static export never sets it, which is how
// a client tells the two apart.
const WaitHeader = "Minihost-Wait"

// VersionHeader is the request header a client sends with a document
// fetch: the version of the app it runs now, and nothing that identifies
// the client. The release server counts fetches per running version
// (adoption); a missing or malformed value counts as unknown.
const VersionHeader = "Minihost-Running-Version"

// MaxEnvelopeSize bounds a signed release document envelope in bytes (1
// MiB); updater.VerifyDocument, updater.Client and the admin client refuse
// larger ones with mpk.ErrTooLarge.
const MaxEnvelopeSize = 1 << 20

// DocumentPath returns the path of an app's release document relative to
// the server root (or export folder): "apps/APPID/release.json".
func DocumentPath(appID string) string { return "apps/" + appID + "/release.json" }

// PackagePath returns the path of an app's package relative to the server
// root (or export folder): "apps/APPID/packages/VERSION.mpk".
func PackagePath(appID, version string) string {
	return "apps/" + appID + "/packages/" + version + ".mpk"
}
