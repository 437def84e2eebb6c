package release

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/safename"
	"github.com/minihost/minihost/updater/internal/sign"
	"github.com/minihost/minihost/updater/internal/wire"
)

// DefaultExportLifetime is the validity of documents written by Export:
// longer than the server's, since a static tree is re-exported on a
// schedule (re-export before half of it has passed).
const DefaultExportLifetime = 24 * time.Hour

// ExportConfig configures Export, which copies it and fills its zero
// fields once. DataDir, OutDir and Key are required.
type ExportConfig struct {
	// Fs holds the release server's data folder; nil: the OS file system.
	Fs afero.Fs
	// DataDir is the release server's data folder. A server may be running
	// on it: Export reads each app's state once and only what it names.
	DataDir string
	// OutFs receives the tree; nil: the OS file system.
	OutFs afero.Fs
	// OutDir is the root of the public tree (created if missing).
	OutDir string
	// Key signs the documents: the server's key, whose public half the
	// clients hold.
	Key ed25519.PrivateKey
	// Lifetime is the documents' validity; 0: DefaultExportLifetime.
	Lifetime time.Duration
	// Now is the clock for issued-at; nil: time.Now.
	Now func() time.Time
	// Apps limits the export to these app ids; nil: every app.
	Apps []string
}

// ExportResult reports what Export wrote; a plain value, owned by the
// caller.
type ExportResult struct {
	// Apps are the app ids exported.
	Apps []string
	// Packages is how many packages the tree holds for them; Copied how
	// many of those this run wrote (the others were already there, intact).
	Packages, Copied int
	// ExpiresAt is when the documents written expire; zero when none was
	// (no app exported).
	ExpiresAt time.Time
}

// Export writes the public part of a release server's data folder as plain
// files at the server's public paths, so any static web server, CDN or
// bucket can serve clients:
//
//	OUT/apps/APPID/release.json            signed, valid for Lifetime
//	OUT/apps/APPID/packages/VERSION.mpk    every version not revoked
//	OUT/apps/APPID/patches/TO/FROM.mpd     their patches the document lists
//
// Packages are copied (with their sha256 checked) before the document that
// names them, each file atomically, so a client reading the tree during an
// export sees the old document or the new one, with its packages. Packages
// already present and intact are not copied again; files of revoked
// versions are left in place (no document names them). Files are written
// with mode 0644 and the folders Export creates (OutDir too when it is
// missing), like those inside OutDir, get at least 0755 whatever the
// umask, since a web server usually runs as another user. Export does not
// start goroutines; ctx cancels it between files.
//
// DataDir must have a release server's layout (the apps folder New
// creates): for any other folder, missing, empty or an exported tree,
// Export writes nothing and returns an error wrapping ErrInvalidArgument.
// A data folder with no published app exports nothing: no app, and a zero
// ExpiresAt.
func Export(ctx context.Context, cfg ExportConfig) (*ExportResult, error) {
	if cfg.DataDir == "" || cfg.OutDir == "" {
		return nil, errors.New("export releases: data and output folders are required")
	}
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("export releases: private key is %d bytes, want %d", len(cfg.Key), ed25519.PrivateKeySize)
	}
	if cfg.Fs == nil {
		cfg.Fs = afero.NewOsFs()
	}
	if cfg.OutFs == nil {
		cfg.OutFs = afero.NewOsFs()
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = DefaultExportLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := checkDataDir(cfg.Fs, cfg.DataDir); err != nil {
		return nil, fmt.Errorf("export releases: %w", err)
	}
	ids := cfg.Apps
	if ids == nil {
		var err error
		if ids, err = listServerApps(cfg.Fs, cfg.DataDir); err != nil {
			return nil, fmt.Errorf("export releases: %w", err)
		}
	}
	res := &ExportResult{}
	for _, id := range ids {
		if err := safename.AppID(id); err != nil {
			if cfg.Apps == nil {
				continue // not an app folder
			}
			return nil, fmt.Errorf("export releases: %w", err)
		}
		st, err := loadServerApp(cfg.Fs, cfg.DataDir, id)
		if err != nil {
			return nil, fmt.Errorf("export releases: %w", err)
		}
		if st == nil {
			if cfg.Apps == nil {
				continue
			}
			return nil, fmt.Errorf("export releases: %w %q", updater.ErrUnknownApp, id)
		}
		if err := exportApp(ctx, cfg, st, res); err != nil {
			return nil, fmt.Errorf("export releases of %s: %w", id, err)
		}
		res.Apps = append(res.Apps, id)
	}
	return res, nil
}

// checkDataDir returns an error wrapping ErrInvalidArgument unless dir
// has the layout a release server gives its data folder: an apps folder
// (New creates it, so a fresh server's folder has one, maybe empty), whose
// app folders hold state.json. A folder with no apps folder (missing,
// empty, or any other folder) and an exported tree (app folders with
// release.json but no state.json) are refused, rather than exported as
// nothing.
func checkDataDir(fsys afero.Fs, dir string) error {
	for _, want := range []struct{ path, missing, notDir string }{
		{dir, "no such folder", "not a folder"},
		{filepath.Join(dir, "apps"), "no apps folder", "apps is not a folder"},
	} {
		why := ""
		switch fi, err := fsys.Stat(want.path); {
		case errors.Is(err, fs.ErrNotExist):
			why = want.missing
		case err != nil:
			return err
		case !fi.IsDir():
			why = want.notDir
		}
		if why != "" {
			return fmt.Errorf("%w: %s is not a release server data folder (%s)", ErrInvalidArgument, dir, why)
		}
	}
	ids, err := listServerApps(fsys, dir)
	if err != nil {
		return err
	}
	exported := false
	for _, id := range ids {
		if ok, err := afero.Exists(fsys, statePath(dir, id)); err != nil {
			return err
		} else if ok {
			return nil
		}
		if ok, _ := afero.Exists(fsys, filepath.Join(dir, filepath.FromSlash(wire.DocumentPath(id)))); ok {
			exported = true
		}
	}
	if exported {
		return fmt.Errorf("%w: %s is not a release server data folder (its apps have release.json but no %s: an exported tree?)", ErrInvalidArgument, dir, stateFileName)
	}
	return nil
}

func exportApp(ctx context.Context, cfg ExportConfig, st *serverApp, res *ExportResult) error {
	for i, v := range st.Versions {
		if v.Revoked {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		copied, err := exportFile(cfg, packageFile(cfg.DataDir, st.AppID, v.Version), wire.PackagePath(st.AppID, v.Version), v.Size, v.SHA256)
		if err != nil {
			return err
		}
		res.Packages++
		if copied {
			res.Copied++
		}
		for _, p := range st.patches(i) { // at the paths the document names
			if _, err := exportFile(cfg, patchFile(cfg.DataDir, st.AppID, v.Version, p.From), p.Path, p.Size, p.SHA256); err != nil {
				return err
			}
		}
	}
	now := cfg.Now()
	doc := st.document(now, cfg.Lifetime)
	body, err := sign.Document(doc, cfg.Key)
	if err != nil {
		return err
	}
	dst := filepath.Join(cfg.OutDir, filepath.FromSlash(wire.DocumentPath(st.AppID)))
	if err := mkdirPublic(cfg.OutFs, cfg.OutDir, filepath.Dir(dst)); err != nil {
		return err
	}
	if err := fsutil.WriteFile(cfg.OutFs, dst, body, 0o644); err != nil {
		return err
	}
	res.ExpiresAt = doc.ExpiresAt
	return nil
}

// exportFile copies one package or patch, src in the data folder, to its
// public path rel unless an intact copy is there; it reports whether it
// copied.
func exportFile(cfg ExportConfig, src, rel string, size int64, sum string) (bool, error) {
	dst := filepath.Join(cfg.OutDir, filepath.FromSlash(rel))
	if ok, err := fileHasHash(cfg.OutFs, dst, size, sum); err != nil {
		return false, err
	} else if ok {
		return false, nil
	}
	f, err := cfg.Fs.Open(src)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := mkdirPublic(cfg.OutFs, cfg.OutDir, filepath.Dir(dst)); err != nil {
		return false, err
	}
	h := sha256.New()
	// Hash while copying and refuse to land a package that is not the one
	// the state (and so the document) describes.
	r := &checkedReader{r: io.TeeReader(io.LimitReader(f, size+1), h), size: size, sum: sum, h: h, name: src}
	if err := fsutil.WriteFunc(cfg.OutFs, dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	}, nil); err != nil {
		return false, err
	}
	return true, nil
}

// publicDirMode is the least a folder of the public tree allows: read
// and traverse for everyone.
const publicDirMode fs.FileMode = 0o755

// mkdirPublic is MkdirAll(dir) for the public tree: every folder it
// creates, and every folder below outDir on the way to dir, gets at least
// publicDirMode. MkdirAll's mode goes through the umask, and a tree
// exported under umask 077 answers 403 to every client of a web server
// running as another user (README.md, "Serving from a static web
// server"). An existing outDir and the folders above it are the
// operator's and are left as they are.
func mkdirPublic(fsys afero.Fs, outDir, dir string) error {
	var fix []string
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := fsys.Stat(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		rel, _ := filepath.Rel(outDir, d)
		inside := rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
		if err == nil && !inside {
			break // outDir itself or above it, and already there
		}
		if err != nil || fi.Mode().Perm()&publicDirMode != publicDirMode {
			fix = append(fix, d)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := fsys.MkdirAll(dir, publicDirMode); err != nil {
		return err
	}
	for _, d := range fix {
		fi, err := fsys.Stat(d)
		if err != nil {
			return err
		}
		if err := fsys.Chmod(d, fi.Mode().Perm()|publicDirMode); err != nil {
			return err
		}
	}
	return nil
}

// fileHasHash reports whether path exists with the given size and sha256.
func fileHasHash(fsys afero.Fs, path string, size int64, sum string) (bool, error) {
	f, err := fsys.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() != size {
		return false, err
	}
	got, _, err := fsutil.SHA256(f)
	if err != nil {
		return false, err
	}
	return got == sum, nil
}

// checkedReader fails at EOF unless exactly size bytes with sha256 sum
// went through, so an atomic write of a damaged source never lands.
type checkedReader struct {
	r    io.Reader
	h    interface{ Sum([]byte) []byte }
	n    int64
	size int64
	sum  string
	name string
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err == io.EOF {
		if c.n != c.size {
			return n, fmt.Errorf("%s is %d bytes, the release says %d", c.name, c.n, c.size)
		}
		if got := hex.EncodeToString(c.h.Sum(nil)); got != c.sum {
			return n, fmt.Errorf("%s: %w: got %s, want %s", c.name, updater.ErrHashMismatch, got, c.sum)
		}
	}
	return n, err
}
