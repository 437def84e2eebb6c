package updater

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
	"github.com/spf13/afero"
)

// Installing into the Store: the checks on an install's arguments and the
// extraction of a checked package into its version's folder.

// installExtract installs a package file with an extraction the caller
// supplies: the store's own contract, tested on its own. Callers use
// InstallRelease, the one entry point for installing, which also opens the
// package, checks its manifest against the release and extracts it.
//
// pkgFile is a path on the store's Fs. installExtract first checks that the
// file's sha256 is wantSHA256 (from the verified release document) and
// refuses a mismatch with ErrHashMismatch before anything reads the file. Then
// extract creates and fills the folder dir, a path on the store's Fs that
// does not exist yet; the folder is renamed to PackageDir(appID, version)
// and recorded as installed and verified. On any error nothing is
// installed. Installing an installed version again is a no-op. It is safe
// for concurrent use; the extraction runs outside the app's lock, so other
// calls for the app do not wait for it.
func (s *Store) installExtract(appID, version, pkgFile, wantSHA256 string, extract func(dir string) error) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("install %s %s: %w", appID, version, err)
		}
	}()
	want, err := checkInstallArgs(appID, version, wantSHA256)
	if err != nil {
		return err
	}
	f, got, _, err := openHashed(s.fs, pkgFile)
	if err != nil {
		return err
	}
	f.Close()
	if got != want {
		return checksumError(pkgFile, got, want)
	}
	return s.install(context.Background(), appID, version, pkgFile, func(_ afero.Fs, dir string) error { return extract(dir) })
}

// checkInstallArgs validates an install's app id, version and expected
// sha256, and returns the sha256 in lower case.
func checkInstallArgs(appID, version, wantSHA256 string) (string, error) {
	if err := safename.AppID(appID); err != nil {
		return "", err
	}
	if _, err := mpk.ParseVersion(version); err != nil {
		return "", fmt.Errorf("version %q: %w", version, err)
	}
	want := strings.ToLower(wantSHA256)
	if len(want) != sha256.Size*2 || strings.Trim(want, "0123456789abcdef") != "" {
		return "", fmt.Errorf("want sha256 %q is not 64 hex digits", wantSHA256)
	}
	return want, nil
}

func checksumError(pkgFile, got, want string) error {
	return fmt.Errorf("%w: %s has sha256 %s, the release document says %s", ErrHashMismatch, pkgFile, got, want)
}

// openSigned opens a downloaded file (openHashed) and checks it is the one
// the signed document describes: sha256 want (else ErrHashMismatch) and
// size bytes. The caller closes the file; its bytes are the bytes hashed.
func openSigned(fsys afero.Fs, path, want string, size int64) (afero.File, error) {
	f, got, n, err := openHashed(fsys, path)
	if err != nil {
		return nil, err
	}
	if got != want {
		f.Close()
		return nil, checksumError(path, got, want)
	}
	if n != size {
		f.Close()
		return nil, fmt.Errorf("%s is %d bytes, the release document says %d", path, n, size)
	}
	return f, nil
}

// install extracts a checked package (extract fills the folder dir it is
// given on the Fs it is given and makes it durable, files and folders
// synced, as mpk.Package.Extract does: install does not sync it again) into
// PackageDir(appID, version) and records the version as
// installed and verified; installing an installed version is a no-op. It
// gives up, removing its extraction, when ctx ends before the first write
// or before the extraction is renamed into place. The file list's sums
// are those of the bytes extract wrote, hashed as they were written
// (hashingFs); a file it wrote otherwise is read back and hashed.
func (s *Store) install(ctx context.Context, appID, version, pkgFile string, extract func(fsys afero.Fs, dir string) error) (err error) {
	vdir := filepath.Join(s.dir, "apps", appID, storeVersionsDir)
	target := filepath.Join(vdir, version)
	if ok, err := s.isInstalled(appID, version, target); err != nil || ok {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := mkdirAllSync(s.fs, vdir); err != nil {
		return err
	}
	// The extraction makes the staging folder itself, beside the target,
	// and renames it into place: no folder of the store's own around it
	// (a mkdir and a folder sync less; a mkdir costs about 1 ms here).
	// Its name is random, so concurrent installs of a version do not meet;
	// isInstalling covers it and the extraction's own temporary sibling.
	pkgDir := filepath.Join(vdir, storeInstallPrefix+version+"-"+strconv.FormatUint(rand.Uint64(), 36))
	s.setInstalling(pkgDir, +1)
	defer s.setInstalling(pkgDir, -1)
	defer func() {
		if err != nil {
			s.fs.RemoveAll(pkgDir)
		}
	}()
	rec := newHashingFs(s.fs)
	if err := extract(rec, pkgDir); err != nil {
		return fmt.Errorf("extract %s: %w", pkgFile, err)
	}
	if ok, err := afero.DirExists(s.fs, pkgDir); err != nil || !ok {
		return fmt.Errorf("extract %s: made no folder %s (%v)", pkgFile, pkgDir, err)
	}
	list, err := listFilesWith(s.fs, pkgDir, rec)
	if err != nil {
		return err
	}
	list.AppID, list.Version = appID, version
	if err := ctx.Err(); err != nil {
		return err
	}

	unlock := s.lock(appID)
	defer unlock()
	if ok, err := s.installedLocked(appID, version, target); err != nil || ok {
		if err == nil {
			err = s.fs.RemoveAll(pkgDir)
		}
		return err
	}
	// The file list goes first: a folder in place always has its list.
	listPath := s.fileListPath(appID, version)
	if err := s.writeFileList(listPath, list); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			s.fs.Remove(listPath)
		}
	}()
	// A folder state.json does not list is an orphan from a crash.
	if err := s.fs.RemoveAll(target); err != nil {
		return err
	}
	if err := s.fs.Rename(pkgDir, target); err != nil {
		return err
	}
	// The rename is durable before state.json lists the version.
	if err := fsutil.SyncDir(s.fs, vdir); err != nil {
		return err
	}
	return s.update(appID, func(st *AppState) error {
		if i := installedIndex(*st, version); i >= 0 {
			st.Installed[i].Verified = true
			return nil
		}
		st.Installed = append(st.Installed, InstalledVersion{Version: version, Verified: true})
		return nil
	})
}
