package mpk

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
)

// packTime is the modification time of every packed file, so that packing
// the same files twice gives the same bytes (and the same sha256).
var packTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Pack writes the package made of srcDir to out. srcDir holds app.json, the
// prebuilt entry module and the assets; Go sources and module files (*.go,
// go.mod, go.sum, go.work*), README* files and hidden files and folders
// (names starting with '.') are left out, and so is out itself. A symbolic
// link in srcDir is an error naming it.
//
// The result is validated with Open (default Limits) before it replaces
// out, written atomically (temporary file, sync, rename, sync folder), and
// identical inputs give an identical file. On any error out is untouched
// and no temporary file remains. ctx cancels the write between files (the
// error then wraps ctx.Err()). Pack keeps no state: concurrent calls for
// distinct outputs are safe, and for one output the last rename wins.
func Pack(ctx context.Context, srcDir, out string) error {
	manifest, _, err := readSourceManifest(srcDir)
	if err != nil {
		return fmt.Errorf("pack %s: %w", srcDir, err)
	}
	files, err := collect(srcDir, out, nil)
	if err != nil {
		return fmt.Errorf("pack %s: %w", srcDir, err)
	}
	if err := writePackage(ctx, out, manifest, files); err != nil {
		return fmt.Errorf("pack %s: %w", srcDir, err)
	}
	return nil
}

// readSourceManifest reads and validates srcDir/app.json.
func readSourceManifest(srcDir string) ([]byte, *Manifest, error) {
	// Bounded and refusing a named pipe, so that a bad source folder fails
	// rather than hangs; ParseManifest refuses what is above its limit.
	data, err := readRegular(filepath.Join(srcDir, ManifestName), maxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, &pkgError{File: ManifestName, Err: because(errNoManifest, "missing from "+srcDir, nil)}
	}
	if err != nil {
		return nil, nil, err
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, nil, err
	}
	return data, m, nil
}

// srcFile is one file to pack: its name in the package and its path on disk.
type srcFile struct {
	name string
	path string
}

// excluded reports whether a file of this base name stays out of packages.
func excluded(base string) bool {
	return strings.HasPrefix(base, ".") ||
		strings.HasSuffix(base, ".go") ||
		base == "go.mod" || base == "go.sum" || strings.HasPrefix(base, "go.work") ||
		base == "default.pgo" || // the compiler's profile (samples/jsbase), not an asset
		strings.HasPrefix(base, "README")
}

// collect lists the files of srcDir to pack, sorted, leaving out excluded
// names, the file out, app.json (written separately) and any name for
// which skip returns true.
func collect(srcDir, out string, skip func(name string) bool) ([]srcFile, error) {
	root, err := filepath.EvalSymlinks(srcDir) // the folder itself may be reached through a link
	if err != nil {
		return nil, err
	}
	outAbs, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	if d, err := filepath.EvalSymlinks(filepath.Dir(outAbs)); err == nil {
		outAbs = filepath.Join(d, filepath.Base(outAbs)) // compare like with like
	}
	var files []srcFile
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if excluded(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch t := d.Type(); {
		case t&fs.ModeSymlink != 0:
			return &pkgError{File: name, Err: because(errUnsafePath, "symbolic links are not allowed in packages", nil)}
		case t.IsDir():
			return nil
		case !t.IsRegular():
			return &pkgError{File: name, Err: because(errUnsafePath, fmt.Sprintf("not a regular file or folder (mode %v)", t), nil)}
		}
		if abs, err := filepath.Abs(p); err == nil && abs == outAbs {
			return nil
		}
		if name == ManifestName || (skip != nil && skip(name)) {
			return nil
		}
		if err := checkPath(name); err != nil {
			return &pkgError{File: name, Err: err}
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > defaultMaxFileSize {
			return &pkgError{File: name, Err: because(ErrTooLarge, fmt.Sprintf("%d bytes, above the limit of %d", info.Size(), defaultMaxFileSize), nil)}
		}
		files = append(files, srcFile{name: name, path: p})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// writePackage zips app.json (manifest) and files into out atomically,
// validating the result with Open before the rename. ctx is checked
// before each file.
func writePackage(ctx context.Context, out string, manifest []byte, files []srcFile) error {
	files = append([]srcFile(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	osfs := afero.NewOsFs()
	fill := func(w io.Writer) error {
		zw := zip.NewWriter(w)
		if err := addFile(zw, ManifestName, func(w io.Writer) error {
			_, err := w.Write(manifest)
			return err
		}); err != nil {
			return err
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := addFile(zw, f.name, func(w io.Writer) error {
				src, err := OpenRegular(f.path) // collect saw a regular file; it may have changed since
				if err != nil {
					return err
				}
				defer src.Close()
				_, err = io.Copy(w, src)
				return err
			}); err != nil {
				return err
			}
		}
		return zw.Close()
	}
	check := func(tmp string) error {
		p, err := OpenFile(tmp, Limits{})
		if err != nil {
			var perr *pkgError
			if errors.As(err, &perr) {
				err = perr // drop the temporary file's name
			}
			return fmt.Errorf("check result: %w", err)
		}
		return p.Close()
	}
	return fsutil.WriteFunc(osfs, out, 0o644, fill, check)
}

func addFile(zw *zip.Writer, name string, fill func(w io.Writer) error) error {
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: packTime}
	h.SetMode(0o644)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if err := fill(w); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	return nil
}

// isEntry returns a skip function for collect that leaves out name.
func isEntry(entry string) func(string) bool {
	entry = path.Clean(entry)
	return func(name string) bool { return name == entry }
}
