package updater

import (
	"path/filepath"
	"strings"
	"sync"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/updater/internal/safename"
	"github.com/spf13/afero"
)

// The Store's temporary files: removing those of interrupted atomic writes
// when a Store opens, and counting this process's writes in progress so
// that their files are not taken for leftovers.

// removeTempLeftovers removes the temporary files of interrupted state and
// file list writes (".state.json.tmp-*", "files/.V.json.tmp-*"). They are
// never valid state: an atomic write renames its temporary file only once
// it is complete and synced, so one still there was abandoned by a crash,
// and left alone it would make doctor report a problem until --repair.
// Writes in progress in this process are skipped (atomicWrites); another
// process writing at this very moment would see its write fail, cleanly,
// as Stores over one folder are not coordinated. Extraction folders
// (versions/.install-*) are left alone: they may be an install in progress
// elsewhere, and Prune removes stale ones. Removal is best effort: what
// stays is for doctor to report. A removal is not synced: should a power
// cut bring a file back, the next open removes it again.
func (s *Store) removeTempLeftovers() {
	infos, err := afero.ReadDir(s.fs, filepath.Join(s.dir, "apps"))
	if err != nil {
		return
	}
	for _, fi := range infos {
		if !fi.IsDir() || safename.AppID(fi.Name()) != nil {
			continue
		}
		appDir := filepath.Join(s.dir, "apps", fi.Name())
		removeTemps(s.fs, appDir, isStateTemp)
		removeTemps(s.fs, filepath.Join(appDir, storeFilesDir), isFileListTemp)
	}
}

// isStateTemp reports whether name is a temporary file of a state.json
// write (fsutil.TempPrefix: ".state.json.tmp-*").
func isStateTemp(name string) bool { return strings.HasPrefix(name, fsutil.TempPrefix(storeStateFile)) }

// isFileListTemp reports whether name, in a files folder, is a temporary
// file of a file list write (".V.json.tmp-*").
func isFileListTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".json.tmp-")
}

// removeTemps removes the regular files of dir whose name matches, unless
// an atomic write of this process is in progress in dir.
func removeTemps(fsys afero.Fs, dir string, match func(string) bool) {
	atomicWrites.Lock()
	defer atomicWrites.Unlock()
	if atomicWrites.n[filepath.Clean(dir)] > 0 {
		return
	}
	infos, err := afero.ReadDir(fsys, dir)
	if err != nil {
		return
	}
	for _, fi := range infos {
		if fi.Mode().IsRegular() && match(fi.Name()) {
			_ = fsys.Remove(filepath.Join(dir, fi.Name()))
		}
	}
}

// atomicWrites counts this process's atomic writes of state and file lists
// in progress, by folder, so that a Store opened meanwhile (another Store
// over the same folder, as tests and tools make) does not take their
// temporary files for crash leftovers.
var atomicWrites = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// writeFileAtomic is fsutil.WriteFile, counted in atomicWrites.
func writeFileAtomic(fsys afero.Fs, path string, data []byte) error {
	dir := filepath.Clean(filepath.Dir(path))
	atomicWrites.Lock()
	atomicWrites.n[dir]++
	atomicWrites.Unlock()
	defer func() {
		atomicWrites.Lock()
		if atomicWrites.n[dir]--; atomicWrites.n[dir] <= 0 {
			delete(atomicWrites.n, dir)
		}
		atomicWrites.Unlock()
	}()
	return fsutil.WriteFile(fsys, path, data, 0o644)
}
