// Package sign signs release documents: the one signer behind the release
// server (updater/release's Server and Export) and the updater package's
// tests, which verify what it writes. It keeps no state; its function is
// safe for concurrent use.
package sign

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/wire"
)

// Document encodes doc as JSON, signs those exact bytes with key and
// returns the envelope (wire.Envelope) to serve, which
// updater.VerifyDocument reads. It does not check doc.
func Document(doc *updater.Document, key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("sign release document: private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("sign release document: %w", err)
	}
	env := wire.Envelope{
		Signed:    body,
		Signature: ed25519.Sign(key, body),
		KeyID:     updater.KeyID(key.Public().(ed25519.PublicKey)),
	}
	out, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("sign release document: %w", err)
	}
	return append(out, '\n'), nil
}
