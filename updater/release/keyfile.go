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
// Each side refuses the other kind by name: ErrPublicKeyGiven here where a
// signing key is needed, updater.ErrPrivateKeyGiven where a public key is.
// The old bare-base64 private form (the 32-byte seed, or seed and public
// key) is refused for signing with ErrOldKeyFormat: a base64 seed reads
// exactly like a bare public key, so a server given KEYFILE.pub used to
// sign with a key anyone holding the public file could derive.
// ConvertKeyFile (`minihost keygen --convert`) rewrites such a file as PEM.
// Errors are an *updater.KeyError. The functions keep no state and are safe
// for concurrent use (two ConvertKeyFile calls on one file race like any
// two writers of it).

// Errors of the signing key functions, wrapped in an *updater.KeyError
// beside the updater package's key errors (updater.ErrInvalidKey,
// updater.ErrKeyNotFound); test with errors.Is. They are read-only values,
// safe for concurrent use.
var (
	// ErrPublicKeyGiven: a public key was given where a signing key is
	// needed.
	ErrPublicKeyGiven = errors.New("this is a public key")
	// ErrOldKeyFormat: a signing key in the old bare-base64 form, which
	// cannot be told from a public key; ConvertKeyFile converts it.
	ErrOldKeyFormat = errors.New("old key format (bare base64), indistinguishable from a public key")
	// ErrKeyMismatch: a private key and the public key file beside it
	// (KEYFILE.pub) are not one key pair.
	ErrKeyMismatch = errors.New("private key does not match its public key file")
)

// EncodePrivateKey returns key as a PEM "PRIVATE KEY" (PKCS #8) block, the
// signing key file format.
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

// ParsePrivateKey parses a signing key: PEM "PRIVATE KEY" (see the key file
// formats above). It refuses a public key (ErrPublicKeyGiven) and the old
// bare-base64 form (ErrOldKeyFormat).
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	key, err := parsePrivate(data)
	if err != nil {
		return nil, &updater.KeyError{Op: "parse signing key", Err: err, Hint: signingKeyHint(err, "")}
	}
	return key, nil
}

// LoadPrivateKey reads a signing key file (PEM "PRIVATE KEY"). It refuses a
// public key file (ErrPublicKeyGiven), an old bare-base64 key
// (ErrOldKeyFormat, saying how to convert it) and a missing file
// (updater.ErrKeyNotFound, saying how to make one), all as a *updater.KeyError naming path.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	const op = "load signing key"
	data, err := readKeyFile(op, path)
	if err != nil {
		var ke *updater.KeyError
		if errors.As(err, &ke) && errors.Is(err, updater.ErrKeyNotFound) {
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
	if seed, ok := keyform.BareOldSeed(data); ok && errors.Is(err, ErrOldKeyFormat) && bareKeyIsPublic(path, seed) {
		err = ErrPublicKeyGiven
	}
	return nil, &updater.KeyError{Op: op, Path: path, Err: err, Hint: signingKeyHint(err, path)}
}

// bareKeyIsPublic tells, for a signing key file at path holding the bare
// base64 of 32 bytes, whether it is a public key rather than an old seed.
// It only picks the message: the file is refused for signing either way,
// because no content can prove it is secret.
//
// When path.pub holds the public key derived from the file, the file is
// taken for an old private key (ErrOldKeyFormat, with the conversion
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
	if data, err := readKeyFile("", path+".pub"); err == nil {
		if pub, err := parsePublic(data); err == nil {
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
	case errors.Is(err, ErrPublicKeyGiven):
		if base, ok := strings.CutSuffix(path, ".pub"); ok && base != "" {
			return "pass the private key file written by keygen (" + base + ")"
		}
		return "pass the private key file written by keygen"
	case errors.Is(err, ErrOldKeyFormat):
		if path == "" {
			return "convert its file with: minihost keygen --convert KEYFILE"
		}
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
// must hold the public key derived from path (else ErrKeyMismatch, and
// ErrPublicKeyGiven when it holds path's own value); when absent it is
// written (updater.EncodePublicKey). It refuses what is a public key
// (ErrPublicKeyGiven): a PEM or prefixed public key, a "*.pub" file, or a
// value that is the key of another public key file in the same folder. A
// file already in PEM is left alone (Converted false).
//
// Converting takes the file's value for a secret seed. If it was ever handed
// out (say it is a copy of a .pub file kept elsewhere), the key is not
// secret: make a new one with `minihost keygen -o` instead.
func ConvertKeyFile(path string) (ConvertedKey, error) {
	const op = "convert key"
	fail := func(err error, hint string) (ConvertedKey, error) {
		return ConvertedKey{}, &updater.KeyError{Op: op, Path: path, Err: err, Hint: hint}
	}
	data, err := readKeyFile(op, path)
	if err != nil {
		return ConvertedKey{}, err
	}
	if key, err := parsePrivate(data); err == nil {
		return ConvertedKey{Public: key.Public().(ed25519.PublicKey)}, nil
	} else if !errors.Is(err, ErrOldKeyFormat) {
		return fail(err, signingKeyHint(err, path))
	}
	raw, _ := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	key, _ := keyform.OldPrivateKey(raw) // parsePrivate said it is one
	pub := key.Public().(ed25519.PublicKey)
	if base, ok := strings.CutSuffix(path, ".pub"); ok {
		return fail(ErrPublicKeyGiven, "convert the private key file ("+base+"), not its .pub")
	}
	pubPath := path + ".pub"
	pubData, err := readKeyFile(op, pubPath)
	if err != nil && !errors.Is(err, updater.ErrKeyNotFound) {
		return ConvertedKey{}, err
	}
	pubExists := err == nil
	if pubExists {
		have, err := parsePublic(pubData)
		if err != nil {
			return ConvertedKey{}, &updater.KeyError{Op: op, Path: path, Err: fmt.Errorf("%s: %w", pubPath, err),
				Hint: "fix or remove " + pubPath + " first; it must hold this key's public key"}
		}
		if len(raw) == ed25519.SeedSize && have.Equal(ed25519.PublicKey(raw)) {
			return fail(ErrPublicKeyGiven, "it holds the same key as "+pubPath+"; pass the private key file written by keygen")
		}
		if !have.Equal(pub) {
			return fail(fmt.Errorf("%w: it derives key id %s, %s holds key id %s", ErrKeyMismatch, updater.KeyID(pub), pubPath, updater.KeyID(have)),
				"not converting; check which key your clients trust")
		}
	}
	if len(raw) == ed25519.SeedSize {
		if other := publicKeyFileHolding(filepath.Dir(path), ed25519.PublicKey(raw)); other != "" {
			return fail(ErrPublicKeyGiven, "it holds the same key as "+other+"; pass the private key file written by keygen")
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
		if data, err := readKeyFile("", p); err == nil {
			if have, err := parsePublic(data); err == nil && have.Equal(pub) {
				return p
			}
		}
	}
	return ""
}

// readKeyFile reads a key file (keyform.ReadFile); errors are a
// *updater.KeyError for op and path (updater.ErrKeyNotFound when it does not exist).
func readKeyFile(op, path string) ([]byte, error) {
	data, err := keyform.ReadFile(path)
	switch pe := (*fs.PathError)(nil); {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		err = updater.ErrKeyNotFound
	case errors.Is(err, keyform.ErrTooBig):
		err = fmt.Errorf("%w: %w", updater.ErrInvalidKey, err)
	case errors.As(err, &pe):
		err = pe.Err // the KeyError names the path
	}
	return nil, &updater.KeyError{Op: op, Path: path, Err: err}
}

// parsePrivate parses a signing key (PEM "PRIVATE KEY") and classifies what
// is not one: ErrPublicKeyGiven, ErrOldKeyFormat or updater.ErrInvalidKey.
// Its errors never quote the data.
func parsePrivate(data []byte) (ed25519.PrivateKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		switch {
		case block.Type == "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PEM \"PRIVATE KEY\" does not hold a PKCS #8 key", updater.ErrInvalidKey)
			}
			key, ok := k.(ed25519.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("%w: PEM \"PRIVATE KEY\" holds a %T, want ed25519", updater.ErrInvalidKey, k)
			}
			return key, nil
		case strings.HasSuffix(block.Type, "PUBLIC KEY"):
			return nil, ErrPublicKeyGiven
		default:
			return nil, fmt.Errorf("%w: PEM block is %q, want \"PRIVATE KEY\" (PKCS #8 ed25519, as minihost keygen writes)", updater.ErrInvalidKey, block.Type)
		}
	}
	if raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data))); err == nil {
		if _, ok := keyform.OldPrivateKey(raw); ok {
			return nil, ErrOldKeyFormat
		}
	}
	if _, err := parsePublic(data); err == nil {
		return nil, ErrPublicKeyGiven
	}
	return nil, fmt.Errorf("%w: want PEM \"PRIVATE KEY\", as minihost keygen writes", updater.ErrInvalidKey)
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

// parsePublic parses a public key as the updater package does
// (updater.ParsePublicKey) and returns its classified cause
// (updater.ErrPrivateKeyGiven, updater.ErrInvalidKey), not the KeyError
// around it, for the messages of this file.
func parsePublic(data []byte) (ed25519.PublicKey, error) {
	pub, err := updater.ParsePublicKey(string(data))
	if ke := (*updater.KeyError)(nil); errors.As(err, &ke) {
		return nil, ke.Err
	}
	return pub, err
}
