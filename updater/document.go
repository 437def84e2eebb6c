package updater

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
)

// DefaultDocumentLifetime is how long a release document signed by the
// server stays valid. It is short so that a client cut off from the server
// (or fed an old copy) notices within the hour; the server re-signs before
// it runs out, so a live server never serves an expired document.
const DefaultDocumentLifetime = time.Hour

// Release is one published version as a release document describes it.
type Release struct {
	// Version is the semantic version, as in the package's app.json.
	Version string `json:"version"`
	// Size is the package size in bytes; a client reads no more than this.
	Size int64 `json:"size"`
	// SHA256 is the hex sha256 of the whole .mpk file.
	SHA256 string `json:"sha256"`
	// Path is the package's URL path relative to the server root,
	// for example "apps/demo.counter/packages/1.2.0.mpk".
	Path string `json:"path"`
	// Content is the version's content digest: the hex sha256 of its file
	// list (updater/internal/delta.Digest). A client that rebuilds the
	// version's files from a patch checks them against it; "" in
	// documents older than delta updates, which then carry no Patches.
	Content string `json:"content,omitempty"`
	// Patches rebuild this version's files from older versions' files,
	// one per base version, each smaller than the package. A client uses
	// one only for a version it has installed and verified, and falls back
	// to the package on any failure.
	Patches []Patch `json:"patches,omitempty"`
}

// Patch is one delta update in a Release: a file that rebuilds the
// release's files from those of version From. Like Release it is a plain
// value, safe to read from many goroutines.
type Patch struct {
	// From is the base version the patch applies to.
	From string `json:"from"`
	// Size is the patch file's size in bytes; a client reads no more.
	Size int64 `json:"size"`
	// SHA256 is the hex sha256 of the patch file.
	SHA256 string `json:"sha256"`
	// Path is the patch's URL path relative to the server root, for
	// example "apps/demo.counter/patches/1.2.0/1.1.0.mpd".
	Path string `json:"path"`
}

// Document is the body of an app's signed release document: what the
// release server says about one app at one moment. Clients only ever see
// a Document after its signature verified (see VerifyDocument). A Document
// is a plain value: not safe for concurrent mutation, safe to read from
// many goroutines.
type Document struct {
	// AppID names the app; a client rejects a document for another app.
	AppID string `json:"appId"`
	// Sequence grows by at least one with every change to the app's
	// releases or settings; a client rejects a document whose sequence is
	// below the last one it verified (replay). Re-signing an unchanged
	// document (to renew its expiry) keeps the sequence.
	Sequence uint64 `json:"sequence"`
	// Latest is the newest release, possibly in a staged rollout.
	Latest *Release `json:"latest,omitempty"`
	// Stable is the previous fully released version, which clients outside
	// the rollout see as latest. Nil when Latest is fully released.
	Stable *Release `json:"stable,omitempty"`
	// RolloutPercent is the share (0-100) of clients that see Latest.
	RolloutPercent int `json:"rolloutPercent"`
	// MinVersion is the "minimum available version" setting ("" for none).
	MinVersion string `json:"minVersion,omitempty"`
	// PreferLocal is the "preference for local version" setting ("" for none).
	PreferLocal string `json:"preferLocal,omitempty"`
	// Revoked lists versions that must not open (versions reverted from).
	Revoked []string `json:"revoked,omitempty"`
	// IssuedAt and ExpiresAt bound the document's validity (real clock).
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// isRevoked reports whether v is listed as revoked. Versions follow
// mpk.ParseVersion and compare by value, so build metadata does not count
// ("1.2.0+a" is "1.2.0"); a text that is not a version is never revoked.
func (d *Document) isRevoked(v string) bool {
	want := semver(v)
	return want != nil && slices.ContainsFunc(d.Revoked, func(r string) bool {
		got := semver(r)
		return got != nil && got.Equal(want)
	})
}

// ErrInvalidDocument is wrapped by VerifyDocument when a correctly signed
// document breaks the format (a bad version, size, hash or path): a server
// bug, never something to act on.
var ErrInvalidDocument = errors.New("invalid release document")

// check validates the document's fields, naming the first bad one.
func (d *Document) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidDocument, fmt.Sprintf(format, args...))
	}
	if err := safename.AppID(d.AppID); err != nil {
		return bad("appId: %v", err)
	}
	if d.RolloutPercent < 0 || d.RolloutPercent > 100 {
		return bad("rolloutPercent %d is outside 0-100", d.RolloutPercent)
	}
	if d.ExpiresAt.IsZero() || d.ExpiresAt.Before(d.IssuedAt) {
		return bad("expiresAt %v is not after issuedAt %v", d.ExpiresAt, d.IssuedAt)
	}
	var latest *version.Version
	for _, rr := range []struct {
		name string
		r    *Release
	}{{"latest", d.Latest}, {"stable", d.Stable}} {
		if rr.r == nil {
			continue
		}
		v, err := rr.r.check()
		if err != nil {
			return bad("%s: %v", rr.name, err)
		}
		if rr.name == "latest" {
			latest = v
		} else if latest == nil || !v.LessThan(latest) {
			return bad("stable %s is not older than latest", rr.r.Version)
		}
	}
	for _, s := range []struct{ name, v string }{{"minVersion", d.MinVersion}, {"preferLocal", d.PreferLocal}} {
		if s.v == "" {
			continue
		}
		if _, err := mpk.ParseVersion(s.v); err != nil {
			return bad("%s: %v", s.name, err)
		}
	}
	for _, r := range d.Revoked {
		if _, err := mpk.ParseVersion(r); err != nil {
			return bad("revoked: %v", err)
		}
	}
	return nil
}

// check validates one release and returns its parsed version. The
// version follows the package rule (mpk.ParseVersion), so that a signed
// document can never name a version a client cannot store as a file name.
func (r *Release) check() (*version.Version, error) {
	v, err := mpk.ParseVersion(r.Version)
	if err != nil {
		return nil, fmt.Errorf("version: %w", err)
	}
	if r.Size <= 0 {
		return nil, fmt.Errorf("size %d is not positive", r.Size)
	}
	if !isHexSHA256(r.SHA256) {
		return nil, fmt.Errorf("sha256 %q is not 64 lowercase hex digits", r.SHA256)
	}
	if err := safename.RelPath(r.Path); err != nil {
		return nil, fmt.Errorf("path: %v", err)
	}
	if r.Content != "" && !isHexSHA256(r.Content) {
		return nil, fmt.Errorf("content %q is not 64 lowercase hex digits", r.Content)
	}
	if len(r.Patches) > 0 && r.Content == "" {
		return nil, errors.New("patches without a content digest")
	}
	for _, p := range r.Patches {
		if err := p.check(v); err != nil {
			return nil, fmt.Errorf("patch from %q: %v", p.From, err)
		}
	}
	return v, nil
}

// check validates a patch to version to.
func (p *Patch) check(to *version.Version) error {
	from, err := mpk.ParseVersion(p.From)
	if err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if !from.LessThan(to) {
		return errors.New("base version is not older than the release")
	}
	if p.Size <= 0 {
		return fmt.Errorf("size %d is not positive", p.Size)
	}
	if !isHexSHA256(p.SHA256) {
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", p.SHA256)
	}
	if err := safename.RelPath(p.Path); err != nil {
		return fmt.Errorf("path: %v", err)
	}
	return nil
}

// isHexSHA256 reports whether s is a sha256 in lowercase hex.
func isHexSHA256(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}
