// Package keyform holds what the client side (updater) and the release
// side (updater/release) both need to read key files: the bounded read of a
// key file and the old bare-base64 private key forms, which one side
// refuses as public keys and the other converts. Each side wraps the errors
// in its own terms.
package keyform

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/minihost/minihost/runtime/mpk"
)

// MaxFileSize bounds what is read of a key file (a key is well under
// 1 KiB; the bound only stops a mistaken path from being read whole).
const MaxFileSize = 64 << 10

// ErrTooBig is wrapped by ReadFile for a file over MaxFileSize.
var ErrTooBig = errors.New("too big for a key file")

// ReadFile reads the key file at path, at most MaxFileSize bytes. A named
// pipe in its place fails instead of blocking. Errors are those of opening
// and reading (fs.ErrNotExist for a missing file) or wrap ErrTooBig.
func ReadFile(path string) ([]byte, error) {
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
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooBig, MaxFileSize)
	}
	return data, nil
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
