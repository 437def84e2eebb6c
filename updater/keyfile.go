package updater

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/minihost/minihost/updater/internal/keyform"
)

// Key files.
//
// A public key file is one line: PublicKeyPrefix and the standard base64 of
// the 32-byte key ("minihost-ed25519-public:..."), as EncodePublicKey and
// `minihost keygen` write it to KEYFILE.pub. The verifying side also takes
// PEM "PUBLIC KEY" (PKIX, `openssl pkey -pubout`) and the bare base64 of the
// key, the form public keys were handed out in before the prefix.
//
// A signing (private) key file is a PEM "PRIVATE KEY" block (PKCS #8); the
// release package reads and writes those (release.LoadPrivateKey), since
// only the release side signs. Each side refuses the other kind by name
// ("this is a private key", "this is a public key"), both wrapping
// ErrWrongKeyKind; the old bare-base64 private form (the 32-byte seed, or
// seed and public key) is recognized here only to be refused. The key
// decoding both sides share is in updater/internal/keyform.

// PublicKeyPrefix starts a public key in the format EncodePublicKey writes.
const PublicKeyPrefix = keyform.PublicKeyPrefix

// Errors of the key file functions of both sides (this package's and the
// release package's); test with errors.Is. A missing key file wraps
// fs.ErrNotExist. The release package's own signing key errors (an old
// key format, a key pair that does not match) are ErrInvalidKey. Every
// message names the operation and the file, never the key's text, and
// says what to pass instead where it can. They are read-only values, safe for concurrent use.
var (
	// ErrWrongKeyKind: a private key was given where a public key is
	// needed, or a public key where a signing key is needed; the message
	// says which.
	ErrWrongKeyKind = keyform.ErrWrongKind
	// ErrInvalidKey: the file or text is no key in a known format.
	ErrInvalidKey = keyform.ErrInvalidKey
)

// EncodePublicKey returns pub as one line, PublicKeyPrefix and standard
// base64: the public key file format, which ParsePublicKey and `minihost run
// --pubkey` accept as a file or as text. It is a pure function.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey parses a public key given as text: the line EncodePublicKey
// writes, the bare base64 of the 32-byte key (standard or URL alphabet,
// padded or not) or PEM "PUBLIC KEY". It refuses a private key
// (ErrWrongKeyKind) without quoting it. It is a pure function.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	pub, err := keyform.ParsePublic([]byte(s))
	if err != nil {
		return nil, &keyform.Error{Op: "parse public key", Err: err, Hint: publicKeyHint(err, "")}
	}
	return pub, nil
}

// LoadPublicKey reads a public key file (any form ParsePublicKey takes). It
// refuses a private key file (ErrWrongKeyKind), including an old
// bare-base64 seed whose derived public key is in path.pub, and a missing
// file (fs.ErrNotExist), in an error naming path. It keeps no state and is
// safe for concurrent use.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	const op = "load public key"
	data, err := keyform.ReadFile(op, path)
	if err != nil {
		return nil, err
	}
	pub, err := keyform.ParsePublic(data)
	if seed, ok := keyform.BareOldSeed(data); ok && err == nil {
		// A bare 32-byte value is a public key unless path.pub holds the
		// key derived from it: then it is that key's old-format seed.
		if data, rerr := keyform.ReadFile("", path+".pub"); rerr == nil {
			if p, perr := keyform.ParsePublic(data); perr == nil && p.Equal(ed25519.NewKeyFromSeed(seed).Public()) {
				err = keyform.PrivateGiven
			}
		}
	}
	if err != nil {
		return nil, &keyform.Error{Op: op, Path: path, Err: err, Hint: publicKeyHint(err, path)}
	}
	return pub, nil
}

// publicKeyHint says what to pass instead of a refused public key.
func publicKeyHint(err error, path string) string {
	if !errors.Is(err, keyform.PrivateGiven) {
		return ""
	}
	if path == "" || strings.HasSuffix(path, ".pub") {
		return "pass the public key written by keygen to KEYFILE.pub"
	}
	return "pass the public key file written by keygen (" + path + ".pub)"
}
