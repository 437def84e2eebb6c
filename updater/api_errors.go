package updater

import (
	"errors"

	"github.com/minihost/minihost/runtime/mpk"
)

// Errors a release server answers with that a Client acts on, over HTTP as
// the JSON "code" of an error response (which HTTPError.Unwrap maps back)
// or as a plain status; test with errors.Is. The release package's server
// returns them from its Go methods too, beside its own admin errors. They
// are read-only values, safe for concurrent use.
var (
	// ErrUnknownApp: no version of the app was ever published. HTTP 404.
	ErrUnknownApp = errors.New("unknown app")
	// ErrUnknownVersion: the app has no such version. HTTP 404.
	ErrUnknownVersion = errors.New("unknown version")
	// ErrUnauthorized: a missing or wrong admin token, or no admin token
	// configured at all. HTTP 401 or 403.
	ErrUnauthorized = errors.New("unauthorized")
)

// apiCodes are the release API's error codes this package's sentinels
// answer to; the release package's server writes them (with its own codes
// for its admin errors).
var apiCodes = map[string]error{
	"too_big":         mpk.ErrTooLarge,
	"unknown_app":     ErrUnknownApp,
	"unknown_version": ErrUnknownVersion,
	"unauthorized":    ErrUnauthorized,
}

// errorForCode returns the sentinel error for an API error code, or nil.
func errorForCode(code string) error { return apiCodes[code] }
