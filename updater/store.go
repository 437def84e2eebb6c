package updater

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
	"github.com/spf13/afero"
)

// The local package store. Layout under StoreConfig.Dir:
//
//	apps/<appID>/state.json           AppState, written atomically
//	apps/<appID>/versions/<version>/  one extracted package per version
//	apps/<appID>/versions/.install-*  extractions in progress
//	apps/<appID>/files/<version>.json the file list of a version (fileList)
//
// state.json is the single source of truth: a version counts as installed
// only once its folder is complete and state.json lists it, and state.json
// stops listing a version before its folder is removed, so a crash at any
// point leaves at worst an orphan folder, which the next Prune removes.
// Every step is made durable before the next one relies on it (files
// synced, then their folders, then the rename, then the parent folder),
// so a power cut leaves the same: see RELIABILITY.md, "Crash and power-cut
// safety", for the crash points and how the tests replay each one.
// The file list, written durably before the version's folder is renamed
// into place, lets Check tell a complete folder from a damaged one.

const (
	storeStateFile     = "state.json"
	storeVersionsDir   = "versions"
	storeInstallPrefix = ".install-"
	storeFilesDir      = "files"
)

// StoreConfig configures OpenStore.
type StoreConfig struct {
	// Fs is the file system the store lives on. Default afero.NewOsFs().
	Fs afero.Fs
	// Dir is the host's home folder; the store uses Dir/apps. Required.
	Dir string
}

// Store is the local package store: per-app state (installed versions,
// the active one, pending, last use, the last verified release document)
// and the extracted packages. A Store is goroutine-safe: changes to one
// app are serialised by a per-app lock, and every state change is an
// atomic write. Two Stores (or processes) over the same Dir are not
// coordinated. A Store holds no open files and needs no Close.
type Store struct {
	fs  afero.Fs
	dir string

	mu         sync.Mutex
	locks      map[string]*sync.Mutex // per app id
	installing map[string]int         // extraction folders in use
}

// AppState is the persistent state of one app (apps/<appID>/state.json).
type AppState struct {
	AppID string `json:"appId"`
	// Installed lists the versions whose folders are complete.
	Installed []InstalledVersion `json:"installed,omitempty"`
	// Active is the version the app last opened ("" if none).
	Active string `json:"active,omitempty"`
	// LastUsed is the time of the last successful open.
	LastUsed time.Time `json:"lastUsed,omitzero"`
	// Bad lists versions marked bad locally (they crashed on launch).
	Bad []string `json:"bad,omitempty"`
	// FailingVersion and LaunchFailures count the consecutive cold starts
	// whose onLaunch trapped or timed out, for crash-loop rollback.
	FailingVersion string `json:"failingVersion,omitempty"`
	LaunchFailures int    `json:"launchFailures,omitempty"`
	// LastDocument is the raw signed envelope of the last verified release
	// document, kept after it expires (its minimum version still counts).
	LastDocument []byte `json:"lastDocument,omitempty"`
	// LastSequence is the sequence of LastDocument: a document with a lower
	// one is a replay.
	LastSequence uint64 `json:"lastSequence,omitempty"`
}

// Local returns the part of st the launch policy reads. The result shares
// nothing with st.
func (st AppState) Local() LocalState {
	return LocalState{
		Installed: slices.Clone(st.Installed),
		Active:    st.Active,
		LastUsed:  st.LastUsed,
		Bad:       slices.Clone(st.Bad),
	}
}

// OpenStore opens (creating if needed) the store in cfg.Dir.
func OpenStore(cfg StoreConfig) (*Store, error) {
	if cfg.Dir == "" {
		return nil, errors.New("open store: StoreConfig.Dir is empty")
	}
	if cfg.Fs == nil {
		cfg.Fs = afero.NewOsFs()
	}
	s := &Store{fs: cfg.Fs, dir: cfg.Dir, locks: map[string]*sync.Mutex{}, installing: map[string]int{}}
	if err := mkdirAllSync(s.fs, filepath.Join(cfg.Dir, "apps")); err != nil {
		return nil, fmt.Errorf("open store %s: %w", cfg.Dir, err)
	}
	s.removeTempLeftovers()
	return s, nil
}

// Apps returns the ids of the apps with saved state, sorted.
func (s *Store) Apps() ([]string, error) {
	infos, err := afero.ReadDir(s.fs, filepath.Join(s.dir, "apps"))
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	var ids []string
	for _, fi := range infos {
		if !fi.IsDir() || safename.AppID(fi.Name()) != nil {
			continue
		}
		if ok, _ := afero.Exists(s.fs, s.statePath(fi.Name())); ok {
			ids = append(ids, fi.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Load returns the saved state of appID; an app never saved has the zero
// state (with AppID set) and no error. A state file that does not parse is
// an error naming the file: it is never silently reset.
func (s *Store) Load(appID string) (AppState, error) {
	if err := safename.AppID(appID); err != nil {
		return AppState{}, fmt.Errorf("load app state: %w", err)
	}
	return s.load(appID)
}

func (s *Store) load(appID string) (AppState, error) {
	path := s.statePath(appID)
	data, err := afero.ReadFile(s.fs, path)
	if errors.Is(err, fs.ErrNotExist) {
		return AppState{AppID: appID}, nil
	}
	if err != nil {
		return AppState{}, fmt.Errorf("load app state: %w", err)
	}
	return parseState(appID, path, data)
}

// parseState parses the contents of appID's state file at path.
func parseState(appID, path string, data []byte) (AppState, error) {
	var st AppState
	if err := json.Unmarshal(data, &st); err != nil {
		return AppState{}, fmt.Errorf("load app state: %s: %w", path, err)
	}
	if st.AppID != appID {
		return AppState{}, fmt.Errorf("load app state: %s: appId is %q, want %q", path, st.AppID, appID)
	}
	return st, nil
}

// editState reads appID's state, calls fn on it and writes the result
// atomically, all under the app's lock. When fn returns an error nothing
// is written and editState returns that error. fn must not call other
// Store methods for the same app (it would deadlock). Callers outside the
// store use the intent methods (store_intent.go) instead.
func (s *Store) editState(appID string, fn func(*AppState) error) error {
	if err := safename.AppID(appID); err != nil {
		return fmt.Errorf("update app state: %w", err)
	}
	unlock := s.lock(appID)
	defer unlock()
	return s.update(appID, fn)
}

// update is editState with the app's lock held.
func (s *Store) update(appID string, fn func(*AppState) error) error {
	st, err := s.load(appID)
	if err != nil {
		return err
	}
	if err := fn(&st); err != nil {
		return err
	}
	return s.save(appID, st)
}

// save writes st as appID's state, atomically; the app's lock is held.
func (s *Store) save(appID string, st AppState) error {
	st.AppID = appID
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("save state of %s: %w", appID, err)
	}
	if err := mkdirAllSync(s.fs, filepath.Dir(s.statePath(appID))); err != nil {
		return fmt.Errorf("save state of %s: %w", appID, err)
	}
	if err := writeFileAtomic(s.fs, s.statePath(appID), append(data, '\n')); err != nil {
		return fmt.Errorf("save state of %s: %w", appID, err)
	}
	return nil
}

// PackageDir returns the folder of an installed version,
// Dir/apps/<appID>/versions/<version>, or "" when appID or version is not
// a safe name.
func (s *Store) PackageDir(appID, version string) string {
	if safename.AppID(appID) != nil || !safename.Segment(version) || strings.HasPrefix(version, ".") {
		return ""
	}
	return filepath.Join(s.dir, "apps", appID, storeVersionsDir, version)
}

// prune deletes the versions the retention invariant does not protect
// (rule K1). It keeps the active version; the rollback target (the newest
// installed verified version older than the active one that last, the
// last verified document, neither revokes nor puts below its minimum);
// the version waiting to be used (L, when newer than the active one); and
// every version in keep (those running instances use). last may be nil.
// state.json stops listing a version before its folder goes, and folders
// no state lists (crash leftovers) go too, except extractions in progress.
// It does nothing once ctx has ended.
func (s *Store) prune(ctx context.Context, appID string, last *Document, keep ...string) error {
	if err := safename.AppID(appID); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	unlock := s.lock(appID)
	defer unlock()
	st, err := s.load(appID)
	if err != nil {
		return fmt.Errorf("prune %s: %w", appID, err)
	}
	protected := retained(st, last, keep)
	kept := st.Installed[:0:0]
	for _, iv := range st.Installed {
		if protected(iv.Version) {
			kept = append(kept, iv)
		}
	}
	if len(kept) != len(st.Installed) {
		if err := s.update(appID, func(st *AppState) error { st.Installed = kept; return nil }); err != nil {
			return fmt.Errorf("prune %s: %w", appID, err)
		}
	}

	vdir := filepath.Join(s.dir, "apps", appID, storeVersionsDir)
	infos, err := afero.ReadDir(s.fs, vdir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("prune %s: %w", appID, err)
	}
	isKept := func(name string) bool {
		return slices.ContainsFunc(kept, func(iv InstalledVersion) bool { return iv.Version == name })
	}
	var errs []error
	removed := false
	for _, fi := range infos {
		name := fi.Name()
		if protected(name) || s.isInstalling(filepath.Join(vdir, name)) || isKept(name) {
			continue
		}
		if err := s.fs.RemoveAll(filepath.Join(vdir, name)); err != nil {
			errs = append(errs, err)
		}
		removed = true
	}
	// Without this sync a power cut could bring the folders back (as
	// orphans: harmless, but the next Prune would redo the work).
	if removed {
		if err := fsutil.SyncDir(s.fs, vdir); err != nil {
			errs = append(errs, err)
		}
	}
	// File lists of versions no longer kept go after their folders. An
	// Install holds the app's lock from writing its list to listing the
	// version, so every list seen here without a kept version is stale.
	fdir := filepath.Join(s.dir, "apps", appID, storeFilesDir)
	lists, err := afero.ReadDir(s.fs, fdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	removed = false
	for _, fi := range lists {
		if v, ok := strings.CutSuffix(fi.Name(), ".json"); ok && !strings.HasPrefix(v, ".") && (isKept(v) || protected(v)) {
			continue
		}
		if err := s.fs.RemoveAll(filepath.Join(fdir, fi.Name())); err != nil {
			errs = append(errs, err)
		}
		removed = true
	}
	if removed {
		if err := fsutil.SyncDir(s.fs, fdir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("prune %s: %w", appID, err)
	}
	return nil
}

// retained returns the retention invariant of st as a predicate on
// installed version strings.
func retained(st AppState, last *Document, keep []string) func(string) bool {
	local := st.Local()
	var protect []string
	if st.Active != "" {
		protect = append(protect, st.Active, rollbackTarget(local, last, st.Active))
	}
	if l := localVersion(local, last); l != "" {
		lv, av := semver(l), semver(st.Active)
		if av == nil || lv.GreaterThan(av) {
			protect = append(protect, l)
		}
	}
	protect = append(protect, keep...)
	return func(v string) bool {
		return slices.ContainsFunc(protect, func(p string) bool { return p != "" && sameSemver(p, v) })
	}
}

// isInstalled reports whether state.json lists version as installed and
// verified and its folder (target) exists.
func (s *Store) isInstalled(appID, version, target string) (bool, error) {
	unlock := s.lock(appID)
	defer unlock()
	return s.installedLocked(appID, version, target)
}

func (s *Store) installedLocked(appID, version, target string) (bool, error) {
	st, err := s.load(appID)
	if err != nil {
		return false, err
	}
	if i := installedIndex(st, version); i < 0 || !st.Installed[i].Verified {
		return false, nil
	}
	return afero.DirExists(s.fs, target)
}

func installedIndex(st AppState, version string) int {
	return slices.IndexFunc(st.Installed, func(iv InstalledVersion) bool { return sameSemver(iv.Version, version) })
}

func (s *Store) statePath(appID string) string {
	return filepath.Join(s.dir, "apps", appID, storeStateFile)
}

// fileListPath returns where the file list of appID's version lives.
func (s *Store) fileListPath(appID, version string) string {
	return filepath.Join(s.dir, "apps", appID, storeFilesDir, version+".json")
}

// lock takes appID's lock and returns its release.
func (s *Store) lock(appID string) func() {
	s.mu.Lock()
	l, ok := s.locks[appID]
	if !ok {
		l = new(sync.Mutex)
		s.locks[appID] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (s *Store) setInstalling(dir string, delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.installing[dir] += delta; s.installing[dir] <= 0 {
		delete(s.installing, dir)
	}
}

// isInstalling reports whether dir is an install's staging folder or the
// temporary folder its extraction fills beside it (fsutil.TempPrefix of
// its name, as mpk.Package.Extract names it).
func (s *Store) isInstalling(dir string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.installing[dir] > 0 {
		return true
	}
	parent, base := filepath.Split(dir)
	for d := range s.installing {
		if dp, db := filepath.Split(d); dp == parent && strings.HasPrefix(base, fsutil.TempPrefix(db)) {
			return true
		}
	}
	return false
}

// openHashed opens path on fsys, refusing anything but a regular file (a
// named pipe put in a download's place must fail, not hang), and reads it
// whole for its sha256 (hex) and size. The caller closes f, which stays
// usable through ReadAt: one open serves the hash and what follows, so the
// bytes used are the bytes hashed even if the path is replaced meanwhile.
func openHashed(fsys afero.Fs, path string) (f afero.File, sum string, size int64, err error) {
	f, err = openRegular(fsys, path)
	if err != nil {
		return nil, "", 0, err
	}
	if sum, size, err = fsutil.SHA256(f); err != nil {
		f.Close()
		return nil, "", 0, fmt.Errorf("read %s: %w", path, err)
	}
	return f, sum, size, nil
}

// openRegular opens path on fsys for reading, refusing anything but a
// regular file with an error wrapping mpk.ErrNotRegular. On the operating
// system's file system it is mpk.OpenRegular, which cannot block on a
// named pipe even one swapped in after the check; on other file systems
// (wrappers and test doubles) the type is checked before and after the
// open.
func openRegular(fsys afero.Fs, path string) (afero.File, error) {
	if _, ok := fsys.(*afero.OsFs); ok {
		return mpk.OpenRegular(path)
	}
	check := func(st fs.FileInfo) error {
		if !st.Mode().IsRegular() {
			return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (mode %v)", mpk.ErrNotRegular, st.Mode().Type())}
		}
		return nil
	}
	st, err := fsys.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := check(st); err != nil {
		return nil, err
	}
	f, err := fsys.Open(path)
	if err != nil {
		return nil, err
	}
	if st, err = f.Stat(); err == nil {
		err = check(st)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// mkdirAllSync is MkdirAll that also makes each folder it creates durable
// (by syncing its parent), so that a file later synced inside it cannot
// vanish with it in a power cut.
func mkdirAllSync(fsys afero.Fs, dir string) error {
	fi, err := fsys.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("make folder %s: %w", dir, syscall.ENOTDIR)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("make folder %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(fsys, parent); err != nil {
			return err
		}
	}
	if err := fsys.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // made meanwhile by someone else, who syncs it
		}
		return fmt.Errorf("make folder %s: %w", dir, err)
	}
	return fsutil.SyncDir(fsys, parent)
}
