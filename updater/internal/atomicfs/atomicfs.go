// Package atomicfs writes files on an afero.Fs so that readers see the old
// file or the complete new one, also after a crash: a temporary file in the
// same folder, fsync, rename, fsync of the folder.
package atomicfs

import (
	"fmt"
	"github.com/minihost/minihost/runtime/mpk"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/afero"
)

// WriteReader copies r to path on fsys atomically with permissions perm
// and returns the bytes written. The folder must exist. On error the
// temporary file is removed and path is unchanged.
func WriteReader(fsys afero.Fs, path string, r io.Reader, perm os.FileMode) (n int64, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := afero.TempFile(fsys, dir, "."+base+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close() // harmless when already closed
			_ = fsys.Remove(tmp)
		}
	}()
	if n, err = io.Copy(f, r); err != nil {
		return n, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return n, fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := fsys.Chmod(tmp, perm); err != nil {
		return n, fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := Rename(fsys, tmp, path); err != nil {
		return n, err
	}
	return n, nil
}

// Rename renames oldpath to newpath (replacing it) and syncs the folder of
// newpath so the rename survives a crash.
func Rename(fsys afero.Fs, oldpath, newpath string) error {
	if err := fsys.Rename(oldpath, newpath); err != nil {
		return fmt.Errorf("rename %s: %w", oldpath, err)
	}
	return SyncDir(fsys, filepath.Dir(newpath))
}

// SyncDir makes a rename, create or remove in dir durable (see
// mpk.SyncDir, which it is).
func SyncDir(fsys afero.Fs, dir string) error { return mpk.SyncDir(fsys, dir) }
