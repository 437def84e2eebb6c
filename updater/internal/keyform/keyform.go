// Package keyform holds what the client side (updater) and the release
// side (updater/release) both need to read key files: the bounded read of a
// key file, the public key decoder (which the release side also uses to
// tell a public key given for signing), the old bare-base64 private key
// forms (which one side refuses as public keys and the other converts), the
// sentinel errors both sides wrap and the error type they return.
// updater re-exports the sentinels and the public key prefix; the key file
// formats are described in updater/keyfile.go. Everything here is safe for
// concurrent use.
package keyform

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/minihost/minihost/runtime/mpk"
)

// PublicKeyPrefix starts a public key in the one-line public key file
// format (updater.PublicKeyPrefix).
const PublicKeyPrefix = "minihost-ed25519-public:"

// MaxFileSize bounds what is read of a key file (a key is well under
// 1 KiB; the bound only stops a mistaken path from being read whole).
const MaxFileSize = 64 << 10

// The errors of both sides' key functions (updater re-exports
// ErrInvalidKey and ErrWrongKind), wrapped in an *Error.
var (
	// ErrInvalidKey: the file or text is no key in a known format.
	ErrInvalidKey = errors.New("not a valid key")
	// ErrWrongKind: a private key where a public key is needed, or a
	// public key where a signing key is needed. PrivateGiven and
	// PublicGiven say which; errors.Is matches both to it.
	ErrWrongKind = errors.New("wrong kind of key")
	// PrivateGiven is a private key given where a public key is needed.
	PrivateGiven error = kindError("this is a private key")
	// PublicGiven is a public key given where a signing key is needed.
	PublicGiven error = kindError("this is a public key")
)

// kindError says which kind of key was given; it matches ErrWrongKind.
type kindError string

func (e kindError) Error() string      { return string(e) }
func (kindError) Is(target error) bool { return target == ErrWrongKind }

// notFound is the cause of a missing key file: it reads "file not found"
// (the message README.md documents) and matches fs.ErrNotExist.
type notFound struct{}

func (notFound) Error() string        { return "file not found" }
func (notFound) Is(target error) bool { return target == fs.ErrNotExist }

// Error reports a key file or key text that cannot be used as asked:
// "OP PATH: ERR; HINT", for example "load signing key release.key.pub: this
// is a public key; pass the private key file written by keygen
// (release.key)". errors.Is sees Err: ErrInvalidKey, PrivateGiven or
// PublicGiven (both ErrWrongKind), fs.ErrNotExist for a missing file, the
// release side's old-format and mismatch errors, or a read error. An Error
// is a plain value, safe to read from many goroutines.
type Error struct {
	Op   string // what was being done: "load signing key", "load public key", "parse public key", "convert key"
	Path string // the key file; "" for key text
	Err  error  // why
	Hint string // what to do instead, or ""
}

// Error names the operation and the file (never the key's text), then the
// cause and the hint.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("unusable key")
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ReadFile reads the key file at path, at most MaxFileSize bytes, for op. A
// named pipe in its place fails instead of blocking. Its errors are an
// *Error for op and path wrapping fs.ErrNotExist for a missing file,
// ErrInvalidKey for one over MaxFileSize, or the read error (without the
// path, which the Error names).
func ReadFile(op, path string) ([]byte, error) {
	data, err := readFile(path)
	switch pe := (*fs.PathError)(nil); {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		err = notFound{}
	case errors.As(err, &pe):
		err = pe.Err // the Error names the path
	}
	return nil, &Error{Op: op, Path: path, Err: err}
}

func readFile(path string) ([]byte, error) {
	f, err := mpk.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: too big for a key file: over %d bytes", ErrInvalidKey, MaxFileSize)
	}
	return data, nil
}

// ParsePublic parses a public key (the forms of updater/keyfile.go) and
// classifies what is not one: PrivateGiven or ErrInvalidKey (wrapped with
// details). Its errors never quote the data.
func ParsePublic(data []byte) (ed25519.PublicKey, error) {
	s := strings.TrimSpace(string(data))
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if rest, ok := strings.CutPrefix(s, PublicKeyPrefix); ok {
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: want %s and the standard base64 of %d bytes", ErrInvalidKey, PublicKeyPrefix, ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(raw), nil
	}
	if block, _ := pem.Decode(data); block != nil {
		switch {
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			return nil, PrivateGiven
		case block.Type == "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PEM \"PUBLIC KEY\" does not hold a PKIX key", ErrInvalidKey)
			}
			pub, ok := k.(ed25519.PublicKey)
			if !ok {
				return nil, fmt.Errorf("%w: PEM \"PUBLIC KEY\" holds a %T, want ed25519", ErrInvalidKey, k)
			}
			return pub, nil
		default:
			return nil, fmt.Errorf("%w: PEM block is %q, want \"PUBLIC KEY\"", ErrInvalidKey, block.Type)
		}
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: want %sBASE64, as minihost keygen writes to KEYFILE.pub", ErrInvalidKey, PublicKeyPrefix)
	}
	if len(raw) == ed25519.PublicKeySize {
		return ed25519.PublicKey(raw), nil
	}
	if _, ok := OldPrivateKey(raw); ok && len(raw) == ed25519.PrivateKeySize {
		return nil, PrivateGiven
	}
	return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(raw), ed25519.PublicKeySize)
}

// OldPrivateKey decodes the old private key forms: a 32-byte seed, or the
// 64-byte seed and public key (which must match).
func OldPrivateKey(raw []byte) (ed25519.PrivateKey, bool) {
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), true
	case ed25519.PrivateKeySize:
		key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		return key, bytes.Equal(key, raw)
	}
	return nil, false
}

// BareOldSeed returns the 32 bytes data holds when it is their bare
// standard base64: the one form that is both an old seed and a public key.
func BareOldSeed(data []byte) ([]byte, bool) {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	return raw, err == nil && len(raw) == ed25519.SeedSize
}
