package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/keyform"
)

// Signing key files.
//
// A signing (private) key file is a PEM "PRIVATE KEY" block (PKCS #8), as
// EncodePrivateKey and `minihost keygen` write it and as `openssl genpkey
// -algorithm ed25519` does. Its first line, "-----BEGIN PRIVATE KEY-----",
// tells a person what it is, and no public key form looks like it. The
// public key file beside it (KEYFILE.pub) is the updater package's format
// (updater.EncodePublicKey), which clients read.
//
// Each side refuses the other kind by name ("this is a public key" here
// where a signing key is needed, "this is a private key" where a public key
// is), both wrapping updater.ErrWrongKeyKind. The old bare-base64 private
// form (the 32-byte seed, or seed and public key) is refused for signing
// as "old key format" (updater.ErrInvalidKey): a base64 seed reads
// exactly like a bare public key, so a server given KEYFILE.pub used to
// sign with a key anyone holding the public file could derive.
// ConvertKeyFile (`minihost keygen --convert`) rewrites such a file as PEM.
// A missing file wraps fs.ErrNotExist. The functions keep no state and are
// safe for concurrent use (two ConvertKeyFile calls on one file race like
// any two writers of it).

// Errors only the signing key functions return, beside the updater
// package's key errors (updater.ErrWrongKeyKind, updater.ErrInvalidKey).
// Each is an updater.ErrInvalidKey for errors.Is, with its own message.
const (
	// errOldKeyFormat: a signing key in the old bare-base64 form, which
	// cannot be told from a public key; ConvertKeyFile converts it.
	errOldKeyFormat = invalidKey("old key format (bare base64), indistinguishable from a public key")
	// errKeyMismatch: a private key and the public key file beside it
	// (KEYFILE.pub) are not one key pair.
	errKeyMismatch = invalidKey("private key does not match its public key file")
)

// invalidKey is a signing key error that is an updater.ErrInvalidKey.
type invalidKey string

func (e invalidKey) Error() string      { return string(e) }
func (invalidKey) Is(target error) bool { return target == keyform.ErrInvalidKey }

// EncodePrivateKey returns key as a PEM "PRIVATE KEY" (PKCS #8) block, the
// signing key file format. It is a pure function.
func EncodePrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("encode private key: %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// LoadPrivateKey reads a signing key file (PEM "PRIVATE KEY"). It refuses a
// public key file (updater.ErrWrongKeyKind), an old bare-base64 key
// (updater.ErrInvalidKey, saying how to convert it) and a missing file
// (fs.ErrNotExist, saying how to make one), all in an error naming path.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	const op = "load signing key"
	data, err := keyform.ReadFile(op, path)
	if err != nil {
		var ke *keyform.Error
		if errors.As(err, &ke) && errors.Is(err, fs.ErrNotExist) {
			if base, ok := strings.CutSuffix(path, ".pub"); ok && base != "" {
				ke.Hint = "pass the private key file written by keygen (" + base + "), not a .pub file"
			} else {
				ke.Hint = "make one with: minihost keygen -o " + shellQuote(path)
			}
		}
		return nil, err
	}
	key, err := parsePrivate(data)
	if err == nil {
		return key, nil
	}
	if seed, ok := keyform.BareOldSeed(data); ok && errors.Is(err, errOldKeyFormat) && bareKeyIsPublic(path, seed) {
		err = keyform.PublicGiven
	}
	return nil, &keyform.Error{Op: op, Path: path, Err: err, Hint: signingKeyHint(err, path)}
}

// bareKeyIsPublic tells, for a signing key file at path holding the bare
// base64 of 32 bytes, whether it is a public key rather than an old seed.
// It only picks the message: the file is refused for signing either way,
// because no content can prove it is secret.
//
// When path.pub holds the public key derived from the file, the file is
// taken for an old private key (errOldKeyFormat, with the conversion
// command). For a public key to sit beside the key derived from it, someone
// must have used that public key as a seed, which is the mistake the formats
// exist to stop; even then path.pub is the key clients trust and the file
// the only way to sign for it, so converting it keeps those clients working.
// Whether its text was ever handed out no file can tell, which is why
// `keygen --convert` asks the operator to check. When path.pub holds the
// file's own key, the file is a copy of a public key. Otherwise the name
// and the folder tell: a "*.pub" file, or one holding the key of a "*.pub"
// file beside it, is a public key.
func bareKeyIsPublic(path string, seed []byte) bool {
	if data, err := keyform.ReadFile("", path+".pub"); err == nil {
		if pub, err := keyform.ParsePublic(data); err == nil {
			if pub.Equal(ed25519.NewKeyFromSeed(seed).Public()) {
				return false
			}
			if pub.Equal(ed25519.PublicKey(seed)) {
				return true
			}
		}
	}
	return strings.HasSuffix(path, ".pub") || publicKeyFileHolding(filepath.Dir(path), ed25519.PublicKey(seed)) != ""
}

// signingKeyHint says what to pass instead of a refused signing key.
func signingKeyHint(err error, path string) string {
	switch {
	case errors.Is(err, keyform.PublicGiven):
		if base, ok := strings.CutSuffix(path, ".pub"); ok && base != "" {
			return "pass the private key file written by keygen (" + base + ")"
		}
		return "pass the private key file written by keygen"
	case errors.Is(err, errOldKeyFormat):
		return "convert it with: minihost keygen --convert " + shellQuote(path)
	}
	return ""
}

// ConvertedKey is what ConvertKeyFile did; a plain value.
type ConvertedKey struct {
	Public      ed25519.PublicKey // the key pair's public key
	Converted   bool              // false: the file was already PEM and is unchanged
	WrotePublic bool              // KEYFILE.pub was missing and has been written
}

// ConvertKeyFile rewrites path, a signing key in the old bare-base64 form,
// as PEM "PRIVATE KEY" with mode 0600, atomically (temporary file, fsync,
// rename, fsync of the folder). Before, it checks path.pub: when present it
// must hold the public key derived from path (else updater.ErrInvalidKey,
// saying the two do not match, and updater.ErrWrongKeyKind when it holds
// path's own value); when absent it is written (updater.EncodePublicKey).
// It refuses what is a public key (updater.ErrWrongKeyKind): a PEM or
// prefixed public key, a "*.pub" file, or a value that is the key of
// another public key file in the same folder. A file already in PEM is
// left alone (Converted false).
//
// Converting takes the file's value for a secret seed. If it was ever handed
// out (say it is a copy of a .pub file kept elsewhere), the key is not
// secret: make a new one with `minihost keygen -o` instead.
func ConvertKeyFile(path string) (ConvertedKey, error) {
	const op = "convert key"
	fail := func(err error, hint string) (ConvertedKey, error) {
		return ConvertedKey{}, &keyform.Error{Op: op, Path: path, Err: err, Hint: hint}
	}
	data, err := keyform.ReadFile(op, path)
	if err != nil {
		return ConvertedKey{}, err
	}
	if key, err := parsePrivate(data); err == nil {
		return ConvertedKey{Public: key.Public().(ed25519.PublicKey)}, nil
	} else if !errors.Is(err, errOldKeyFormat) {
		return fail(err, signingKeyHint(err, path))
	}
	raw, _ := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	key, _ := keyform.OldPrivateKey(raw) // parsePrivate said it is one
	pub := key.Public().(ed25519.PublicKey)
	if base, ok := strings.CutSuffix(path, ".pub"); ok {
		return fail(keyform.PublicGiven, "convert the private key file ("+base+"), not its .pub")
	}
	pubPath := path + ".pub"
	pubData, err := keyform.ReadFile(op, pubPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return ConvertedKey{}, err
	}
	pubExists := err == nil
	if pubExists {
		have, err := keyform.ParsePublic(pubData)
		if err != nil {
			return ConvertedKey{}, &keyform.Error{Op: op, Path: path, Err: fmt.Errorf("%s: %w", pubPath, err),
				Hint: "fix or remove " + pubPath + " first; it must hold this key's public key"}
		}
		if len(raw) == ed25519.SeedSize && have.Equal(ed25519.PublicKey(raw)) {
			return fail(keyform.PublicGiven, "it holds the same key as "+pubPath+"; pass the private key file written by keygen")
		}
		if !have.Equal(pub) {
			return fail(fmt.Errorf("%w: it derives key id %s, %s holds key id %s", errKeyMismatch, updater.KeyID(pub), pubPath, updater.KeyID(have)),
				"not converting; check which key your clients trust")
		}
	}
	if len(raw) == ed25519.SeedSize {
		if other := publicKeyFileHolding(filepath.Dir(path), ed25519.PublicKey(raw)); other != "" {
			return fail(keyform.PublicGiven, "it holds the same key as "+other+"; pass the private key file written by keygen")
		}
	}
	pemKey, err := EncodePrivateKey(key)
	if err != nil {
		return ConvertedKey{}, fmt.Errorf("convert key %s: %w", path, err)
	}
	osfs := afero.NewOsFs()
	res := ConvertedKey{Public: pub, Converted: true}
	if !pubExists {
		if err := fsutil.WriteFile(osfs, pubPath, []byte(updater.EncodePublicKey(pub)+"\n"), 0o644); err != nil {
			return ConvertedKey{}, fmt.Errorf("convert key %s: %w", path, err)
		}
		res.WrotePublic = true
	}
	if err := fsutil.WriteFile(osfs, path, pemKey, 0o600); err != nil {
		return ConvertedKey{}, fmt.Errorf("convert key %s: %w", path, err)
	}
	return res, nil
}

// publicKeyFileHolding returns a "*.pub" file in dir that holds pub, or "".
func publicKeyFileHolding(dir string, pub ed25519.PublicKey) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pub") || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if data, err := keyform.ReadFile("", p); err == nil {
			if have, err := keyform.ParsePublic(data); err == nil && have.Equal(pub) {
				return p
			}
		}
	}
	return ""
}

// parsePrivate parses a signing key (PEM "PRIVATE KEY") and classifies what
// is not one: keyform.PublicGiven, errOldKeyFormat or keyform.ErrInvalidKey.
// Its errors never quote the data.
func parsePrivate(data []byte) (ed25519.PrivateKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		switch {
		case block.Type == "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PEM \"PRIVATE KEY\" does not hold a PKCS #8 key", keyform.ErrInvalidKey)
			}
			key, ok := k.(ed25519.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("%w: PEM \"PRIVATE KEY\" holds a %T, want ed25519", keyform.ErrInvalidKey, k)
			}
			return key, nil
		case strings.HasSuffix(block.Type, "PUBLIC KEY"):
			return nil, keyform.PublicGiven
		default:
			return nil, fmt.Errorf("%w: PEM block is %q, want \"PRIVATE KEY\" (PKCS #8 ed25519, as minihost keygen writes)", keyform.ErrInvalidKey, block.Type)
		}
	}
	if raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data))); err == nil {
		if _, ok := keyform.OldPrivateKey(raw); ok {
			return nil, errOldKeyFormat
		}
	}
	if _, err := keyform.ParsePublic(data); err == nil {
		return nil, keyform.PublicGiven
	}
	return nil, fmt.Errorf("%w: want PEM \"PRIVATE KEY\", as minihost keygen writes", keyform.ErrInvalidKey)
}

// shellQuote quotes path for a command line in a message when it needs it.
func shellQuote(path string) string {
	if path != "" && strings.IndexFunc(path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@+,=", r))
	}) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}
