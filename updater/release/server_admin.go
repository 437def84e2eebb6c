package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/delta"
	"github.com/minihost/minihost/updater/internal/safename"
	"github.com/minihost/minihost/updater/internal/wire"
)

// Settings changes an app's release settings; nil fields stay as they are.
// In Go, set a field with new: Settings{MinVersion: new("1.2.0")}. It is a
// plain value (the body of PATCH .../settings); the Server reads it once.
type Settings struct {
	// MinVersion is the "minimum available version": clients below it may
	// not open the app. "" clears it. It may not exceed the fully released
	// version.
	MinVersion *string `json:"minVersion,omitempty"`
	// PreferLocal is the "preference for local version": a client whose
	// local version is at least this opens it at once and updates in the
	// background. "" clears it. It may not exceed the fully released
	// version.
	PreferLocal *string `json:"preferLocal,omitempty"`
	// RolloutPercent (0-100) is the share of clients that get the latest
	// version; the others get the previous fully released one.
	RolloutPercent *int `json:"rolloutPercent,omitempty"`
}

// Version states in VersionInfo.State.
const (
	versionLatest     = "latest"
	versionStable     = "stable"
	versionSuperseded = "superseded"
	versionRevoked    = "revoked"
)

// VersionInfo describes one published version of an app, as of the
// AppStatus it is in; a plain value, owned by the caller.
type VersionInfo struct {
	Version string `json:"version"`
	// State is "latest" (the newest version, see RolloutPercent),
	// "stable" (what clients outside the rollout get), "superseded" (an
	// older version, still downloadable) or "revoked" (reverted from:
	// clients must not open it).
	State       string    `json:"state"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Path        string    `json:"path"`
	PublishedAt time.Time `json:"publishedAt"`
	RevokedAt   time.Time `json:"revokedAt,omitzero"`
	// Released: the version was fully released (rollout 100) at some point.
	Released bool `json:"released"`
	// Revertible: a revert may go back to this version now.
	Revertible bool `json:"revertible"`
	// Adoption the server saw of this version since AppStatus's
	// AdoptionSince (see Server): document fetches by clients running it,
	// package downloads of it (resumed ones once), patch downloads to it
	// (delta updates), and fetches in the last 24 hours. A static export
	// sees none of this; these are then 0.
	Fetches    int64 `json:"fetches"`
	Downloads  int64 `json:"downloads"`
	Patches    int64 `json:"patches"`
	Fetches24h int64 `json:"fetches24h"`
}

// AppStatus is an app's release state as the admin API reports it: a
// snapshot, owned by the caller, that later changes do not touch.
type AppStatus struct {
	AppID          string `json:"appId"`
	Sequence       uint64 `json:"sequence"`
	MinVersion     string `json:"minVersion,omitempty"`
	PreferLocal    string `json:"preferLocal,omitempty"`
	RolloutPercent int    `json:"rolloutPercent"`
	// Versions, newest first, revoked ones included.
	Versions []VersionInfo `json:"versions"`
	// AdoptionSince starts the window of the versions' counts (30 days).
	AdoptionSince time.Time `json:"adoptionSince"`
	// UnknownFetches counts the window's document fetches whose client
	// sent no version this app has published (none, malformed, or a
	// build the server never saw).
	UnknownFetches int64 `json:"unknownFetches"`
}

// Status returns a snapshot of the app's settings and published versions
// (newest first, revoked ones included): what GET .../versions answers.
// It reads memory only (ctx is for symmetry with the other Admin
// methods) and is safe for concurrent use.
func (s *Server) Status(ctx context.Context, appID string) (*AppStatus, error) {
	_, st, err := s.appState(appID)
	if err != nil {
		return nil, err
	}
	out := &AppStatus{
		AppID: st.AppID, Sequence: st.Sequence, MinVersion: st.MinVersion,
		PreferLocal: st.PreferLocal, RolloutPercent: st.RolloutPercent,
	}
	latest, stable := st.latest(), st.stable()
	revertible := map[int]bool{}
	for _, i := range st.revertTargets(s.cfg.RevertLimit) {
		revertible[i] = true
	}
	for i := len(st.Versions) - 1; i >= 0; i-- {
		v := st.Versions[i]
		state := versionSuperseded
		switch {
		case v.Revoked:
			state = versionRevoked
		case i == latest:
			state = versionLatest
		case i == stable:
			state = versionStable
		}
		out.Versions = append(out.Versions, VersionInfo{
			Version: v.Version, State: state, Size: v.Size, SHA256: v.SHA256,
			Path: wire.PackagePath(st.AppID, v.Version), PublishedAt: v.PublishedAt, RevokedAt: v.RevokedAt,
			Released: v.Released, Revertible: revertible[i],
		})
	}
	s.addAdoption(out)
	return out, nil
}

// Publish reads a package from r, validates it (the server's own checks,
// then Config.Validator) and publishes it as the app's latest version,
// rolled out to percent (0-100) of clients: 100 releases it fully, a lower
// share starts a staged rollout (SetSettings widens it later) and 0
// publishes it to nobody yet. There is no default: the caller states the
// share, so a forgotten argument never releases to everyone. An upload is
// read outside the app's lock; concurrent publishes of one app are
// serialized and at most one of equal versions wins.
func (s *Server) Publish(ctx context.Context, appID string, r io.Reader, percent int) (rel *updater.Release, err error) {
	// Before the deferred prefix: a bad id is not repeated whole in the
	// error (the rule's message quotes a long one shortened).
	if err := safename.AppID(appID); err != nil {
		return nil, fmt.Errorf("publish: %w: %v", ErrInvalidArgument, err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("publish %s: %w", appID, err)
		}
	}()
	if percent < 0 || percent > 100 {
		return nil, fmt.Errorf("%w: rollout %d is outside 0-100", ErrInvalidArgument, percent)
	}
	if s.isClosed() {
		return nil, errServerClosed
	}
	fsys := s.cfg.Fs
	// Upload to a temporary file first, outside the app's lock, so slow
	// uploads do not hold up other changes.
	f, err := afero.TempFile(fsys, filepath.Join(s.cfg.DataDir, "tmp"), "upload-*"+mpk.Ext)
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	committed := false
	defer func() {
		f.Close()
		if !committed {
			_ = fsys.Remove(tmp)
		}
	}()
	h := sha256.New()
	body := &bodyReader{r: io.LimitReader(r, s.cfg.MaxPackageSize+1)}
	n, err := io.Copy(io.MultiWriter(f, h), body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: package over the limit of %d bytes", mpk.ErrTooLarge, s.cfg.MaxPackageSize)
		}
		if body.err != nil { // the upload broke off or is malformed: the client's fault
			return nil, fmt.Errorf("%w: read package: %v", ErrInvalidArgument, err)
		}
		return nil, fmt.Errorf("read package: %w", err)
	}
	if n > s.cfg.MaxPackageSize {
		return nil, fmt.Errorf("%w: package over the limit of %d bytes", mpk.ErrTooLarge, s.cfg.MaxPackageSize)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrInvalidPackage)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, wasm, files, err := checkUpload(f, n, s.cfg.MaxPackageSize)
	if err != nil {
		return nil, err
	}
	if m.AppID != appID {
		return nil, fmt.Errorf("%w: app.json: field \"appId\" is %q, the URL says %q", ErrInvalidPackage, m.AppID, appID)
	}
	// The Validator runs outside the app's lock too: compiling takes a
	// while.
	if err := s.cfg.Validator.Validate(ctx, appID, *m, wasm); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidPackage, err)
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	sum := hex.EncodeToString(h.Sum(nil))

	e, err := s.entry(appID, true)
	if err != nil {
		return nil, err
	}
	// Patches too are built outside the lock, from the versions published
	// when the upload finished; one published meanwhile just gets none.
	built, err := s.buildPatches(ctx, appID, s.patchBases(e.state.Load()), files, n)
	defer func() {
		for _, b := range built {
			_ = fsys.Remove(b.tmp) // gone already when committed
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("build patches: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	old := e.state.Load()
	st := &serverApp{Format: stateFormat, AppID: appID}
	if old != nil {
		st = old.clone()
		for _, v := range old.Versions {
			if !mustVersion(m.Version).GreaterThan(mustVersion(v.Version)) {
				newest := old.Versions[len(old.Versions)-1].Version
				return nil, fmt.Errorf("%w: version %s is not newer than %s, the newest version ever published (reverted ones count)",
					ErrRuleViolation, m.Version, newest)
			}
		}
	}
	now := s.cfg.Now().UTC()
	st.Sequence++
	st.RolloutPercent = percent
	patches, err := s.commitPatches(appID, m.Version, built)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil { // the state does not name them
			s.removePatches(appID, m.Version)
		}
	}()
	st.Versions = append(st.Versions, serverVersion{
		Version: m.Version, Size: n, SHA256: sum, PublishedAt: now, Released: percent == 100,
		Content: contentDigest(files), Patches: patches,
	})
	if err := st.checkSettings(); err != nil {
		return nil, err // unreachable: publishing never lowers the released version
	}
	dst := packageFile(s.cfg.DataDir, appID, m.Version)
	if err := fsys.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, err
	}
	if err := fsutil.Rename(fsys, tmp, dst); err != nil {
		return nil, err
	}
	committed = true
	if err := s.saveState(st); err != nil {
		// Leave nothing: the state still names the old versions only.
		if rerr := fsys.Remove(dst); rerr != nil {
			s.log.Error("remove package after failed publish", "path", dst, "err", rerr)
		}
		return nil, err
	}
	e.setState(st)
	if _, err := s.sign(e, st, now); err != nil {
		s.log.Error("sign release document", "app", appID, "err", err)
	}
	s.log.Info("published", "app", appID, "version", m.Version, "size", n, "sha256", sum, "rollout", percent, "sequence", st.Sequence)
	return st.release(len(st.Versions) - 1), nil
}

// checkUpload validates an uploaded package: structure and manifest
// (mpk.Open), then every file's contents (sizes, CRC) by reading them. It
// returns the manifest, the entry's bytes (for the Validator) and every
// file (for the content digest and patches).
func checkUpload(f afero.File, size, limit int64) (*mpk.Manifest, []byte, []delta.Entry, error) {
	p, err := mpk.Open(f, size, mpk.Limits{MaxPackageSize: limit})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrInvalidPackage, err)
	}
	defer p.Close()
	files, err := packageEntries(p)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrInvalidPackage, err)
	}
	for _, e := range files { // mpk.Open checked that the entry exists
		if e.Path == p.Manifest.Entry {
			return p.Manifest, e.Data, files, nil
		}
	}
	return nil, nil, nil, fmt.Errorf("%w: no entry file %s", ErrInvalidPackage, p.Manifest.Entry)
}

// saveState writes st to its state.json atomically.
func (s *Server) saveState(st *serverApp) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	p := statePath(s.cfg.DataDir, st.AppID)
	if err := s.cfg.Fs.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return fsutil.WriteFile(s.cfg.Fs, p, append(data, '\n'), 0o644)
}

// change applies edit to a copy of the app's state under its lock and, if
// edit changed something, saves it with the next sequence and re-signs.
func (s *Server) change(ctx context.Context, appID string, edit func(st *serverApp, now time.Time) (bool, error)) error {
	e, _, err := s.appState(appID)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	st := e.state.Load().clone()
	changed, err := edit(st, now)
	if err != nil || !changed {
		return err
	}
	if err := st.checkSettings(); err != nil {
		return err
	}
	st.Sequence++
	if err := s.saveState(st); err != nil {
		return err
	}
	e.setState(st)
	if _, err := s.sign(e, st, now); err != nil {
		s.log.Error("sign release document", "app", appID, "err", err)
	}
	return nil
}

// SetSettings changes the app's settings (nil fields stay). The minimum
// and prefer-local versions may not exceed the fully released version
// afterwards (ErrRuleViolation); a rollout of 100 fully releases the
// latest version. A call that changes nothing does not bump the sequence.
// It returns the app's status after the change (what PATCH .../settings
// answers).
func (s *Server) SetSettings(ctx context.Context, appID string, set Settings) (*AppStatus, error) {
	if err := s.setSettings(ctx, appID, set); err != nil {
		return nil, err
	}
	return s.Status(ctx, appID)
}

// setSettings is SetSettings without the status.
func (s *Server) setSettings(ctx context.Context, appID string, set Settings) error {
	parse := func(name string, p *string) error {
		if p == nil || *p == "" {
			return nil
		}
		if _, err := mpk.ParseVersion(*p); err != nil {
			return fmt.Errorf("%w: %s %q: %v", ErrInvalidArgument, name, *p, err)
		}
		return nil
	}
	if err := errors.Join(parse("minVersion", set.MinVersion), parse("preferLocal", set.PreferLocal)); err != nil {
		return fmt.Errorf("set settings of %s: %w", appID, err)
	}
	if p := set.RolloutPercent; p != nil && (*p < 0 || *p > 100) {
		return fmt.Errorf("set settings of %s: %w: rolloutPercent %d is outside 0-100", appID, ErrInvalidArgument, *p)
	}
	err := s.change(ctx, appID, func(st *serverApp, now time.Time) (bool, error) {
		before := *st
		if set.MinVersion != nil {
			st.MinVersion = *set.MinVersion
		}
		if set.PreferLocal != nil {
			st.PreferLocal = *set.PreferLocal
		}
		if set.RolloutPercent != nil {
			st.RolloutPercent = *set.RolloutPercent
			if st.RolloutPercent == 100 {
				st.Versions[st.latest()].Released = true
			}
		}
		return st.MinVersion != before.MinVersion || st.PreferLocal != before.PreferLocal ||
			st.RolloutPercent != before.RolloutPercent, nil
	})
	if err != nil {
		return fmt.Errorf("set settings of %s: %w", appID, err)
	}
	s.log.Info("settings changed", "app", appID, "settings", settingsLog(set))
	return nil
}

func settingsLog(set Settings) string {
	b, _ := json.Marshal(set)
	return string(b)
}

// Revert makes an earlier version the latest, fully released, again. The
// target must be one of the RevertLimit newest versions older than the
// latest that are not revoked. Every version newer than the target becomes
// revoked (clients must not open it, and it can never be published again).
// Minimum and prefer-local versions above the target are lowered to it.
// It returns the app's status after the change (what POST .../revert
// answers).
func (s *Server) Revert(ctx context.Context, appID, ver string) (*AppStatus, error) {
	if err := s.revert(ctx, appID, ver); err != nil {
		return nil, err
	}
	return s.Status(ctx, appID)
}

// revert is Revert without the status.
func (s *Server) revert(ctx context.Context, appID, ver string) error {
	want, err := mpk.ParseVersion(ver)
	if err != nil {
		return fmt.Errorf("revert %s: %w: version %q: %v", appID, ErrInvalidArgument, ver, err)
	}
	err = s.change(ctx, appID, func(st *serverApp, now time.Time) (bool, error) {
		t := st.find(want)
		if t < 0 {
			return false, fmt.Errorf("%w %s", updater.ErrUnknownVersion, ver)
		}
		if st.Versions[t].Revoked {
			return false, fmt.Errorf("%w: %s is revoked", ErrRuleViolation, ver)
		}
		l := st.latest()
		if t == l {
			return false, fmt.Errorf("%w: %s is the latest version already", ErrRuleViolation, ver)
		}
		targets := st.revertTargets(s.cfg.RevertLimit)
		ok := false
		var names []string
		for _, i := range targets {
			ok = ok || i == t
			names = append(names, st.Versions[i].Version)
		}
		if !ok {
			return false, fmt.Errorf("%w: can revert only to one of the last %d versions %v", ErrRuleViolation, s.cfg.RevertLimit, names)
		}
		for i := t + 1; i < len(st.Versions); i++ {
			if !st.Versions[i].Revoked {
				st.Versions[i].Revoked, st.Versions[i].RevokedAt = true, now
			}
		}
		st.Versions[t].Released = true
		st.RolloutPercent = 100
		for _, p := range []*string{&st.MinVersion, &st.PreferLocal} {
			if *p != "" && mustVersion(*p).GreaterThan(want) {
				*p = ver
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("revert %s to %s: %w", appID, ver, err)
	}
	s.log.Info("reverted", "app", appID, "version", ver)
	return nil
}

// bodyReader records the error of the reader it wraps, so that a failed
// copy can tell a broken upload from a failing disk.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
