package updater

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
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
// only the release side signs. This side refuses one by name where a
// public key is needed (ErrPrivateKeyGiven), as the release side refuses a
// public key where a signing key is needed; the old bare-base64 private
// form (the 32-byte seed, or seed and public key) is recognized here only
// to be refused. The errors of both sides are a *KeyError.

// PublicKeyPrefix starts a public key in the format EncodePublicKey writes.
const PublicKeyPrefix = "minihost-ed25519-public:"

// Errors of the key file functions of both sides (this package's and the
// release package's), wrapped in a *KeyError; test with errors.Is. The
// release package adds the errors only signing needs (ErrPublicKeyGiven,
// ErrOldKeyFormat, ErrKeyMismatch). They are read-only values, safe for
// concurrent use.
var (
	// ErrPrivateKeyGiven: a private key was given where a public key is
	// needed. The message never quotes the key.
	ErrPrivateKeyGiven = errors.New("this is a private key")
	// ErrInvalidKey: the file or text is no key in a known format.
	ErrInvalidKey = errors.New("not a valid key")
	// ErrKeyNotFound: the key file does not exist. errors.Is(err,
	// fs.ErrNotExist) holds as well.
	ErrKeyNotFound error = keyNotFound{}
)

type keyNotFound struct{}

func (keyNotFound) Error() string        { return "file not found" }
func (keyNotFound) Is(target error) bool { return target == fs.ErrNotExist }

// KeyError reports a key file or key text that cannot be used as asked:
// "OP PATH: ERR; HINT", for example "load signing key release.key.pub: this
// is a public key; pass the private key file written by keygen
// (release.key)". errors.Is and errors.As see Err. The release package
// returns it too, for signing keys. A KeyError is a plain value, safe to
// read from many goroutines.
type KeyError struct {
	Op   string // what was being done: "load signing key", "load public key", "parse public key", "convert key"
	Path string // the key file; "" for key text
	Err  error  // why: ErrPrivateKeyGiven, ErrInvalidKey (wrapped with details), ErrKeyNotFound, release.ErrPublicKeyGiven, release.ErrOldKeyFormat, release.ErrKeyMismatch, or a read error
	Hint string // what to do instead, or ""
}

// Error names the operation and the file (never the key's text), then the
// cause and the hint.
func (e *KeyError) Error() string {
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

// Unwrap returns the cause, such as ErrPrivateKeyGiven or ErrKeyNotFound.
func (e *KeyError) Unwrap() error { return e.Err }

// EncodePublicKey returns pub as one line, PublicKeyPrefix and standard
// base64: the public key file format, which ParsePublicKey and `minihost run
// --pubkey` accept as a file or as text.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey parses a public key given as text: the line EncodePublicKey
// writes, the bare base64 of the 32-byte key (standard or URL alphabet,
// padded or not) or PEM "PUBLIC KEY". It refuses a private key
// (ErrPrivateKeyGiven) without quoting it.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	pub, err := parsePublic([]byte(s))
	if err != nil {
		return nil, &KeyError{Op: "parse public key", Err: err, Hint: publicKeyHint(err, "")}
	}
	return pub, nil
}

// LoadPublicKey reads a public key file (any form ParsePublicKey takes). It
// refuses a private key file (ErrPrivateKeyGiven), including an old
// bare-base64 seed whose derived public key is in path.pub, and a missing
// file (ErrKeyNotFound), as a *KeyError naming path.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	const op = "load public key"
	data, err := readKeyFile(op, path)
	if err != nil {
		return nil, err
	}
	pub, err := parsePublic(data)
	if seed, ok := keyform.BareOldSeed(data); ok && err == nil {
		// A bare 32-byte value is a public key unless path.pub holds the
		// key derived from it: then it is that key's old-format seed.
		if data, rerr := readKeyFile("", path+".pub"); rerr == nil {
			if p, perr := parsePublic(data); perr == nil && p.Equal(ed25519.NewKeyFromSeed(seed).Public()) {
				err = ErrPrivateKeyGiven
			}
		}
	}
	if err != nil {
		return nil, &KeyError{Op: op, Path: path, Err: err, Hint: publicKeyHint(err, path)}
	}
	return pub, nil
}

// publicKeyHint says what to pass instead of a refused public key.
func publicKeyHint(err error, path string) string {
	if !errors.Is(err, ErrPrivateKeyGiven) {
		return ""
	}
	if path == "" || strings.HasSuffix(path, ".pub") {
		return "pass the public key written by keygen to KEYFILE.pub"
	}
	return "pass the public key file written by keygen (" + path + ".pub)"
}

// readKeyFile reads a key file (keyform.ReadFile); errors are a
// *KeyError for op and path (ErrKeyNotFound when it does not exist).
func readKeyFile(op, path string) ([]byte, error) {
	data, err := keyform.ReadFile(path)
	switch pe := (*fs.PathError)(nil); {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		err = ErrKeyNotFound
	case errors.Is(err, keyform.ErrTooBig):
		err = fmt.Errorf("%w: %w", ErrInvalidKey, err)
	case errors.As(err, &pe):
		err = pe.Err // the KeyError names the path
	}
	return nil, &KeyError{Op: op, Path: path, Err: err}
}

// parsePublic parses a public key (see the key file formats above) and
// classifies what is not one: ErrPrivateKeyGiven or ErrInvalidKey. Its
// errors never quote the data.
func parsePublic(data []byte) (ed25519.PublicKey, error) {
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
			return nil, ErrPrivateKeyGiven
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
	if _, ok := keyform.OldPrivateKey(raw); ok && len(raw) == ed25519.PrivateKeySize {
		return nil, ErrPrivateKeyGiven
	}
	return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(raw), ed25519.PublicKeySize)
}
