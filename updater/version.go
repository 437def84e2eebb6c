package updater

import (
	"sync"
	"sync/atomic"

	version "github.com/hashicorp/go-version"

	"github.com/minihost/minihost/runtime/mpk"
)

// Versions as the policy compares them: semver, the one version rule with
// its parse cache, and the helpers that read a version off a document or
// a release.

// sameSemver reports whether a and b are one text or, by mpk.ParseVersion,
// one version (build metadata does not count).
func sameSemver(a, b string) bool {
	if a == b {
		return true
	}
	va, vb := semver(a), semver(b)
	return va != nil && vb != nil && va.Equal(vb)
}

// semver parses a version with the one version rule, mpk.ParseVersion,
// and returns nil when s does not follow it (a verified document never
// holds such a version; a hand-edited store may). Parses are cached. It is
// safe for concurrent use.
func semver(s string) *version.Version {
	if s == "" {
		return nil
	}
	if v, ok := semvers.m.Load(s); ok {
		return v.(*version.Version)
	}
	v, err := mpk.ParseVersion(s)
	if err != nil {
		return nil
	}
	if semvers.n.Add(1) > maxSemvers {
		semvers.m.Clear() // bounded: versions come from documents
		semvers.n.Store(1)
	}
	semvers.m.Store(s, v)
	return v
}

// semvers caches the versions semver parsed: go-version parses with a
// regular expression, and the executor compares the same few versions on
// every event (the fleet simulator spent most of its allocations there). A
// *version.Version is never changed once parsed, so sharing is safe.
var semvers struct {
	m sync.Map // string -> *version.Version
	n atomic.Int64
}

const maxSemvers = 4096

func docMinVersion(doc *Document) *version.Version {
	if doc == nil {
		return nil
	}
	return semver(doc.MinVersion)
}

func releaseSemver(r *Release) *version.Version {
	if r == nil {
		return nil
	}
	return semver(r.Version)
}
