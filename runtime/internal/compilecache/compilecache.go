// Package compilecache puts minihost's caches under one root and bounds
// wazero's file compilation cache by size, evicting the least recently
// used entries first.
//
// wazero (v1.12) names each cache file by a hash of the module, its own
// version and the CPU's features, which it does not expose, and never
// touches a file it reads. So an Index learns which file a module's
// compile wrote (the one file that appeared during it) and keeps that in
// a small ref file per module hash under DIR/.lru; a later compile of the
// module sets its file's modification time to now, which is the recency
// eviction sorts by. A file no ref names (written by another process
// while this one learned, or before the Index existed) ages by the time
// wazero wrote it, so it is evicted in its turn and relearned on the
// compile after.
//
// The runtime's rewritten modules (ReadRewrite, WriteRewrite) are entries
// of the same folder and bound: a pinned module keeps both its files.
package compilecache

import (
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
)

// EnvRoot names the environment variable that moves every cache.
const EnvRoot = "MINIHOST_CACHE"

// Root returns the folder under which minihost keeps its caches:
// $MINIHOST_CACHE when set, else "minihost" under the user cache folder
// (or the temp folder when there is none). It creates nothing.
func Root() string {
	if dir := os.Getenv(EnvRoot); dir != "" {
		return dir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "minihost")
}

// refDir is the folder, inside an Index's, of its ref files; hidden, so
// that listings of cache entries leave it out.
const refDir = ".lru"

// rewriteDir is the folder, inside an Index's, of the modules as the
// runtime rewrites them before wazero compiles them, one file a module
// hash (ReadRewrite). They are entries like wazero's: one bound covers
// both, and the pin of a module keeps both.
const rewriteDir = "minihost-rewrite"

// Index bounds the wazero file cache in one folder. It is safe for
// concurrent use; several Indexes and processes may share the folder
// (each bounds it; they see each other's uses through the files' times,
// and the pins of every Index in the process).
type Index struct {
	dir string
	max int64
	// Now is the clock of uses; tests replace it before the first call.
	Now func() time.Time
	// OnError hears the bookkeeping's errors, which cost space or
	// recency, never a compile; nil drops them. Set before the first call.
	OnError func(error)

	mu     sync.Mutex // serialises Evict
	learn  sync.Mutex // one compile at a time learns its file
	refsMu sync.Mutex
	refs   map[[32]byte]string // learned or read by this process: key -> entry
}

// New returns the Index of the cache folder dir (the one given to
// wazero.NewCompilationCacheWithDir), keeping its entries' total size at
// most max bytes.
func New(dir string, max int64) *Index {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs // pins are keyed by the folder
	}
	return &Index{dir: dir, max: max, Now: time.Now, refs: map[[32]byte]string{}}
}

// pins counts, per cache folder and module hash, the live Modules of the
// process using the entry. It is process-wide, like runtime's compile
// locks, so that two Engines on one folder do not evict each other's.
var pins = struct {
	sync.Mutex
	m map[pinKey]int
}{m: map[pinKey]int{}}

type pinKey struct {
	dir string
	key [32]byte
}

// Pin marks the module with hash key as in use by a live Runtime, so that
// Evict keeps its file; Unpin undoes one Pin. A nil Index does nothing.
func (x *Index) Pin(key [32]byte) {
	if x == nil {
		return
	}
	pins.Lock()
	pins.m[pinKey{x.dir, key}]++
	pins.Unlock()
}

// Unpin undoes one Pin of key.
func (x *Index) Unpin(key [32]byte) {
	if x == nil {
		return
	}
	k := pinKey{x.dir, key}
	pins.Lock()
	if pins.m[k]--; pins.m[k] <= 0 {
		delete(pins.m, k)
	}
	pins.Unlock()
}

// Use runs compile, which compiles the module whose bytes hash to key
// through the cache, records the module's cache file as used now and
// returns compile's error. When the file is not known yet, Use learns it
// from the compile (one such compile at a time) and then evicts down to
// the bound. A nil Index only compiles.
func (x *Index) Use(key [32]byte, compile func() error) error {
	if x == nil {
		return compile()
	}
	if entry, ok := x.ref(key); ok {
		err := compile()
		x.touch(entry)
		return err
	}
	x.learn.Lock()
	before, lerr := x.entries(false)
	err := compile()
	after, aerr := x.entries(false)
	x.learn.Unlock()
	if lerr != nil || aerr != nil {
		x.report(errors.Join(lerr, aerr))
		return err
	}
	var added []string
	for name := range after {
		if _, ok := before[name]; !ok {
			added = append(added, name)
		}
	}
	if len(added) == 0 {
		return err
	}
	if err == nil && len(added) == 1 {
		x.report(x.writeRef(key, added[0]))
		x.touch(added[0])
	}
	_, everr := x.Evict()
	x.report(everr)
	return err
}

func (x *Index) report(err error) {
	if err != nil && x.OnError != nil {
		x.OnError(err)
	}
}

// Stats is what Evict found and removed.
type Stats struct {
	Entries      int   // cache files kept
	Bytes        int64 // their total size
	Removed      int   // cache files removed
	RemovedBytes int64 // their total size
}

// Evict removes the least recently used cache files, except those of
// pinned modules, until the rest fit the bound, and then the ref files
// whose cache file is gone.
func (x *Index) Evict() (Stats, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	all, err := x.entries(true)
	if err != nil {
		return Stats{}, err
	}
	var keys [][32]byte
	pins.Lock()
	for k := range pins.m {
		if k.dir == x.dir {
			keys = append(keys, k.key)
		}
	}
	pins.Unlock()
	pinned := map[string]bool{}
	for _, key := range keys {
		if entry, ok := x.ref(key); ok {
			pinned[entry] = true
		}
		pinned[rewriteName(key)] = true
	}
	list := make([]entry, 0, len(all))
	var st Stats
	for _, e := range all {
		list = append(list, e)
		st.Bytes += e.size
	}
	slices.SortFunc(list, func(a, b entry) int {
		return cmp.Or(a.used.Compare(b.used), strings.Compare(a.name, b.name))
	})
	var errs []error
	for _, e := range list {
		if st.Bytes <= x.max {
			break
		}
		if pinned[e.name] {
			continue
		}
		if err := os.Remove(filepath.Join(x.dir, e.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("evict %s: %w", e.name, err))
			continue
		}
		delete(all, e.name)
		st.Bytes -= e.size
		st.Removed++
		st.RemovedBytes += e.size
	}
	st.Entries = len(all)
	errs = append(errs, x.pruneRefs())
	x.pruneRewriteTemps()
	return st, errors.Join(errs...)
}

// entry is one cache file: its path relative to the Index's folder, size
// and the time it was last used.
type entry struct {
	name string
	size int64
	used time.Time
}

// entries lists the cache files of every wazero version's folder
// ("wazero-VERSION-GOARCH-GOOS"), and the rewrite files when rewrites is
// set, leaving out wazero's temp files and ours. Use learns a compile's
// file from wazero's alone: a rewrite file written meanwhile is not it.
func (x *Index) entries(rewrites bool) (map[string]entry, error) {
	dirs, err := filepath.Glob(filepath.Join(x.dir, "wazero-*"))
	if err != nil {
		return nil, err
	}
	if rewrites {
		dirs = append(dirs, filepath.Join(x.dir, rewriteDir))
	}
	out := map[string]entry{}
	for _, d := range dirs {
		files, err := os.ReadDir(d)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("list compile cache: %w", err)
		}
		for _, f := range files {
			if !f.Type().IsRegular() || isTemp(f.Name()) {
				continue
			}
			info, err := f.Info()
			if err != nil {
				continue // removed meanwhile
			}
			name := filepath.Base(d) + "/" + f.Name()
			out[name] = entry{name: name, size: info.Size(), used: info.ModTime()}
		}
	}
	return out, nil
}

// rewriteName is the entry name of key's rewrite file.
func rewriteName(key [32]byte) string {
	return rewriteDir + "/" + hex.EncodeToString(key[:])
}

// ReadRewrite returns the rewrite file of the module with hash key and
// marks it used now; false when there is none, or when it is larger than
// max bytes (it is then not read). The caller checks what it holds: the
// file is only as good as the disk. A nil Index has none.
func (x *Index) ReadRewrite(key [32]byte, max int64) ([]byte, bool) {
	if x == nil {
		return nil, false
	}
	name := rewriteName(key)
	f, err := os.Open(filepath.Join(x.dir, filepath.FromSlash(name)))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size() > max {
		return nil, false
	}
	data := make([]byte, info.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, false
	}
	x.touch(name)
	return data, true
}

// WriteRewrite stores the parts of data, one after the other, as the
// rewrite file of the module with hash key, whole or not at all (a temp
// file renamed; not synced: a torn file after a crash fails the reader's
// check and is written again), then evicts down to the bound. A nil
// Index does nothing.
func (x *Index) WriteRewrite(key [32]byte, data ...[]byte) error {
	if x == nil {
		return nil
	}
	name := rewriteName(key)
	if err := writeWhole(filepath.Join(x.dir, filepath.FromSlash(name)), data...); err != nil {
		return fmt.Errorf("store rewrite: %w", err)
	}
	x.touch(name) // by the Index's clock, as every use
	_, err := x.Evict()
	return err
}

// writeWhole writes data to p with fsutil's one write path (temp file,
// sync, rename, folder sync), so that a reader, in this process or another,
// sees all of it or nothing, also after a power loss. A crash may leave the
// temp file, which Evict removes an hour later. A failed folder sync is no
// error here: a cache entry that a crash undoes is only missing.
func writeWhole(p string, data ...[]byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	err := fsutil.WriteFunc(osFs, p, 0o644, func(w io.Writer) error {
		for _, d := range data {
			if _, err := w.Write(d); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	if errors.Is(err, fsutil.ErrNotDurable) {
		return nil
	}
	return err
}

// osFs is the file system writeWhole writes with.
var osFs = afero.NewOsFs()

// isTemp reports whether the file name is an unfinished write: writeWhole's
// (fsutil.TempPrefix of the file's name) or wazero's ("....tmp").
func isTemp(name string) bool {
	return strings.HasSuffix(name, ".tmp") || strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp-")
}

func (x *Index) refPath(key [32]byte) string {
	return filepath.Join(x.dir, refDir, hex.EncodeToString(key[:]))
}

// ref returns the cache file learned for key, if it still exists.
func (x *Index) ref(key [32]byte) (string, bool) {
	x.refsMu.Lock()
	name, ok := x.refs[key]
	x.refsMu.Unlock()
	if !ok {
		data, err := os.ReadFile(x.refPath(key))
		if err != nil {
			return "", false
		}
		name = string(data)
		x.refsMu.Lock()
		x.refs[key] = name
		x.refsMu.Unlock()
	}
	if !validEntryName(name) {
		return "", false
	}
	if _, err := os.Stat(filepath.Join(x.dir, filepath.FromSlash(name))); err != nil {
		return "", false
	}
	return name, true
}

// validEntryName refuses a ref naming anything but a file of a wazero
// folder, so that a damaged ref cannot point Evict elsewhere.
func validEntryName(name string) bool {
	d, f, ok := strings.Cut(name, "/")
	return ok && strings.HasPrefix(d, "wazero-") && f != "" && !strings.ContainsAny(f, `/\`) && f != ".." && d != ".."
}

func (x *Index) writeRef(key [32]byte, name string) error {
	x.refsMu.Lock()
	x.refs[key] = name
	x.refsMu.Unlock()
	// A torn ref is useless; writeWhole makes it all or nothing for the
	// other processes sharing the folder.
	if err := writeWhole(x.refPath(key), []byte(name)); err != nil {
		return fmt.Errorf("record compile cache entry: %w", err)
	}
	return nil
}

// touch marks the cache file name as used now.
func (x *Index) touch(name string) {
	now := x.Now()
	// A failure (the file evicted by another process) only loses recency.
	_ = os.Chtimes(filepath.Join(x.dir, filepath.FromSlash(name)), now, now)
}

// pruneRefs removes the ref files whose cache file is gone. It looks at
// the files themselves rather than at a listing, which another process
// may have outdated with a new file and its ref.
func (x *Index) pruneRefs() error {
	refs, err := os.ReadDir(filepath.Join(x.dir, refDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list compile cache refs: %w", err)
	}
	var errs []error
	for _, r := range refs {
		p := filepath.Join(x.dir, refDir, r.Name())
		if x.removeStaleTemp(p, r) {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		name := string(data)
		if _, err := os.Stat(filepath.Join(x.dir, filepath.FromSlash(name))); validEntryName(name) && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("prune compile cache ref: %w", err))
		}
		if key, err := hex.DecodeString(r.Name()); err == nil && len(key) == 32 {
			x.refsMu.Lock()
			delete(x.refs, [32]byte(key))
			x.refsMu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// removeStaleTemp reports whether d, at p, is a temp file of writeWhole,
// and removes it when it is over an hour old: its writer crashed (a live
// one takes milliseconds). The age is by the wall clock, which stamped
// the file, not by Now, the clock of uses: a test that moves Now days
// ahead made every live write of another goroutine look stale, and its
// temp file vanished under it.
func (x *Index) removeStaleTemp(p string, d fs.DirEntry) bool {
	if !isTemp(d.Name()) {
		return false
	}
	if info, err := d.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
		os.Remove(p)
	}
	return true
}

// pruneRewriteTemps removes the stale temp files of the rewrite folder.
func (x *Index) pruneRewriteTemps() {
	dir := filepath.Join(x.dir, rewriteDir)
	files, _ := os.ReadDir(dir) // none yet: nothing to prune
	for _, f := range files {
		x.removeStaleTemp(filepath.Join(dir, f.Name()), f)
	}
}
