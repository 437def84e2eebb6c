package updater

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
	"github.com/minihost/minihost/updater/internal/wire"
	"github.com/spf13/afero"
)

// The Store's intent methods: each records one thing the update machinery
// decided (a package to install, a check's document, an open, a launch's
// crash-loop counters) as one durable change, checking its own
// preconditions. Each takes a context first and gives up, changing
// nothing, when the context has ended before it writes.

// InstallRelease installs the package file pkgFile (a path on the store's
// Fs), downloaded for rel of appID: the one entry point for installing a
// package. In order it checks that the file is a regular file (a named
// pipe in its place fails at once) whose sha256 is rel.SHA256 (else
// ErrHashMismatch, before anything else reads the file) and whose size is
// rel.Size; opens it as a package (mpk.Open, with the default limits);
// checks that its manifest names appID and rel.Version; and extracts it
// with the package's own checks into PackageDir(appID, rel.Version),
// recorded as installed and verified. On any error nothing is installed.
// A version already installed and verified is a no-op that does not read
// pkgFile. The caller removes pkgFile.
//
// InstallRelease is safe for concurrent use. The hashing and extraction
// run outside the app's lock, so other calls for the app do not wait for
// them; two installs of one version install it once.
func (s *Store) InstallRelease(ctx context.Context, appID string, rel *Release, pkgFile string) (err error) {
	if rel == nil {
		return fmt.Errorf("install %s: no release", appID)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("install %s %s: %w", appID, rel.Version, err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	want, err := checkInstallArgs(appID, rel.Version, rel.SHA256)
	if err != nil {
		return err
	}
	if rel.Size <= 0 {
		return fmt.Errorf("release size %d is not positive", rel.Size)
	}
	target := s.PackageDir(appID, rel.Version)
	if ok, err := s.isInstalled(appID, rel.Version, target); err != nil || ok {
		return err
	}

	// One open serves the hash and the extraction (openHashed).
	f, err := openSigned(s.fs, pkgFile, want, rel.Size)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := mpk.Open(f, rel.Size, mpk.Limits{})
	if err != nil {
		return fmt.Errorf("open %s: %w", pkgFile, err)
	}
	defer p.Close()
	if m := p.Manifest; m.AppID != appID || m.Version != rel.Version {
		return fmt.Errorf("package %s holds %s %s, the release document says %s %s", pkgFile, m.AppID, m.Version, appID, rel.Version)
	}
	return s.install(ctx, appID, rel.Version, pkgFile, func(fsys afero.Fs, dir string) error { return p.Extract(ctx, fsys, dir) })
}

// RecordCheck saves envelope, the raw signed release document a check just
// verified, and its sequence seq as the app's last document
// (AppState.LastDocument and LastSequence), atomically. A seq below the
// saved LastSequence (a check that raced with a newer one), or the very
// document saved already, changes nothing and is no error. RecordCheck does not verify envelope; the caller did
// (VerifyDocument, Client.FetchDocument). It is safe for concurrent use.
func (s *Store) RecordCheck(ctx context.Context, appID string, envelope []byte, seq uint64) error {
	if len(envelope) == 0 {
		return fmt.Errorf("record check of %s: empty release document", appID)
	}
	if len(envelope) > wire.MaxEnvelopeSize {
		return fmt.Errorf("record check of %s: %w: document is %d bytes, limit %d", appID, mpk.ErrTooLarge, len(envelope), wire.MaxEnvelopeSize)
	}
	err := s.updateCtx(ctx, appID, func(st *AppState) error {
		if seq < st.LastSequence || (seq == st.LastSequence && bytes.Equal(envelope, st.LastDocument)) {
			return errNoChange // older, or the document saved already: no write, no fsync
		}
		st.LastDocument, st.LastSequence = slices.Clone(envelope), seq
		return nil
	})
	if err != nil {
		return fmt.Errorf("record check of %s: %w", appID, err)
	}
	return nil
}

// RecordOpen records that version v of appID opened at at: v, which must
// be installed and verified (else an error, and nothing changes),
// becomes the active version and at the last use, atomically. Then it
// deletes the versions the retention rule K1 does not protect (given last,
// the last verified document or nil, and keep plus v; see prune in
// store.go); a prune error, or ctx ending before the prune, is returned
// after the open was recorded. A zero at is an error. It is safe for
// concurrent use.
func (s *Store) RecordOpen(ctx context.Context, appID, v string, at time.Time, last *Document, keep ...string) error {
	if at.IsZero() {
		return fmt.Errorf("record open of %s %s: time is zero", appID, v)
	}
	err := s.updateCtx(ctx, appID, func(st *AppState) error {
		i := installedIndex(*st, v)
		if i < 0 || !st.Installed[i].Verified {
			return errNotInstalled
		}
		st.Active, st.LastUsed = st.Installed[i].Version, at
		return nil
	})
	if err != nil {
		return fmt.Errorf("record open of %s %s: %w", appID, v, err)
	}
	if err := s.prune(ctx, appID, last, append(slices.Clone(keep), v)...); err != nil {
		return fmt.Errorf("record open of %s %s: %w", appID, v, err)
	}
	return nil
}

// LaunchRecord is the crash-loop accounting the launch executor decided
// after a cold start, for RecordLaunch to store. It is a plain value, safe
// to copy and to share between goroutines.
type LaunchRecord struct {
	// Version is the version that failed its launch; "" with Failures 0.
	Version string
	// Failures is the number of consecutive failed cold starts of Version;
	// 0 clears the counters.
	Failures int
	// MarkBad marks Version bad (AppState.Bad) and clears the counters.
	MarkBad bool
}

// RecordLaunch stores r, atomically: with Failures 0 it clears
// AppState.FailingVersion and LaunchFailures; otherwise it sets them to
// r.Version and r.Failures. With MarkBad it adds r.Version to AppState.Bad
// (once) and clears the counters. r.Version, when set, must be a valid
// version (mpk.ParseVersion); Failures or MarkBad need one, and Failures
// must not be negative. It is safe for concurrent use.
func (s *Store) RecordLaunch(ctx context.Context, appID string, r LaunchRecord) error {
	fail := func(err error) error { return fmt.Errorf("record launch of %s: %w", appID, err) }
	if r.Version != "" {
		if _, err := mpk.ParseVersion(r.Version); err != nil {
			return fail(fmt.Errorf("version %q: %w", r.Version, err))
		}
	}
	switch {
	case r.Failures < 0:
		return fail(fmt.Errorf("LaunchRecord.Failures is %d, negative", r.Failures))
	case r.Version == "" && (r.Failures > 0 || r.MarkBad):
		return fail(errors.New("LaunchRecord.Version is empty"))
	}
	err := s.updateCtx(ctx, appID, func(st *AppState) error {
		switch {
		case r.MarkBad:
			if !slices.ContainsFunc(st.Bad, func(b string) bool { return sameSemver(b, r.Version) }) {
				st.Bad = append(st.Bad, r.Version)
			}
			st.FailingVersion, st.LaunchFailures = "", 0
		case r.Failures == 0:
			st.FailingVersion, st.LaunchFailures = "", 0
		default:
			st.FailingVersion, st.LaunchFailures = r.Version, r.Failures
		}
		return nil
	})
	if err != nil {
		return fail(err)
	}
	return nil
}

// errNotInstalled is wrapped by RecordOpen for a version the store does
// not hold as installed and verified.
var errNotInstalled = errors.New("version not installed")

// errNoChange, returned by an updateCtx callback, ends the update without
// writing and without an error.
var errNoChange = errors.New("no change")

// updateCtx is Update that writes only while ctx has not ended, checked
// under the app's lock right before the write.
func (s *Store) updateCtx(ctx context.Context, appID string, fn func(*AppState) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := safename.AppID(appID); err != nil {
		return err
	}
	unlock := s.lock(appID)
	defer unlock()
	err := s.update(appID, func(st *AppState) error {
		if err := fn(st); err != nil {
			return err
		}
		return ctx.Err()
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}
