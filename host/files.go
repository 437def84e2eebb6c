package host

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
)

// openPackage opens the package file at path (refusing, without blocking,
// anything but a regular file), validates it and hashes it, reading the one
// open file for both, so that the bytes hashed are the bytes checked; sum
// is the file's sha256 in hex. The caller must call done after the last
// use of the Package.
func openPackage(path string) (p *mpk.Package, sum string, done func(), err error) {
	f, err := mpk.OpenRegular(path)
	if err != nil {
		return nil, sum, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, sum, nil, err
	}
	p, err = mpk.Open(f, st.Size(), mpk.Limits{})
	if err != nil {
		f.Close()
		return nil, sum, nil, fmt.Errorf("open package %s: %w", path, err)
	}
	if sum, _, err = fsutil.SHA256(io.NewSectionReader(f, 0, st.Size())); err != nil {
		f.Close()
		return nil, sum, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return p, sum, func() { f.Close() }, nil
}

func readFull(r io.Reader, b []byte) (int, error) { return io.ReadFull(r, b) }

// Extractions of packages run from a file (LaunchPackage) live in
// home/packages/<appID>/<version>-<hash>.
const (
	// keepExtractions is how many extractions of one app LaunchPackage
	// keeps: the most recently launched ones (by modification time, which
	// each launch sets), besides those this process's apps run from.
	keepExtractions = 3
	// staleExtractTemp is the age after which an extraction's temporary
	// folder is taken for a crash leftover: another process may be
	// filling a younger one.
	staleExtractTemp = time.Hour
	// pruneMark is the infix of an extraction renamed away for removal:
	// renamed first, so that no folder under a valid name is ever half
	// removed (a crash mid-removal would leave one LaunchPackage reuses).
	pruneMark = ".prune-"
)

// extractionUse tracks which extraction folders this process needs: one a
// LaunchPackage call is launching, and those running apps were started
// from (by their Done channels, as an app has no close hook to call back).
// It is per process, not per Host, so that Hosts sharing a home see each
// other's apps.
var extractionUse = struct {
	sync.Mutex
	launching map[string]int
	apps      map[string][]<-chan struct{}
}{launching: map[string]int{}, apps: map[string][]<-chan struct{}{}}

// claimExtraction marks dir as being launched. The returned release ends
// that; given the app started from dir, it keeps dir in use until the app
// closes.
func claimExtraction(dir string) (release func(a *App)) {
	key := useKey(dir)
	extractionUse.Lock()
	defer extractionUse.Unlock()
	extractionUse.launching[key]++
	// Forget closed apps, so the table stays as small as what runs.
	for k, chans := range extractionUse.apps {
		if chans = openChans(chans); len(chans) == 0 {
			delete(extractionUse.apps, k)
		} else {
			extractionUse.apps[k] = chans
		}
	}
	return func(a *App) {
		extractionUse.Lock()
		defer extractionUse.Unlock()
		if extractionUse.launching[key]--; extractionUse.launching[key] <= 0 {
			delete(extractionUse.launching, key)
		}
		if a != nil {
			extractionUse.apps[key] = append(extractionUse.apps[key], a.Done())
		}
	}
}

// extractionInUse reports whether dir is being launched or runs an app of
// this process. The caller holds extractionUse's lock, so that nothing can
// claim dir between this check and what the caller does about it.
func extractionInUse(dir string) bool {
	key := useKey(dir)
	chans := openChans(extractionUse.apps[key])
	if len(chans) == 0 {
		delete(extractionUse.apps, key)
	} else {
		extractionUse.apps[key] = chans
	}
	return extractionUse.launching[key] > 0 || len(chans) > 0
}

// openChans returns the channels of chans that are not closed, reusing its
// array.
func openChans(chans []<-chan struct{}) []<-chan struct{} {
	open := chans[:0]
	for _, c := range chans {
		select {
		case <-c:
		default:
			open = append(open, c)
		}
	}
	return open
}

func useKey(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return filepath.Clean(dir)
}

// isExtractionName reports whether name is an extraction folder name,
// "<version>-<12 hex digits>".
func isExtractionName(name string) bool {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return false
	}
	sum := name[i+1:]
	if len(sum) != 12 || strings.Trim(sum, "0123456789abcdef") != "" {
		return false
	}
	_, err := mpk.ParseVersion(name[:i])
	return err == nil
}

// pruneExtractions removes the extractions in appDir (one app's) beyond
// the keepExtractions most recently launched, never current (being
// launched) nor one this process is launching or running an app from.
// Apps of other processes are not known: they are protected only by being
// among the most recently launched, so a long-running app of another
// process whose folder has dropped out of those can lose its assets. It
// also removes leftovers: folders renamed for removal, and extraction
// temporary folders older than staleExtractTemp. Entries of any other name
// are left alone. Failures are logged: pruning must not fail a launch.
func (h *Host) pruneExtractions(appDir, current string) {
	fsys := h.cfg.Fs
	infos, err := afero.ReadDir(fsys, appDir)
	if err != nil {
		h.log.Warn("prune extracted packages", "folder", appDir, "err", err)
		return
	}
	var exts []fs.FileInfo
	for _, fi := range infos {
		name := fi.Name()
		switch {
		case !fi.IsDir():
		case strings.HasPrefix(name, ".") && strings.Contains(name, pruneMark),
			strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-") && time.Since(fi.ModTime()) > staleExtractTemp:
			if err := fsys.RemoveAll(filepath.Join(appDir, name)); err != nil {
				h.log.Warn("remove leftover of an extraction", "folder", filepath.Join(appDir, name), "err", err)
			}
		case isExtractionName(name):
			exts = append(exts, fi)
		}
	}
	sort.Slice(exts, func(i, j int) bool {
		if a, b := exts[i].ModTime(), exts[j].ModTime(); !a.Equal(b) {
			return a.After(b)
		}
		return exts[i].Name() > exts[j].Name()
	})
	for i, fi := range exts {
		dir := filepath.Join(appDir, fi.Name())
		if i < keepExtractions || useKey(dir) == useKey(current) {
			continue
		}
		if err := removeExtraction(fsys, appDir, fi.Name()); err != nil {
			h.log.Warn("remove old extracted package", "folder", dir, "err", err)
		}
	}
}

// removeExtraction renames appDir/name to a hidden name, unless this
// process is launching or running it, then removes it. The check and the
// rename happen under extractionUse's lock, so a launch cannot claim the
// folder in between; the slow removal happens after.
func removeExtraction(fsys afero.Fs, appDir, name string) error {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return err
	}
	gone := filepath.Join(appDir, "."+name+pruneMark+hex.EncodeToString(r[:]))
	extractionUse.Lock()
	if extractionInUse(filepath.Join(appDir, name)) {
		extractionUse.Unlock()
		return nil
	}
	err := fsys.Rename(filepath.Join(appDir, name), gone)
	extractionUse.Unlock()
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // pruned meanwhile by another launch
		}
		return err
	}
	return fsys.RemoveAll(gone)
}

// touchExtraction marks dir as just launched, for pruneExtractions' order.
func (h *Host) touchExtraction(dir string) {
	now := time.Now()
	if err := h.cfg.Fs.Chtimes(dir, now, now); err != nil {
		h.log.Warn("mark extracted package as used", "folder", dir, "err", err)
	}
}
