package updater

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/wire"
)

// Errors VerifyDocument (and so Client.FetchDocument) wraps; test with
// errors.Is.
var (
	// ErrUnsigned: the envelope has no signed body or no signature.
	ErrUnsigned = errors.New("release document is unsigned")
	// ErrBadSignature: the signature does not verify with the given public
	// key (tampered, or signed by another key). The error's text tells
	// the two apart by the envelope's keyId, and so does Hint.
	ErrBadSignature = errors.New("release document signature is bad")
	// ErrWrongApp: a valid document, but for another app than asked for.
	ErrWrongApp = errors.New("release document is for another app")
	// ErrExpired: the document's expiresAt has passed (real clock).
	ErrExpired = errors.New("release document has expired")
	// ErrReplay: the document's sequence is below the last one verified.
	ErrReplay = errors.New("release document is older than one already seen")
)

// signatureError is the ErrBadSignature VerifyDocument returns, with what
// the envelope's keyId says of the cause, for Hint. The keyId is not
// signed, so it is a clue, not proof: an envelope naming another key than
// the client's was most likely signed by that key (the client holds the
// wrong public key); one naming the client's own key was most likely
// altered or corrupted after it was signed (the server signs with the key
// whose id it writes); one naming no key could be either.
type signatureError struct {
	named string // the envelope's keyId, "" when it has none
	want  string // KeyID of the public key verified with
}

func (e *signatureError) Error() string {
	switch e.named {
	case "":
		return ErrBadSignature.Error() + ": the envelope names no key id"
	case e.want:
		return ErrBadSignature.Error() + ": it names key " + e.want + ", the key this host verifies with, so its signed body was altered or corrupted after signing"
	}
	return ErrBadSignature.Error() + ": signed by key " + e.named + ", want key " + e.want
}

func (e *signatureError) Unwrap() error { return ErrBadSignature }

// KeyID returns the short id of a public key: the hex of the first 8 bytes
// of sha256(pub). It names a key in envelopes and logs; it is not secret
// and proves nothing by itself. It is a pure function, safe for concurrent
// use.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// VerifyOptions says what VerifyDocument checks besides the signature.
// Every check is on unless explicitly waived: a zero field never turns a
// check off silently (a zero Now without WaiveExpiry is an error). A
// VerifyOptions is a plain value, safe to copy and to share between
// goroutines.
type VerifyOptions struct {
	// AppID is the app the document must be for (ErrWrongApp). Required.
	AppID string
	// MinSequence is the lowest sequence accepted (ErrReplay): the highest
	// one verified before. 0 means none seen yet, so every sequence passes;
	// the check is still on.
	MinSequence uint64
	// Now is the real time the document must not have expired at
	// (ErrExpired). Required unless WaiveExpiry.
	Now time.Time
	// WaiveExpiry skips the expiry check, for a saved document whose
	// settings (its minimum version) keep counting after it expires. Now
	// is then ignored.
	WaiveExpiry bool
	// WaiveReplay skips the replay check, for the saved document that is
	// itself the replay reference. MinSequence is then ignored.
	WaiveReplay bool
}

// VerifyDocument checks a signed release document envelope offline and
// returns the document it carries. In order: opts is complete (AppID set,
// Now set unless WaiveExpiry); the envelope is at most 1 MiB
// (mpk.ErrTooLarge) and has a body and signature (ErrUnsigned); the signature
// verifies with pub over the raw signed bytes, before they are parsed
// (ErrBadSignature); the document is well formed (ErrInvalidDocument), is
// for opts.AppID (ErrWrongApp), has not expired at opts.Now (ErrExpired,
// unless WaiveExpiry) and has a sequence of at least opts.MinSequence
// (ErrReplay, unless WaiveReplay).
//
// The local store re-verifies the saved envelope with both waivers: its
// expiry no longer matters (a minimum version is kept even after it
// expires) and it is the replay reference itself. VerifyDocument is a
// pure function, safe for concurrent use.
func VerifyDocument(envelope []byte, pub ed25519.PublicKey, opts VerifyOptions) (*Document, error) {
	if opts.AppID == "" {
		return nil, errors.New("verify release document: VerifyOptions.AppID is empty")
	}
	appID, now := opts.AppID, opts.Now
	wrap := func(err error) (*Document, error) {
		return nil, fmt.Errorf("verify release document of %q: %w", appID, err)
	}
	if !opts.WaiveExpiry && now.IsZero() {
		return wrap(errors.New("VerifyOptions.Now is zero: set it, or set WaiveExpiry to skip the expiry check"))
	}
	if len(pub) != ed25519.PublicKeySize {
		return wrap(fmt.Errorf("public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize))
	}
	if len(envelope) > wire.MaxEnvelopeSize {
		return wrap(fmt.Errorf("%w: envelope is %d bytes, limit %d", mpk.ErrTooLarge, len(envelope), wire.MaxEnvelopeSize))
	}
	var env wire.Envelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return wrap(fmt.Errorf("%w: envelope is not JSON: %v", ErrUnsigned, err))
	}
	if len(env.Signed) == 0 || len(env.Signature) == 0 {
		return wrap(ErrUnsigned)
	}
	if !ed25519.Verify(pub, env.Signed, env.Signature) {
		return wrap(&signatureError{named: env.KeyID, want: KeyID(pub)})
	}
	var doc Document
	if err := json.Unmarshal(env.Signed, &doc); err != nil {
		return wrap(fmt.Errorf("%w: %v", ErrInvalidDocument, err))
	}
	if doc.AppID != appID {
		return wrap(fmt.Errorf("%w: document names %q", ErrWrongApp, doc.AppID))
	}
	if err := doc.check(); err != nil {
		return wrap(err)
	}
	if !opts.WaiveExpiry && !now.Before(doc.ExpiresAt) {
		return wrap(fmt.Errorf("%w: expired at %s, now %s", ErrExpired,
			doc.ExpiresAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	if !opts.WaiveReplay && doc.Sequence < opts.MinSequence {
		return wrap(fmt.Errorf("%w: sequence %d, already saw %d", ErrReplay, doc.Sequence, opts.MinSequence))
	}
	return &doc, nil
}
