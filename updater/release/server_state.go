package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/safename"
	"github.com/minihost/minihost/updater/internal/wire"
)

// The release server's data folder:
//
//	DATA/apps/APPID/state.json               versions and settings (serverApp)
//	DATA/apps/APPID/packages/VERSION.mpk     the published packages
//	DATA/tmp/                                uploads in progress
//
// state.json is rewritten atomically after the package it names is in
// place, so a crash leaves either the old state or the new one; packages
// that no state names are removed when a server starts.

const (
	stateFormat   = 1
	stateFileName = "state.json"
)

// serverApp is one app's persisted state. Values are immutable once
// published to readers: changes copy (clone), edit and swap.
type serverApp struct {
	Format   int    `json:"format"`
	AppID    string `json:"appId"`
	Sequence uint64 `json:"sequence"`
	// MinVersion and PreferLocal are the settings ("" for none).
	MinVersion  string `json:"minVersion,omitempty"`
	PreferLocal string `json:"preferLocal,omitempty"`
	// RolloutPercent applies to the latest version.
	RolloutPercent int `json:"rolloutPercent"`
	// Versions in publish order, which is ascending version order.
	Versions []serverVersion `json:"versions"`
}

type serverVersion struct {
	Version     string    `json:"version"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	PublishedAt time.Time `json:"publishedAt"`
	// Released: the version has been fully released (rollout 100) at some
	// point; only such versions serve as Stable.
	Released  bool      `json:"released,omitempty"`
	Revoked   bool      `json:"revoked,omitempty"`
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	// Content is the content digest of the package's files; Patches the
	// patches to this version (server_patch.go). Both empty for versions
	// published before delta updates.
	Content string        `json:"content,omitempty"`
	Patches []serverPatch `json:"patches,omitempty"`
}

func (st *serverApp) clone() *serverApp {
	c := *st
	c.Versions = slices.Clone(st.Versions) // Patches slices are never edited in place
	return &c
}

// latest returns the index of the newest version that is not revoked, or
// -1 (never, for a state with a publish behind it).
func (st *serverApp) latest() int {
	for i := len(st.Versions) - 1; i >= 0; i-- {
		if !st.Versions[i].Revoked {
			return i
		}
	}
	return -1
}

// stable returns the index of the version clients outside the rollout get:
// -1 when the latest is fully released, else the newest older version that
// was fully released and is not revoked (-1 when none).
func (st *serverApp) stable() int {
	l := st.latest()
	if l < 0 || st.RolloutPercent >= 100 {
		return -1
	}
	for i := l - 1; i >= 0; i-- {
		if v := st.Versions[i]; !v.Revoked && v.Released {
			return i
		}
	}
	return -1
}

// released returns the index of the fully released version, or -1.
func (st *serverApp) released() int {
	if st.RolloutPercent >= 100 {
		return st.latest()
	}
	return st.stable()
}

func (st *serverApp) find(v *version.Version) int {
	for i, sv := range st.Versions {
		if mustVersion(sv.Version).Equal(v) {
			return i
		}
	}
	return -1
}

// revertTargets returns the indexes of the versions a revert may go back
// to, newest first: the last limit versions older than the latest that are
// not revoked.
func (st *serverApp) revertTargets(limit int) []int {
	var out []int
	for i := st.latest() - 1; i >= 0 && len(out) < limit; i-- {
		if !st.Versions[i].Revoked {
			out = append(out, i)
		}
	}
	return out
}

// checkSettings enforces that the minimum and prefer-local versions do not
// exceed the fully released version.
func (st *serverApp) checkSettings() error {
	r := st.released()
	for _, s := range []struct{ name, v string }{{"minVersion", st.MinVersion}, {"preferLocal", st.PreferLocal}} {
		if s.v == "" {
			continue
		}
		if r < 0 {
			return fmt.Errorf("%w: %s %s needs a fully released version and %s has none (rollout at %d%%)",
				ErrRuleViolation, s.name, s.v, st.AppID, st.RolloutPercent)
		}
		if rv := st.Versions[r].Version; mustVersion(s.v).GreaterThan(mustVersion(rv)) {
			return fmt.Errorf("%w: %s %s is above the fully released version %s", ErrRuleViolation, s.name, s.v, rv)
		}
	}
	return nil
}

func (st *serverApp) release(i int) *updater.Release {
	if i < 0 {
		return nil
	}
	v := st.Versions[i]
	return &updater.Release{Version: v.Version, Size: v.Size, SHA256: v.SHA256, Path: wire.PackagePath(st.AppID, v.Version),
		Content: v.Content, Patches: st.patches(i)}
}

// document returns the app's release document, issued at now.
func (st *serverApp) document(now time.Time, lifetime time.Duration) *updater.Document {
	now = now.UTC()
	d := &updater.Document{
		AppID:          st.AppID,
		Sequence:       st.Sequence,
		Latest:         st.release(st.latest()),
		Stable:         st.release(st.stable()),
		RolloutPercent: st.RolloutPercent,
		MinVersion:     st.MinVersion,
		PreferLocal:    st.PreferLocal,
		IssuedAt:       now,
		ExpiresAt:      now.Add(lifetime),
	}
	for _, v := range st.Versions {
		if v.Revoked {
			d.Revoked = append(d.Revoked, v.Version)
		}
	}
	return d
}

// check validates a state read from disk, naming what is wrong.
func (st *serverApp) check(appID string) error {
	if st.Format != stateFormat {
		return fmt.Errorf("format %d, want %d", st.Format, stateFormat)
	}
	if st.AppID != appID {
		return fmt.Errorf("appId %q in the folder of %q", st.AppID, appID)
	}
	if len(st.Versions) == 0 || st.latest() < 0 {
		return errors.New("no version that is not revoked")
	}
	if st.RolloutPercent < 0 || st.RolloutPercent > 100 {
		return fmt.Errorf("rolloutPercent %d is outside 0-100", st.RolloutPercent)
	}
	var prev *version.Version
	for i, v := range st.Versions {
		sv, err := mpk.ParseVersion(v.Version)
		if err != nil {
			return fmt.Errorf("version %q: %v", v.Version, err)
		}
		if prev != nil && !sv.GreaterThan(prev) {
			return fmt.Errorf("version %s is listed after %s", v.Version, prev)
		}
		prev = sv
		if err := checkRelease(st.release(i)); err != nil {
			return fmt.Errorf("version %s: %v", v.Version, err)
		}
		if err := checkPatches(v); err != nil {
			return fmt.Errorf("version %s: %v", v.Version, err)
		}
	}
	for _, s := range []string{st.MinVersion, st.PreferLocal} {
		if s == "" {
			continue
		}
		if _, err := mpk.ParseVersion(s); err != nil {
			return fmt.Errorf("setting %q: %v", s, err)
		}
	}
	return nil
}

// checkRelease validates a release the state names by the rules a client
// holds a signed document's releases to (updater.VerifyDocument's), so a
// damaged state file is refused at load rather than served: a package
// version (mpk.ParseVersion), a positive size, a sha256 of 64 lowercase hex
// digits and a safe relative path.
func checkRelease(r *updater.Release) error {
	if _, err := mpk.ParseVersion(r.Version); err != nil {
		return fmt.Errorf("version: %w", err)
	}
	if r.Size <= 0 {
		return fmt.Errorf("size %d is not positive", r.Size)
	}
	if len(r.SHA256) != 64 || strings.Trim(r.SHA256, "0123456789abcdef") != "" {
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", r.SHA256)
	}
	if err := safename.RelPath(r.Path); err != nil {
		return fmt.Errorf("path: %v", err)
	}
	return nil
}

// mustVersion parses a version already validated on the way in.
func mustVersion(s string) *version.Version {
	v, err := mpk.ParseVersion(s)
	if err != nil {
		panic(fmt.Sprintf("release: unvalidated version %q in server state", s))
	}
	return v
}

func statePath(dataDir, appID string) string {
	return filepath.Join(dataDir, "apps", appID, stateFileName)
}

func packageFile(dataDir, appID, version string) string {
	return filepath.Join(dataDir, "apps", appID, "packages", version+mpk.Ext)
}

// loadServerApp reads and checks an app's state; it returns (nil, nil)
// when the app has none.
func loadServerApp(fsys afero.Fs, dataDir, appID string) (*serverApp, error) {
	p := statePath(dataDir, appID)
	data, err := afero.ReadFile(fsys, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load app state: %w", err)
	}
	var st serverApp
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("load app state %s: %w", p, err)
	}
	if err := st.check(appID); err != nil {
		return nil, fmt.Errorf("load app state %s: %v", p, err)
	}
	return &st, nil
}

// listServerApps returns the app ids that have a folder in dataDir.
func listServerApps(fsys afero.Fs, dataDir string) ([]string, error) {
	entries, err := afero.ReadDir(fsys, filepath.Join(dataDir, "apps"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
