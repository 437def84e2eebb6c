package updater

import (
	"crypto/sha256"
	"encoding/binary"
)

// Staged rollout. A release document carries the latest release, the share
// of clients that get it (RolloutPercent) and the previous fully released
// one (Stable). Each client decides for itself whether it is in the
// rollout: it hashes (client id, app id, latest version) with sha256, takes
// the first 8 bytes as a big-endian number modulo 100, and is in when that
// bucket is below the percent. The server never sees the client id, and a
// static copy of the document (see release.Export) serves rollouts as well
// as the server does.
//
// The hash is stable: a client keeps its answer for a version across
// checks and restarts, and raising the percent only adds clients (bucket <
// 10 implies bucket < 20). Including the version reshuffles clients for
// each new release, so the same few are not always first. Clients need a
// stable random id of their own (an empty id is one bucket shared by all).

// rolloutBucket returns the client's bucket, 0 to 99, for one app version.
func rolloutBucket(clientID, appID, version string) int {
	h := sha256.New()
	// Length-prefix each part so ("a", "bc") and ("ab", "c") differ.
	for _, s := range []string{clientID, appID, version} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	sum := h.Sum(nil)
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// LatestFor returns the release the client with this id should treat as
// the latest: Latest when it is fully released or the client falls in the
// rollout, else Stable (nil when the document names none).
func (d *Document) LatestFor(clientID string) *Release {
	if d.Latest == nil {
		return nil
	}
	if d.RolloutPercent >= 100 || rolloutBucket(clientID, d.AppID, d.Latest.Version) < d.RolloutPercent {
		return d.Latest
	}
	return d.Stable
}
