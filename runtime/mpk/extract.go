package mpk

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
)

// Extract writes the package's files and folders into the new folder dir on
// fsys, atomically: it fills a sibling temporary folder, syncs every file
// and folder, renames it to dir and syncs the parent. Bytes are bounded by
// what is actually read (file and total size limits, the total ratio to
// the package size), whatever the zip headers declare, and each file's
// length and CRC are checked.
//
// If dir exists already, Extract returns an error wrapping fs.ErrExist and
// changes nothing. On any error nothing is left behind except dir's parent
// folders, which are created as needed; the one exception is a failure to
// sync the parent after the rename, reported while dir stays complete.
// Files get mode 0644, folders 0755.
//
// ctx cancels the extraction between files (the error then wraps
// ctx.Err() and nothing is left behind). Extract may run concurrently with
// other reads of the Package; two Extracts racing for the same dir leave
// one complete copy or fail.
func (p *Package) Extract(ctx context.Context, fsys afero.Fs, dir string) (err error) {
	dir = filepath.Clean(dir)
	if _, err := fsys.Stat(dir); err == nil {
		return fmt.Errorf("extract package to %s: %w", dir, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("extract package to %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if err := fsys.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("extract package to %s: %w", dir, err)
	}
	tmp, err := afero.TempDir(fsys, parent, fsutil.TempPrefix(filepath.Base(dir)))
	if err != nil {
		return fmt.Errorf("extract package to %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			fsys.RemoveAll(tmp)
		}
	}()
	if err := fsys.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("extract package to %s: %w", dir, err)
	}

	// Every folder: explicit entries and the parents of files.
	dirSet := map[string]bool{}
	for _, d := range p.dirs {
		dirSet[d] = true
	}
	for _, f := range p.files {
		for d := path.Dir(f.Name); d != "."; d = path.Dir(d) {
			dirSet[d] = true
		}
	}
	dirs := make([]string, 0, len(dirSet))
	for d := range dirSet {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs) // parents before children
	for _, d := range dirs {
		if err := fsys.Mkdir(filepath.Join(tmp, filepath.FromSlash(d)), 0o755); err != nil {
			return fmt.Errorf("extract package to %s: %w", dir, err)
		}
	}

	// Counted from the bytes actually written, whatever the headers say.
	// Each file is synced and closed by a syncer while the next one is
	// inflated, and all are synced before the rename below.
	sy := newSyncer()
	remaining := p.lim.maxTotal(p.Size)
	for _, f := range p.files {
		if err := ctx.Err(); err != nil {
			sy.wait()
			return fmt.Errorf("extract package to %s: %w", dir, err)
		}
		dst := filepath.Join(tmp, filepath.FromSlash(f.Name))
		out, n, err := extractFile(fsys, dst, f, min(p.lim.MaxFileSize, remaining))
		if err != nil {
			sy.wait()
			return fmt.Errorf("extract package to %s: %w", dir, err)
		}
		sy.syncFile(out, dst)
		remaining -= n
	}
	// Every folder, the top one included; the files' syncs may still run.
	for i := len(dirs) - 1; i >= -1; i-- {
		d := tmp
		if i >= 0 {
			d = filepath.Join(tmp, filepath.FromSlash(dirs[i]))
		}
		sy.syncDir(fsys, d)
	}
	if err := sy.wait(); err != nil {
		return fmt.Errorf("extract package to %s: %w", dir, err)
	}
	// Stat again: dir may have appeared meanwhile, and renaming a folder
	// over an empty one succeeds on POSIX systems.
	if _, err := fsys.Stat(dir); err == nil {
		return fmt.Errorf("extract package to %s: %w", dir, fs.ErrExist)
	}
	if err := fsys.Rename(tmp, dir); err != nil {
		if _, serr := fsys.Stat(dir); serr == nil {
			return fmt.Errorf("extract package to %s: %w", dir, fs.ErrExist)
		}
		return fmt.Errorf("extract package to %s: %w", dir, err)
	}
	if err := fsutil.SyncDir(fsys, parent); err != nil {
		// The package is in place; only durability is in doubt. Report it
		// without undoing the rename, which could lose a complete install.
		return fmt.Errorf("extract package to %s: %w", dir, err)
	}
	return nil
}

// extractFile copies f to the new file dst, reading at most limit bytes,
// and returns it open (the caller syncs and closes it) with the number of
// bytes written. On error it closes the file itself.
func extractFile(fsys afero.Fs, dst string, f *zip.File, limit int64) (out afero.File, n int64, err error) {
	defer func() {
		if err != nil && out != nil {
			out.Close()
			out = nil
		}
	}()
	name := f.Name
	if f.UncompressedSize64 > uint64(limit) {
		return nil, 0, &pkgError{File: name, Err: because(ErrTooLarge, fmt.Sprintf("declared size %d bytes, above the remaining limit of %d", f.UncompressedSize64, limit), nil)}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, 0, &pkgError{File: name, Err: because(errNotZip, "open", err)}
	}
	defer rc.Close()
	out, err = fsys.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, 0, err
	}
	src := &readErrs{r: io.LimitReader(rc, limit+1)}
	n, err = io.Copy(fsutil.WriteBehind(out), src) // the write-out overlaps the inflating
	switch {
	case err != nil && src.err != nil: // a corrupt package: bad CRC, bad deflate data
		return out, n, &pkgError{File: name, Err: because(errNotZip, "read", src.err)}
	case err != nil:
		return out, n, fmt.Errorf("write %s: %w", dst, err)
	case n > limit:
		return out, n, &pkgError{File: name, Err: because(ErrTooLarge, fmt.Sprintf("holds more than the limit of %d bytes", limit), nil)}
	case uint64(n) != f.UncompressedSize64:
		return out, n, &pkgError{File: name, Err: because(errNotZip, fmt.Sprintf("holds %d bytes, not the %d declared", n, f.UncompressedSize64), nil)}
	}
	return out, n, nil
}

// readErrs remembers the reader's error so that a failed copy can tell a
// corrupt package from a failing disk.
type readErrs struct {
	r   io.Reader
	err error
}

func (r *readErrs) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}
