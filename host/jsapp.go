package host

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	goversion "github.com/hashicorp/go-version"

	"github.com/minihost/minihost/runtime/mpk"
)

// ErrNoBaseLibrary is wrapped by a launch of a JavaScript package (app.json
// "runtime": "js") when the host has no JS base library of the version
// the package needs (its "baseLibrary"), neither Config.BaseLibrary nor
// an installed mpk.BaseLibraryAppID. It is a read-only value, safe for
// concurrent use.
var ErrNoBaseLibrary = errors.New("no suitable JS base library")

// baseCandidate is one base library the host could run a JS package on.
type baseCandidate struct {
	dir string
	v   *goversion.Version
}

// baseLibrary returns the module that runs the JS package m: the entry of
// the newest base library that is at least m.BaseLibrary, from
// Config.BaseLibrary and the versions of mpk.BaseLibraryAppID installed
// in the home (released like any app). Its package's files are not
// mounted: the guest sees the JS package's. Every JS app thus runs the
// same module bytes, so the compile cache, keyed by the module's hash,
// compiles a base library version once for all of them.
func (h *Host) baseLibrary(m *mpk.Manifest) ([]byte, error) {
	best, err := h.pickBase(m)
	if err != nil {
		return nil, err
	}
	bm, wasm, err := h.loadDir(best.dir)
	if err != nil {
		return nil, fmt.Errorf("open JS base library %s: %w", best.v, err)
	}
	if bm.Runtime != "" {
		return nil, fmt.Errorf("open JS base library %s: it is itself a %s package", best.v, bm.Runtime)
	}
	return wasm, nil
}

// pickBase returns the newest base library that can run m, or an error
// wrapping ErrNoBaseLibrary that says what m needs and what there is.
func (h *Host) pickBase(m *mpk.Manifest) (*baseCandidate, error) {
	var minV *goversion.Version
	if m.BaseLibrary != "" {
		minV, _ = mpk.ParseVersion(m.BaseLibrary) // ParseManifest checked it
	}
	var best *baseCandidate
	var seen []string
	for _, c := range h.baseCandidates() {
		seen = append(seen, c.v.String())
		if (minV == nil || !c.v.LessThan(minV)) && (best == nil || c.v.GreaterThan(best.v)) {
			best = &c
		}
	}
	if best != nil {
		return best, nil
	}
	have := "none"
	if len(seen) > 0 {
		have = strings.Join(seen, ", ")
	}
	return nil, fmt.Errorf("%s %s needs JS base library %s, this host has %s: %w", m.AppID, m.Version, needs(m), have, ErrNoBaseLibrary)
}

func needs(m *mpk.Manifest) string {
	if m.BaseLibrary == "" {
		return "of any version"
	}
	return m.BaseLibrary + " or newer"
}

// ensureBaseLibrary makes sure that the installed version v of appID, if
// it is a JS package, has a base library to run on: when none here is
// recent enough, it installs the latest base library from the release
// server (one check and one download, within the background timeout),
// as WeChat's client fetches a newer base library for a mini program
// that needs one. It returns why it could not; opening the version then
// fails with the same reason.
func (h *Host) ensureBaseLibrary(ctx context.Context, appID, v string) error {
	b, err := h.readBounded(filepath.Join(h.upd.store.PackageDir(appID, v), mpk.ManifestName), 1<<20)
	if err != nil {
		return nil // readVersion says what is wrong
	}
	m, err := mpk.ParseManifest(b)
	if err != nil || m.Runtime != mpk.RuntimeJS {
		return nil
	}
	_, missing := h.pickBase(m)
	if missing == nil {
		return nil
	}
	if err := h.fetchBase(ctx); err != nil {
		return fmt.Errorf("%w; fetch one from the release server: %w", missing, err)
	}
	_, err = h.pickBase(m)
	return err // the server's latest is still too old: says so
}

// fetchBase downloads and installs the latest base library of the
// release server.
func (h *Host) fetchBase(ctx context.Context) error {
	u := h.upd
	ctx, cancel := context.WithTimeout(ctx, u.cfg.Policy.BackgroundTimeout)
	defer cancel()
	res := h.check(ctx, mpk.BaseLibraryAppID, nil)
	if res.Err != nil {
		return res.Err
	}
	rel := res.Doc.LatestFor(u.clientID)
	if rel == nil {
		return errors.New("it has none for this client")
	}
	dl := u.downloads.start(mpk.BaseLibraryAppID, rel)
	select {
	case <-dl.done:
		return dl.err
	case <-ctx.Done():
		return fmt.Errorf("download %s: %w", rel.Version, ctx.Err())
	}
}

// baseCandidates lists the base libraries this host has, skipping (with a
// warning) a Config.BaseLibrary that is not one.
func (h *Host) baseCandidates() []baseCandidate {
	var out []baseCandidate
	if dir := h.cfg.BaseLibrary; dir != "" {
		b, err := h.readBounded(filepath.Join(dir, mpk.ManifestName), 1<<20)
		var bm *mpk.Manifest
		var v *goversion.Version
		if err == nil {
			bm, err = mpk.ParseManifest(b)
		}
		if err == nil && bm.AppID != mpk.BaseLibraryAppID {
			err = fmt.Errorf("app id %s, want %s", bm.AppID, mpk.BaseLibraryAppID)
		}
		if err == nil {
			v, err = mpk.ParseVersion(bm.Version) // valid: ParseManifest checked it
		}
		if err != nil {
			h.log.Warn("ignore Config.BaseLibrary", "dir", dir, "err", err)
		} else {
			out = append(out, baseCandidate{dir: dir, v: v})
		}
	}
	if h.upd == nil {
		return out
	}
	st, err := h.upd.store.Load(mpk.BaseLibraryAppID)
	if err != nil {
		return out
	}
	for _, iv := range st.Installed {
		v, err := mpk.ParseVersion(iv.Version)
		if err != nil || !iv.Verified || slices.Contains(st.Bad, iv.Version) {
			continue
		}
		out = append(out, baseCandidate{dir: h.upd.store.PackageDir(mpk.BaseLibraryAppID, iv.Version), v: v})
	}
	return out
}
