package release

import (
	"context"

	"github.com/minihost/minihost/runtime/mpk"
)

// Validator checks the code of an upload before the Server publishes it.
// The Server owns this interface and calls Validate once per upload, after
// its own checks passed (a zip within MaxPackageSize, a valid app.json
// whose app id is the URL's, every file readable, an entry that starts
// like WebAssembly) and before the package is stored. The CLI's
// implementation compiles the entry with the runtime and checks it speaks
// the guest ABI, so a module no host can run is never published; this
// package imports no runtime, so servers and tools choose theirs.
//
// Validate gets the app id, a copy of the manifest and the entry's bytes,
// which it must not keep or change. A non-nil error refuses the upload:
// the Server wraps it in ErrInvalidPackage (HTTP 400, with the error's
// message). When ctx ends, Validate should return soon; the Server then
// reports ctx's error instead. Validate is called from many goroutines at
// once (one per upload in progress) and must be safe for that.
type Validator interface {
	Validate(ctx context.Context, appID string, manifest mpk.Manifest, wasm []byte) error
}

// NoValidation returns the Validator that accepts every upload: set it as
// Config.Validator to skip the check on purpose, in tests and in tools
// that publish packages they built and checked themselves (like
// http.NotFoundHandler, it is a function, so the zero Config still has no
// Validator and New refuses it). It skips only the Validator's part: the
// Server still refuses what fails its own checks (see Validator), but it
// publishes a module no host can compile (not a reactor, not built with
// the guest SDK, unknown imports, over the runtime's table or section
// limits), and clients then fail on it at update time. The Validator
// holds nothing and is safe for concurrent use.
func NoValidation() Validator { return noValidation{} }

// noValidation is the Validator NoValidation returns.
type noValidation struct{}

// Validate accepts the upload: it returns nil without looking at it.
func (noValidation) Validate(context.Context, string, mpk.Manifest, []byte) error { return nil }
