package mpk

import (
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

// WriteFileAtomic writes data to path on fsys so that readers see either the
// old file or the complete new one, also after a crash: it writes a
// temporary file in the same folder, syncs it, renames it over path and
// syncs the folder. On error the temporary file is removed and path is
// unchanged. The folder must exist.
//
// Concurrent calls for the same path are safe: the last rename wins.
func WriteFileAtomic(fsys afero.Fs, path string, data []byte, perm os.FileMode) error {
	return writeAtomic(fsys, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, nil)
}

// writeAtomic is WriteFileAtomic with the contents produced by fill. When
// check is not nil it runs on the complete, synced temporary file before the
// rename; its error aborts the write.
func writeAtomic(fsys afero.Fs, path string, perm os.FileMode, fill func(w io.Writer) error, check func(tmp string) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := afero.TempFile(fsys, dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close() // harmless when already closed
			fsys.Remove(tmp)
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
	if err := SyncDir(fsys, dir); err != nil {
		return err
	}
	return nil
}

// SyncDir makes a rename, create or remove in dir durable. Where the operating
// system cannot sync a folder (Windows, some file systems), the sync error
// is ignored: there is nothing better to do there.
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
		return true // FlushFileBuffers refuses folder handles
	}
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, errors.ErrUnsupported)
}
