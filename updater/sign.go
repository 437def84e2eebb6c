package updater

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/spf13/afero"
)

// Errors VerifyDocument (and so Client.FetchDocument) wraps; test with
// errors.Is.
var (
	// ErrUnsigned: the envelope has no signed body or no signature.
	ErrUnsigned = errors.New("release document is unsigned")
	// ErrBadSignature: the signature does not verify with the given public
	// key (tampered, or signed by another key).
	ErrBadSignature = errors.New("release document signature is bad")
	// ErrWrongApp: a valid document, but for another app than asked for.
	ErrWrongApp = errors.New("release document is for another app")
	// ErrExpired: the document's expiresAt has passed (real clock).
	ErrExpired = errors.New("release document has expired")
	// ErrReplay: the document's sequence is below the last one verified.
	ErrReplay = errors.New("release document is older than one already seen")
)

// MaxEnvelopeSize bounds a signed release document envelope in bytes;
// VerifyDocument and the Client refuse larger ones with ErrTooBig.
const MaxEnvelopeSize = 1 << 20

// signedEnvelope is the wire format of a release document: the exact JSON
// bytes that were signed, the ed25519 signature over them, and the id of
// the key (KeyID) so an operator can tell keys apart. encoding/json writes
// the byte slices as standard base64.
type signedEnvelope struct {
	Signed    []byte `json:"signed"`
	Signature []byte `json:"signature"`
	KeyID     string `json:"keyId"`
}

// KeyID returns the short id of a public key: the hex of the first 8 bytes
// of sha256(pub). It names a key in envelopes and logs; it is not secret
// and proves nothing by itself.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// SignDocument encodes doc as JSON, signs those exact bytes with key and
// returns the envelope to serve. It does not check doc; it is safe for
// concurrent use.
func SignDocument(doc *Document, key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign release document: private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("sign release document: %w", err)
	}
	env := signedEnvelope{
		Signed:    body,
		Signature: ed25519.Sign(key, body),
		KeyID:     KeyID(key.Public().(ed25519.PublicKey)),
	}
	out, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("sign release document: %w", err)
	}
	return append(out, '\n'), nil
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
// Now set unless WaiveExpiry); the envelope is at most MaxEnvelopeSize
// (ErrTooBig) and has a body and signature (ErrUnsigned); the signature
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
	if len(envelope) > MaxEnvelopeSize {
		return wrap(fmt.Errorf("%w: envelope is %d bytes, limit %d", ErrTooBig, len(envelope), MaxEnvelopeSize))
	}
	var env signedEnvelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		return wrap(fmt.Errorf("%w: envelope is not JSON: %v", ErrUnsigned, err))
	}
	if len(env.Signed) == 0 || len(env.Signature) == 0 {
		return wrap(ErrUnsigned)
	}
	if !ed25519.Verify(pub, env.Signed, env.Signature) {
		if want := KeyID(pub); env.KeyID != "" && env.KeyID != want {
			return wrap(fmt.Errorf("%w: signed by key %s, want key %s", ErrBadSignature, env.KeyID, want))
		}
		return wrap(ErrBadSignature)
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

// Key files.
//
// A signing (private) key file is a PEM "PRIVATE KEY" block (PKCS #8), as
// EncodePrivateKey and `minihost keygen` write it and as `openssl genpkey
// -algorithm ed25519` does. Its first line, "-----BEGIN PRIVATE KEY-----",
// tells a person what it is, and no public key form looks like it.
//
// A public key file is one line: PublicKeyPrefix and the standard base64 of
// the 32-byte key ("minihost-ed25519-public:..."), as EncodePublicKey and
// `minihost keygen` write it to KEYFILE.pub. The verifying side also takes
// PEM "PUBLIC KEY" (PKIX, `openssl pkey -pubout`) and the bare base64 of the
// key, the form public keys were handed out in before the prefix.
//
// Each side refuses the other kind by name: ErrPublicKeyGiven where a
// signing key is needed, ErrPrivateKeyGiven where a public key is. The old
// bare-base64 private form (the 32-byte seed, or seed and public key) is
// refused for signing with ErrOldKeyFormat: a base64 seed reads exactly like
// a bare public key, so a server given KEYFILE.pub used to sign with a key
// anyone holding the public file could derive. ConvertKeyFile (`minihost
// keygen --convert`) rewrites such a file as PEM.

// PublicKeyPrefix starts a public key in the format EncodePublicKey writes.
const PublicKeyPrefix = "minihost-ed25519-public:"

// maxKeyFileSize bounds what is read of a key file (a key is well under
// 1 KiB), so that pointing a key flag at a package or /dev/zero fails fast.
const maxKeyFileSize = 64 << 10

// Errors of the key file functions, wrapped in a *KeyError; test with
// errors.Is.
var (
	// ErrPublicKeyGiven: a public key was given where a signing key is
	// needed.
	ErrPublicKeyGiven = errors.New("this is a public key")
	// ErrPrivateKeyGiven: a private key was given where a public key is
	// needed. The message never quotes the key.
	ErrPrivateKeyGiven = errors.New("this is a private key")
	// ErrOldKeyFormat: a signing key in the old bare-base64 form, which
	// cannot be told from a public key; ConvertKeyFile converts it.
	ErrOldKeyFormat = errors.New("old key format (bare base64), indistinguishable from a public key")
	// ErrKeyMismatch: a private key and the public key file beside it
	// (KEYFILE.pub) are not one key pair.
	ErrKeyMismatch = errors.New("private key does not match its public key file")
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
// (release.key)". errors.Is and errors.As see Err.
type KeyError struct {
	Op   string // what was being done: "load signing key", "load public key", "parse public key", "convert key"
	Path string // the key file; "" for key text
	Err  error  // why: ErrPublicKeyGiven, ErrPrivateKeyGiven, ErrOldKeyFormat, ErrKeyMismatch, ErrInvalidKey (wrapped with details), ErrKeyNotFound, or a read error
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

// Unwrap returns the cause, such as ErrPublicKeyGiven or ErrKeyNotFound.
func (e *KeyError) Unwrap() error { return e.Err }

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

// EncodePublicKey returns pub as one line, PublicKeyPrefix and standard
// base64: the public key file format, which ParsePublicKey and `minihost run
// --pubkey` accept as a file or as text.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePrivateKey parses a signing key: PEM "PRIVATE KEY" (see the key file
// formats above). It refuses a public key (ErrPublicKeyGiven) and the old
// bare-base64 form (ErrOldKeyFormat).
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	key, err := parsePrivate(data)
	if err != nil {
		return nil, &KeyError{Op: "parse signing key", Err: err, Hint: signingKeyHint(err, "")}
	}
	return key, nil
}

// LoadPrivateKey reads a signing key file (PEM "PRIVATE KEY"). It refuses a
// public key file (ErrPublicKeyGiven), an old bare-base64 key
// (ErrOldKeyFormat, saying how to convert it) and a missing file
// (ErrKeyNotFound, saying how to make one), all as a *KeyError naming path.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	const op = "load signing key"
	data, err := readKeyFile(op, path)
	if err != nil {
		var ke *KeyError
		if errors.As(err, &ke) && errors.Is(err, ErrKeyNotFound) {
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
	if seed, ok := bareOldSeed(data); ok && errors.Is(err, ErrOldKeyFormat) && bareKeyIsPublic(path, seed) {
		err = ErrPublicKeyGiven
	}
	return nil, &KeyError{Op: op, Path: path, Err: err, Hint: signingKeyHint(err, path)}
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
	if seed, ok := bareOldSeed(data); ok && err == nil {
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

// ConvertedKey is what ConvertKeyFile did.
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
// written (EncodePublicKey). It refuses what is a public key
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
		return ConvertedKey{}, &KeyError{Op: op, Path: path, Err: err, Hint: hint}
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
	key, _ := oldPrivateKey(raw) // parsePrivate said it is one
	pub := key.Public().(ed25519.PublicKey)
	if base, ok := strings.CutSuffix(path, ".pub"); ok {
		return fail(ErrPublicKeyGiven, "convert the private key file ("+base+"), not its .pub")
	}
	pubPath := path + ".pub"
	pubData, err := readKeyFile(op, pubPath)
	if err != nil && !errors.Is(err, ErrKeyNotFound) {
		return ConvertedKey{}, err
	}
	pubExists := err == nil
	if pubExists {
		have, err := parsePublic(pubData)
		if err != nil {
			return ConvertedKey{}, &KeyError{Op: op, Path: path, Err: fmt.Errorf("%s: %w", pubPath, err),
				Hint: "fix or remove " + pubPath + " first; it must hold this key's public key"}
		}
		if len(raw) == ed25519.SeedSize && have.Equal(ed25519.PublicKey(raw)) {
			return fail(ErrPublicKeyGiven, "it holds the same key as "+pubPath+"; pass the private key file written by keygen")
		}
		if !have.Equal(pub) {
			return fail(fmt.Errorf("%w: it derives key id %s, %s holds key id %s", ErrKeyMismatch, KeyID(pub), pubPath, KeyID(have)),
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
		if err := mpk.WriteFileAtomic(osfs, pubPath, []byte(EncodePublicKey(pub)+"\n"), 0o644); err != nil {
			return ConvertedKey{}, fmt.Errorf("convert key %s: %w", path, err)
		}
		res.WrotePublic = true
	}
	if err := mpk.WriteFileAtomic(osfs, path, pemKey, 0o600); err != nil {
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

// readKeyFile reads a key file of at most maxKeyFileSize bytes; errors are
// a *KeyError for op and path (ErrKeyNotFound when it does not exist).
func readKeyFile(op, path string) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		if errors.Is(err, fs.ErrNotExist) {
			err = ErrKeyNotFound
		} else if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err // the KeyError names the path
		}
		return nil, &KeyError{Op: op, Path: path, Err: err}
	}
	f, err := mpk.OpenRegular(path) // a named pipe would block the read
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return fail(err)
	}
	if len(data) > maxKeyFileSize {
		return fail(fmt.Errorf("%w: over %d bytes, too big for a key file", ErrInvalidKey, maxKeyFileSize))
	}
	return data, nil
}

// parsePrivate parses a signing key (PEM "PRIVATE KEY") and classifies what
// is not one: ErrPublicKeyGiven, ErrOldKeyFormat or ErrInvalidKey. Its
// errors never quote the data.
func parsePrivate(data []byte) (ed25519.PrivateKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		switch {
		case block.Type == "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PEM \"PRIVATE KEY\" does not hold a PKCS #8 key", ErrInvalidKey)
			}
			key, ok := k.(ed25519.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("%w: PEM \"PRIVATE KEY\" holds a %T, want ed25519", ErrInvalidKey, k)
			}
			return key, nil
		case strings.HasSuffix(block.Type, "PUBLIC KEY"):
			return nil, ErrPublicKeyGiven
		default:
			return nil, fmt.Errorf("%w: PEM block is %q, want \"PRIVATE KEY\" (PKCS #8 ed25519, as minihost keygen writes)", ErrInvalidKey, block.Type)
		}
	}
	if raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data))); err == nil {
		if _, ok := oldPrivateKey(raw); ok {
			return nil, ErrOldKeyFormat
		}
	}
	if _, err := parsePublic(data); err == nil {
		return nil, ErrPublicKeyGiven
	}
	return nil, fmt.Errorf("%w: want PEM \"PRIVATE KEY\", as minihost keygen writes", ErrInvalidKey)
}

// oldPrivateKey decodes the old private key forms: a 32-byte seed, or the
// 64-byte seed and public key (which must match).
func oldPrivateKey(raw []byte) (ed25519.PrivateKey, bool) {
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), true
	case ed25519.PrivateKeySize:
		key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		return key, bytes.Equal(key, raw)
	}
	return nil, false
}

// bareOldSeed returns the 32 bytes data holds when it is their bare
// standard base64: the one form that is both an old seed and a public key.
func bareOldSeed(data []byte) ([]byte, bool) {
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	return raw, err == nil && len(raw) == ed25519.SeedSize
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
	if _, ok := oldPrivateKey(raw); ok && len(raw) == ed25519.PrivateKeySize {
		return nil, ErrPrivateKeyGiven
	}
	return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidKey, len(raw), ed25519.PublicKeySize)
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
