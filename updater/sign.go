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
	"os"
	"strings"
	"time"
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

// VerifyDocument checks a signed release document envelope offline and
// returns the document it carries. In order: the envelope is at most
// MaxEnvelopeSize (ErrTooBig) and has a body and signature (ErrUnsigned);
// the signature verifies with pub over the raw signed bytes, before they
// are parsed (ErrBadSignature); the document is well formed
// (ErrInvalidDocument), is for appID (ErrWrongApp), has not expired at now
// (ErrExpired) and has a sequence of at least lastSeq (ErrReplay).
//
// A zero now skips the expiry check and a zero lastSeq the replay check:
// the local store uses that to re-verify a saved envelope whose expiry no
// longer matters (a minimum version is kept even after it expires).
func VerifyDocument(envelope []byte, pub ed25519.PublicKey, appID string, lastSeq uint64, now time.Time) (*Document, error) {
	wrap := func(err error) (*Document, error) {
		return nil, fmt.Errorf("verify release document of %q: %w", appID, err)
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
	if !now.IsZero() && !now.Before(doc.ExpiresAt) {
		return wrap(fmt.Errorf("%w: expired at %s, now %s", ErrExpired,
			doc.ExpiresAt.Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	}
	if doc.Sequence < lastSeq {
		return wrap(fmt.Errorf("%w: sequence %d, already saw %d", ErrReplay, doc.Sequence, lastSeq))
	}
	return &doc, nil
}

// Key files. A private key file holds PEM "PRIVATE KEY" (PKCS #8, as
// written by EncodePrivateKey and by `openssl genpkey -algorithm ed25519`)
// or the base64 of the 32-byte ed25519 seed. A public key file holds the
// base64 of the 32-byte key (EncodePublicKey) or PEM "PUBLIC KEY" (PKIX).

// EncodePrivateKey returns key as a PEM "PRIVATE KEY" (PKCS #8) block.
func EncodePrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EncodePublicKey returns pub as one line of standard base64, the form
// ParsePublicKey and `minihost run --pubkey` accept.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// ParsePrivateKey parses a private key file's contents (see the key file
// formats above).
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("parse private key: PEM block is %q, want \"PRIVATE KEY\"", block.Type)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse private key: %w", err)
		}
		key, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("parse private key: key is %T, want ed25519", k)
		}
		return key, nil
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil {
		return nil, errors.New("parse private key: neither PEM nor base64")
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if !bytes.Equal(key, raw) {
			return nil, errors.New("parse private key: public half does not match the seed")
		}
		return key, nil
	}
	return nil, fmt.Errorf("parse private key: %d bytes, want a %d-byte seed", len(raw), ed25519.SeedSize)
}

// LoadPrivateKey reads and parses a private key file.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// ParsePublicKey parses a public key given as base64 text of the 32-byte
// key (standard or URL alphabet, padded or not) or as PEM "PUBLIC KEY".
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	if block, _ := pem.Decode([]byte(s)); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("parse public key: PEM block is %q, want \"PUBLIC KEY\"", block.Type)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("parse public key: key is %T, want ed25519", k)
		}
		return pub, nil
	}
	s = strings.TrimSpace(s)
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("parse public key: neither base64 nor PEM")
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("parse public key: %d bytes, want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// LoadPublicKey reads and parses a public key file.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load public key: %w", err)
	}
	pub, err := ParsePublicKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}
