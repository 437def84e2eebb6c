package release

import (
	"errors"
	"net/http"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
)

// Errors of the release server's admin operations (Admin), the same in
// process and over HTTP (as the JSON "code" of an error response, which
// NewAdminClient's Admin maps back); test with errors.Is. The server also answers with
// mpk.ErrTooLarge (413), updater.ErrUnknownApp and
// updater.ErrUnknownVersion (404) and updater.ErrUnauthorized (401, 403),
// which a Client of the updater package reads as well, and, once the
// Server is closed, http.ErrServerClosed (503). The sentinels are
// read-only values, safe for concurrent use.
var (
	// ErrInvalidPackage: the upload is not a valid package (not a zip, no
	// or a bad app.json, an entry that is not wasm, an app id other than the
	// URL's, or refused by the Config.Validator). HTTP 400.
	ErrInvalidPackage = errors.New("invalid package")
	// ErrInvalidArgument: a malformed app id, version, setting or request
	// body. HTTP 400.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrRuleViolation: well formed, but against a release rule (a version
	// not newer than every one published, a minimum version above the fully
	// released one, a revert target out of reach). HTTP 409.
	ErrRuleViolation = errors.New("release rule broken")
)

// errServerClosed: the Server was closed. It is http.ErrServerClosed for
// errors.Is (what net/http's Serve returns after Close too), with its own
// message. HTTP 503.
const errServerClosed = closedError("release server closed")

// closedError is an http.ErrServerClosed with its own message.
type closedError string

func (e closedError) Error() string      { return string(e) }
func (closedError) Is(target error) bool { return target == http.ErrServerClosed }

// apiErrors maps sentinel errors to HTTP statuses and JSON codes, first
// match wins. The codes of the updater package's sentinels are the ones
// its HTTPError.Unwrap maps back (a test holds the two tables together).
var apiErrors = []struct {
	err    error
	code   string
	status int
}{
	{mpk.ErrTooLarge, "too_big", http.StatusRequestEntityTooLarge},
	{ErrInvalidPackage, "invalid_package", http.StatusBadRequest},
	{ErrInvalidArgument, "invalid_argument", http.StatusBadRequest},
	{ErrRuleViolation, "rule_violation", http.StatusConflict},
	{updater.ErrUnknownApp, "unknown_app", http.StatusNotFound},
	{updater.ErrUnknownVersion, "unknown_version", http.StatusNotFound},
	{updater.ErrUnauthorized, "unauthorized", http.StatusUnauthorized},
	{errServerClosed, "server_closed", http.StatusServiceUnavailable},
}

// errorForCode returns the sentinel error for an API error code, or nil.
func errorForCode(code string) error {
	for _, e := range apiErrors {
		if e.code == code {
			return e.err
		}
	}
	return nil
}

// adminError is what an adminClient returns for an error status: the
// *updater.HTTPError (errors.As finds it; its message is the error's), and
// the sentinel of this package its code names, if any, so that errors.Is
// sees ErrRuleViolation and the others as well as the updater sentinels
// the HTTPError unwraps to.
type adminError struct {
	http     *updater.HTTPError
	sentinel error // nil when the code names none of this package's
}

func (e *adminError) Error() string { return e.http.Error() }

// Unwrap returns the HTTPError and the sentinel of its code.
func (e *adminError) Unwrap() []error {
	if e.sentinel == nil {
		return []error{e.http}
	}
	return []error{e.http, e.sentinel}
}
