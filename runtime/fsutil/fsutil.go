// Package fsutil holds the file helpers every layer of minihost shares:
// atomic writes that survive a crash (a temporary file in the same folder,
// fsync, rename, fsync of the folder), the folder sync itself, and the
// sha256 of a file's contents. It lives under runtime, the bottom of the
// import graph (runtime <- updater <- host <- cmd), and is not internal
// because Go's internal rule offers no folder that all of them may import
// from without a new top-level internal folder; embedders have no need of
// it. It imports nothing of minihost. Its functions keep no state and are
// safe for concurrent use; concurrent writes of one path leave one of them
// whole (the last rename wins).
package fsutil

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"syscall"

	"github.com/spf13/afero"
)

// ErrNotDurable is wrapped by a write or rename whose new file is in place
// but whose folder sync failed: readers already see the new contents, but
// a crash may still undo them. Callers that track what is on disk should
// treat the change as made. It is a read-only sentinel, safe for
// concurrent use.
var ErrNotDurable = errors.New("replaced, but the folder sync failed")

// TempPrefix returns how the temporary files of a write of a file named
// base begin ("." + base + ".tmp-"), for code that removes the leftovers of
// an interrupted write. It is safe for concurrent use.
func TempPrefix(base string) string { return "." + base + ".tmp-" }

// WriteFile writes data to path on fsys with permissions perm so that
// readers see either the old file or the complete new one, also after a
// crash: it writes a temporary file in the same folder (named with
// TempPrefix), syncs it, renames it over path and syncs the folder. On
// error path is unchanged and the temporary file removed, except that an
// error wrapping ErrNotDurable comes after the rename. The folder must
// exist. It is safe for concurrent use; for one path the last rename wins.
func WriteFile(fsys afero.Fs, path string, data []byte, perm os.FileMode) error {
	return WriteFunc(fsys, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, nil)
}

// WriteFunc is WriteFile with the contents written by fill. When check is
// not nil it runs on the complete, synced and closed temporary file (its
// path on fsys) before the rename, and its error, returned as it is,
// aborts the write. It is safe for concurrent use.
func WriteFunc(fsys afero.Fs, path string, perm os.FileMode, fill func(w io.Writer) error, check func(tmp string) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := afero.TempFile(fsys, dir, TempPrefix(base)+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if err != nil && !renamed {
			_ = f.Close() // harmless when already closed
			_ = fsys.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if check != nil {
		if err := check(tmp); err != nil {
			return err
		}
	}
	if err := fsys.Chmod(tmp, perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	renamed = true
	if err := SyncDir(fsys, dir); err != nil {
		return fmt.Errorf("write %s: %w (%w)", path, err, ErrNotDurable)
	}
	return nil
}

// Rename renames oldpath to newpath, replacing it, and syncs the folder of
// newpath so that the rename survives a crash. An error wrapping
// ErrNotDurable comes after the rename. It is safe for concurrent use.
func Rename(fsys afero.Fs, oldpath, newpath string) error {
	if err := fsys.Rename(oldpath, newpath); err != nil {
		return fmt.Errorf("rename %s: %w", oldpath, err)
	}
	if err := SyncDir(fsys, filepath.Dir(newpath)); err != nil {
		return fmt.Errorf("rename %s: %w (%w)", oldpath, err, ErrNotDurable)
	}
	return nil
}

// SyncDir makes a rename, create or remove in dir durable. Where the
// operating system cannot sync a folder, the sync error is ignored, since
// there is nothing better to do there: on Windows (FlushFileBuffers refuses
// folder handles; NTFS journals renames) and on file systems that answer
// EINVAL or ENOTSUP. Opening the folder is still required, so a missing
// folder is an error everywhere, and file systems that can sync a folder
// (such as test doubles) are synced on every operating system. It is safe
// for concurrent use.
func SyncDir(fsys afero.Fs, dir string) error {
	d, err := fsys.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	err = d.Sync()
	cerr := d.Close()
	if err != nil && !syncUnsupported(err) {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	if cerr != nil {
		return fmt.Errorf("sync folder %s: %w", dir, cerr)
	}
	return nil
}

func syncUnsupported(err error) bool {
	if goruntime.GOOS == "windows" && errors.Is(err, fs.ErrPermission) {
		return true
	}
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, errors.ErrUnsupported)
}

// SHA256 reads r to its end and returns the sha256 of what it read, in
// lower-case hex, and the number of bytes. Open the file as the caller's
// rules require (for example refusing anything but a regular file) and
// hand it over; a read error is returned as it is, for the caller to name
// the file. It is safe for concurrent use with distinct readers.
func SHA256(r io.Reader) (sum string, n int64, err error) {
	h := sha256.New()
	n, err = io.Copy(h, r)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
