package updater

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/delta"
)

// Installing from a delta patch: the patch rebuilds the release's files
// from an installed version's into the same staging folder a package's
// extraction fills (store_install.go), so the rename, the file list and
// the state record, and with them crash safety, are the full install's.

// errNoPatchBase is wrapped by InstallPatch when the patch's base version
// is not installed and verified, so the patch cannot apply; the caller
// downloads the package instead. It is a read-only value.
var errNoPatchBase = errors.New("patch base version is not installed")

// InstallPatch installs rel of appID from patchFile (a path on the store's
// Fs), a download of rel's patch from version from (one of rel.Patches).
// In order it checks that rel has a content digest and lists that patch;
// that from is installed and verified (else an error); that the file
// is a regular file whose sha256 and size are the patch's (else
// ErrHashMismatch). Then it rebuilds rel's files from from's installed
// files (each base file checked against from's file list as it is read)
// into a staging folder, bounded by mpk's package limits, checks every
// rebuilt file against rel.Content, checks that app.json names appID and
// rel.Version, and installs the folder as InstallRelease does. On any
// error nothing is installed; a bad patch wraps delta's bad-patch error.
// A version already installed and verified is a no-op. The caller removes
// patchFile. InstallPatch is safe for concurrent use, like InstallRelease.
func (s *Store) InstallPatch(ctx context.Context, appID string, rel *Release, from, patchFile string) (err error) {
	if rel == nil {
		return fmt.Errorf("install %s from patch: no release", appID)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("install %s %s from patch of %s: %w", appID, rel.Version, from, err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	var patch *Patch
	for i := range rel.Patches {
		if rel.Patches[i].From == from {
			patch = &rel.Patches[i]
		}
	}
	if patch == nil || !isHexSHA256(rel.Content) {
		return errors.New("the release lists no such patch, or no content digest")
	}
	want, err := checkInstallArgs(appID, rel.Version, patch.SHA256)
	if err != nil {
		return err
	}
	if ok, err := s.isInstalled(appID, rel.Version, s.PackageDir(appID, rel.Version)); err != nil || ok {
		return err
	}
	base, err := s.patchBase(appID, from)
	if err != nil {
		return err
	}
	f, err := openSigned(s.fs, patchFile, want, patch.Size)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.install(ctx, appID, rel.Version, patchFile, func(fsys afero.Fs, dir string) error {
		if err := delta.Apply(ctx, io.NewSectionReader(f, 0, patch.Size), base, fsys, dir, rel.Content, delta.Limits{}); err != nil {
			return err
		}
		return checkRebuiltManifest(s.fs, dir, appID, rel.Version)
	})
}

// patchBase returns version from of appID as a patch base: installed and
// verified, with the file list its install recorded.
func (s *Store) patchBase(appID, from string) (delta.Base, error) {
	st, err := s.Load(appID)
	if err != nil {
		return delta.Base{}, err
	}
	if i := installedIndex(st, from); i < 0 || !st.Installed[i].Verified {
		return delta.Base{}, fmt.Errorf("%w: %s %s", errNoPatchBase, appID, from)
	}
	list, err := s.readFileList(s.fileListPath(appID, from), appID, from)
	if err != nil {
		return delta.Base{}, fmt.Errorf("%w: %s %s: %v", errNoPatchBase, appID, from, err)
	}
	base := delta.Base{Fs: s.fs, Dir: s.PackageDir(appID, from)}
	for _, fe := range list.Files {
		base.Files = append(base.Files, delta.File{Path: fe.Path, Size: fe.Size, SHA256: fe.SHA256})
	}
	return base, nil
}

// checkRebuiltManifest checks that the rebuilt app.json is valid and names
// appID and version, as InstallRelease checks a package's.
func checkRebuiltManifest(fsys afero.Fs, dir, appID, version string) error {
	data, err := afero.ReadFile(fsys, filepath.Join(dir, mpk.ManifestName))
	if err != nil {
		return err
	}
	m, err := mpk.ParseManifest(data)
	if err != nil {
		return err
	}
	if m.AppID != appID || m.Version != version {
		return fmt.Errorf("rebuilt files hold %s %s, the release document says %s %s", m.AppID, m.Version, appID, version)
	}
	return nil
}
