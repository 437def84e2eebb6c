package updater

import (
	"context"
	"errors"
	"net"
)

// Hint names the likely fix for a failed check, "" when there is none to
// suggest: a document signed by another key (the client's public key is
// not the server's), a document altered after it was signed (its keyId
// names the client's own key, yet the signature does not verify), an app
// the server does not know, an expired document (the release server
// stopped renewing it, or a static export was not refreshed), a replayed
// one, or a server that cannot be reached. Hosts
// print it beside the error, so that a failure is never silent and names
// what to change.
func Hint(err error) string {
	var netErr *net.OpError
	var sigErr *signatureError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &sigErr) && sigErr.named == sigErr.want:
		return "the release document was altered or corrupted after it was signed (on a mirror, a proxy or in transit), since it names this host's key: fetch it again, or check the mirror or static export it came from"
	case errors.As(err, &sigErr) && sigErr.named == "":
		return "the release document was altered after it was signed, or the public key given to this host is not the one the server signs with (the document names no key id): check the mirror and --pubkey"
	case errors.Is(err, ErrBadSignature):
		return "the public key given to this host is not the one the server signs with: check --pubkey"
	case errors.Is(err, ErrUnknownApp):
		return "the server has no such app: check the app id and --server"
	case errors.Is(err, ErrExpired):
		return "the server's release document has expired: is the release server running, or the static export refreshed?"
	case errors.Is(err, ErrReplay):
		return "the server sent an older document than one already seen: a stale mirror or a replay"
	case errors.As(err, &netErr):
		return "the release server cannot be reached: check --server and the network"
	case errors.Is(err, context.DeadlineExceeded):
		return "the release server did not answer in time"
	}
	return ""
}
