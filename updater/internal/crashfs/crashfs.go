// Package crashfs is a file system for crash tests: an afero.Fs wrapper
// that numbers every operation changing the files under a root folder (each
// one a crash point), can stop at any of them, and keeps what a power cut
// would leave on disk there, so that a test can replay a crash at each
// point.
//
// The crash points are: creating or opening a file for writing, each write
// that starts a new block of the file (Config.WriteBlock; splitting writes
// at block boundaries makes the points the same whatever sizes the caller
// writes in), truncate, sync (file or folder), closing a written file,
// mkdir (MkdirAll counts each folder it makes), remove (RemoveAll counts
// each entry it removes), rename and chmod; plus the named points a test
// adds with Point. Reads are not crash points.
//
// At the crash point Config.CrashAt the Fs calls Config.OnCrash (a
// subprocess test kills itself there, leaving the files as SIGKILL would)
// and then fails that operation and every later one with ErrCrashed. With
// Config.Durable it also tracks durability as a power cut sees it: a file's
// contents are durable as of its last Sync, a folder's entries (creates,
// renames, removes) as of the folder's last Sync; Image writes that state
// to a folder for a fresh process to open.
//
// An Fs is safe for concurrent use, but the numbering is only
// reproducible for a caller whose operations come in a fixed order.
package crashfs

import (
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
)

// ErrCrashed is returned by every operation from the crash point on.
var ErrCrashed = errors.New("crashfs: crashed")

// DefaultWriteBlock is Config.WriteBlock's default: a write that starts a
// new 128 KiB block of a file is a crash point.
const DefaultWriteBlock = 128 << 10

// Op is one crash point.
type Op struct {
	// N numbers the points from 1, in the order they happen.
	N int
	// Kind is "create", "write", "truncate", "sync", "syncdir", "close",
	// "mkdir", "remove", "rename", "chmod", or "point" for a named point.
	Kind string
	// Path is relative to the root, slash-separated (the name, for Kind
	// "point"); To is a rename's target.
	Path, To string
	// Offset is a write's position in the file.
	Offset int64
	// Phase is the label of Fs.SetPhase in force.
	Phase string
}

func (o Op) String() string {
	s := fmt.Sprintf("%d %s/%s %s", o.N, o.Phase, o.Kind, o.Path)
	if o.To != "" {
		s += " -> " + o.To
	}
	if o.Kind == "write" {
		s += fmt.Sprintf(" @%d", o.Offset)
	}
	return s
}

// Config configures New.
type Config struct {
	// Base is the file system wrapped; nil: afero.NewOsFs().
	Base afero.Fs
	// Root is the folder whose files are tracked (an absolute path); the
	// operations outside it pass through uncounted. Required.
	Root string
	// CrashAt is the crash point: 0 never crashes.
	CrashAt int
	// OnCrash, if set, is called at the crash point before it fails.
	OnCrash func(Op)
	// Durable tracks durability for Image. New then reads every file
	// under Root, all taken as durable.
	Durable bool
	// WriteBlock is the block size of write crash points; 0:
	// DefaultWriteBlock.
	WriteBlock int64
}

// Fs is the crash-testing afero.Fs. Create it with New.
type Fs struct {
	cfg  Config
	base afero.Fs

	mu      sync.Mutex
	n       int
	phase   string
	ops     []Op
	crashed bool
	live    map[string]*node // tracked path ("." for Root) -> node; only with Durable
}

// node is a file or folder as a power cut sees it.
type node struct {
	dir     bool
	data    []byte           // file: contents as of the last sync (nil: empty)
	entries map[string]*node // folder: entries as of the last sync (nil: none)
}

var _ afero.Fs = (*Fs)(nil)

// New returns an Fs over cfg.Base tracking cfg.Root, whose current contents
// count as durable.
func New(cfg Config) (*Fs, error) {
	if cfg.Base == nil {
		cfg.Base = afero.NewOsFs()
	}
	if !filepath.IsAbs(cfg.Root) {
		return nil, fmt.Errorf("crashfs: root %q is not absolute", cfg.Root)
	}
	cfg.Root = filepath.Clean(cfg.Root)
	if cfg.WriteBlock <= 0 {
		cfg.WriteBlock = DefaultWriteBlock
	}
	f := &Fs{cfg: cfg, base: cfg.Base}
	if cfg.Durable {
		f.live = map[string]*node{}
		err := afero.Walk(cfg.Base, cfg.Root, func(path string, fi fs.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := f.rel(path)
			n := &node{dir: fi.IsDir()}
			if !n.dir {
				if n.data, err = afero.ReadFile(cfg.Base, path); err != nil {
					return err
				}
			}
			f.live[rel] = n
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("crashfs: %w", err)
		}
		for rel, n := range f.live {
			if n.dir {
				n.entries = f.childrenLocked(rel)
			}
		}
	}
	return f, nil
}

// SetPhase labels the crash points that follow (Op.Phase).
func (f *Fs) SetPhase(phase string) {
	f.mu.Lock()
	f.phase = phase
	f.mu.Unlock()
}

// Point adds a named crash point that changes nothing, such as "verified".
func (f *Fs) Point(name string) error {
	return f.point(Op{Kind: "point", Path: name})
}

// Ops returns the crash points passed so far, the crash point included.
func (f *Fs) Ops() []Op {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Op(nil), f.ops...)
}

// Crashed reports whether the crash point was reached.
func (f *Fs) Crashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.crashed
}

// rel returns path relative to the root, slash-separated, and whether it
// is under the root.
func (f *Fs) rel(path string) (string, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	r, err := filepath.Rel(f.cfg.Root, abs)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

// point passes a crash point: it fails when crashed, and crashes there
// when it is the one.
func (f *Fs) point(op Op) error {
	f.mu.Lock()
	if f.crashed {
		f.mu.Unlock()
		return ErrCrashed
	}
	f.n++
	op.N, op.Phase = f.n, f.phase
	f.ops = append(f.ops, op)
	crash := f.n == f.cfg.CrashAt
	f.crashed = crash
	f.mu.Unlock()
	if crash {
		if f.cfg.OnCrash != nil {
			f.cfg.OnCrash(op)
		}
		return ErrCrashed
	}
	return nil
}

// dead fails any operation, read or write, once crashed: the process is
// gone.
func (f *Fs) dead() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.crashed {
		return ErrCrashed
	}
	return nil
}

func pathErr(op, path string, err error) error { return &fs.PathError{Op: op, Path: path, Err: err} }

// childrenLocked returns the tracked entries directly in folder rel.
func (f *Fs) childrenLocked(rel string) map[string]*node {
	m := map[string]*node{}
	for p, n := range f.live {
		if p == "." || p == rel {
			continue
		}
		if dir := pathDir(p); dir == rel {
			m[p[strings.LastIndexByte(p, '/')+1:]] = n
		}
	}
	return m
}

func pathDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "."
	}
	return p[:i]
}

// track runs fn with the lock held when durability is tracked.
func (f *Fs) track(fn func()) {
	if f.live == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// Create creates or truncates a file (a crash point).
func (f *Fs) Create(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// Open opens a file or folder for reading.
func (f *Fs) Open(name string) (afero.File, error) {
	return f.OpenFile(name, os.O_RDONLY, 0)
}

// OpenFile opens a file; opening for writing is a crash point.
func (f *Fs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	rel, ok := f.rel(name)
	if !ok {
		return f.base.OpenFile(name, flag, perm)
	}
	writable := flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0
	if writable {
		if err := f.point(Op{Kind: "create", Path: rel}); err != nil {
			return nil, pathErr("open", name, err)
		}
	} else if err := f.dead(); err != nil {
		return nil, pathErr("open", name, err)
	}
	bf, err := f.base.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	f.track(func() {
		if _, ok := f.live[rel]; !ok && flag&os.O_CREATE != 0 {
			f.live[rel] = &node{}
		}
	})
	return &file{File: bf, fs: f, name: name, writable: writable}, nil
}

// Mkdir makes a folder (a crash point).
func (f *Fs) Mkdir(name string, perm os.FileMode) error {
	rel, ok := f.rel(name)
	if !ok {
		return f.base.Mkdir(name, perm)
	}
	if err := f.point(Op{Kind: "mkdir", Path: rel}); err != nil {
		return pathErr("mkdir", name, err)
	}
	if err := f.base.Mkdir(name, perm); err != nil {
		return err
	}
	f.track(func() { f.live[rel] = &node{dir: true} })
	return nil
}

// MkdirAll makes path and its missing parents, each a crash point.
func (f *Fs) MkdirAll(path string, perm os.FileMode) error {
	if _, ok := f.rel(path); !ok {
		return f.base.MkdirAll(path, perm)
	}
	if err := f.dead(); err != nil {
		return pathErr("mkdir", path, err)
	}
	fi, err := f.base.Stat(path)
	if err == nil {
		if fi.IsDir() {
			return nil
		}
		return pathErr("mkdir", path, fs.ErrExist)
	}
	if parent := filepath.Dir(path); parent != path {
		if err := f.MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := f.Mkdir(path, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// Remove removes a file or an empty folder (a crash point).
func (f *Fs) Remove(name string) error {
	rel, ok := f.rel(name)
	if !ok {
		return f.base.Remove(name)
	}
	if err := f.point(Op{Kind: "remove", Path: rel}); err != nil {
		return pathErr("remove", name, err)
	}
	if err := f.base.Remove(name); err != nil {
		return err
	}
	f.track(func() { delete(f.live, rel) })
	return nil
}

// RemoveAll removes path and everything in it, one crash point per entry.
func (f *Fs) RemoveAll(path string) error {
	if _, ok := f.rel(path); !ok {
		return f.base.RemoveAll(path)
	}
	if err := f.dead(); err != nil {
		return pathErr("removeall", path, err)
	}
	fi, err := f.base.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		infos, err := afero.ReadDir(f.base, path)
		if err != nil {
			return err
		}
		for _, c := range infos {
			if err := f.RemoveAll(filepath.Join(path, c.Name())); err != nil {
				return err
			}
		}
	}
	return f.Remove(path)
}

// Rename renames a file or folder (a crash point).
func (f *Fs) Rename(oldname, newname string) error {
	orel, ok1 := f.rel(oldname)
	nrel, ok2 := f.rel(newname)
	if !ok1 && !ok2 {
		return f.base.Rename(oldname, newname)
	}
	if !ok1 || !ok2 {
		return pathErr("rename", oldname, errors.New("crashfs: rename across the root"))
	}
	if err := f.point(Op{Kind: "rename", Path: orel, To: nrel}); err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	if err := f.base.Rename(oldname, newname); err != nil {
		return err
	}
	f.track(func() {
		delete(f.live, nrel) // replaced (a file, or an empty folder)
		moved := map[string]*node{}
		for p, n := range f.live {
			if p == orel || strings.HasPrefix(p, orel+"/") {
				moved[nrel+p[len(orel):]] = n
				delete(f.live, p)
			}
		}
		for p, n := range moved {
			f.live[p] = n
		}
	})
	return nil
}

// Stat passes through (once crashed it fails).
func (f *Fs) Stat(name string) (os.FileInfo, error) {
	if _, ok := f.rel(name); ok {
		if err := f.dead(); err != nil {
			return nil, pathErr("stat", name, err)
		}
	}
	return f.base.Stat(name)
}

// Name returns "crashfs".
func (f *Fs) Name() string { return "crashfs" }

// Chmod changes a mode (a crash point; modes are not tracked).
func (f *Fs) Chmod(name string, mode os.FileMode) error {
	if rel, ok := f.rel(name); ok {
		if err := f.point(Op{Kind: "chmod", Path: rel}); err != nil {
			return pathErr("chmod", name, err)
		}
	}
	return f.base.Chmod(name, mode)
}

// Chown passes through (a crash point).
func (f *Fs) Chown(name string, uid, gid int) error {
	if rel, ok := f.rel(name); ok {
		if err := f.point(Op{Kind: "chmod", Path: rel}); err != nil {
			return pathErr("chown", name, err)
		}
	}
	return f.base.Chown(name, uid, gid)
}

// Chtimes passes through (a crash point).
func (f *Fs) Chtimes(name string, atime, mtime time.Time) error {
	if rel, ok := f.rel(name); ok {
		if err := f.point(Op{Kind: "chmod", Path: rel}); err != nil {
			return pathErr("chtimes", name, err)
		}
	}
	return f.base.Chtimes(name, atime, mtime)
}

// file wraps a base file to count its writes, syncs and close.
type file struct {
	afero.File
	fs       *Fs
	name     string // as opened; the current path is looked up on Sync
	writable bool
}

func (fl *file) relNow() string {
	r, _ := fl.fs.rel(fl.name)
	return r
}

func (fl *file) Write(p []byte) (int, error) {
	off, err := fl.File.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	return fl.write(p, off, func(b []byte, _ int64) (int, error) { return fl.File.Write(b) })
}

func (fl *file) WriteAt(p []byte, off int64) (int, error) {
	return fl.write(p, off, fl.File.WriteAt)
}

func (fl *file) WriteString(s string) (int, error) { return fl.Write([]byte(s)) }

// write writes p at off in pieces split at block boundaries; a piece that
// starts a block is a crash point.
func (fl *file) write(p []byte, off int64, w func([]byte, int64) (int, error)) (int, error) {
	block := fl.fs.cfg.WriteBlock
	done := 0
	for done < len(p) {
		end := min(len(p), done+int(block-off%block))
		if off%block == 0 {
			if err := fl.fs.point(Op{Kind: "write", Path: fl.relNow(), Offset: off}); err != nil {
				return done, pathErr("write", fl.name, err)
			}
		} else if err := fl.fs.dead(); err != nil {
			return done, pathErr("write", fl.name, err)
		}
		n, err := w(p[done:end], off)
		done += n
		off += int64(n)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

func (fl *file) Truncate(size int64) error {
	if err := fl.fs.point(Op{Kind: "truncate", Path: fl.relNow(), Offset: size}); err != nil {
		return pathErr("truncate", fl.name, err)
	}
	return fl.File.Truncate(size)
}

// Sync records the file's contents, or the folder's entries, as durable.
// It does not sync the base: durability is what the Fs tracks.
func (fl *file) Sync() error {
	rel := fl.relNow()
	fi, err := fl.File.Stat()
	if err != nil {
		return err
	}
	kind := "sync"
	if fi.IsDir() {
		kind = "syncdir"
	}
	if err := fl.fs.point(Op{Kind: kind, Path: rel}); err != nil {
		return pathErr("sync", fl.name, err)
	}
	if fl.fs.live == nil {
		return nil
	}
	// The node is found by the path the file was opened at: callers sync
	// before they rename, as atomic writes do.
	var data []byte
	if !fi.IsDir() {
		if data, err = afero.ReadFile(fl.fs.base, fl.name); err != nil {
			return err
		}
	}
	fl.fs.track(func() {
		n := fl.fs.live[rel]
		if n == nil {
			return // unlinked meanwhile: nothing durable changes
		}
		if n.dir {
			n.entries = fl.fs.childrenLocked(rel)
		} else {
			n.data = data
		}
	})
	return nil
}

func (fl *file) Close() error {
	if fl.writable {
		if err := fl.fs.point(Op{Kind: "close", Path: fl.relNow()}); err != nil {
			fl.File.Close() // the process died: its descriptors close
			return pathErr("close", fl.name, err)
		}
	}
	return fl.File.Close()
}

// Image writes what a power cut at this moment would leave under Root to
// the folder dst (created if needed; it should be empty). With
// keepMetadata every folder entry survives (as on a file system whose
// journal commits all metadata in order) and only file contents revert to
// their last sync; without it a folder's entries also revert to its last
// sync. It needs Config.Durable.
func (f *Fs) Image(dst string, keepMetadata bool) error {
	if f.live == nil {
		return errors.New("crashfs: Image needs Config.Durable")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if keepMetadata {
		paths := make([]string, 0, len(f.live))
		for p := range f.live {
			paths = append(paths, p)
		}
		sort.Strings(paths) // parents first
		for _, p := range paths {
			if p == "." {
				continue
			}
			if err := writeNode(filepath.Join(dst, filepath.FromSlash(p)), f.live[p]); err != nil {
				return err
			}
		}
		return nil
	}
	return writeTree(dst, f.live["."], 0)
}

func writeNode(path string, n *node) error {
	if n.dir {
		return os.Mkdir(path, 0o755)
	}
	return os.WriteFile(path, n.data, 0o644)
}

func writeTree(dir string, n *node, depth int) error {
	if depth > 64 {
		return errors.New("crashfs: folder cycle in the durable tree")
	}
	for name, c := range n.entries {
		p := filepath.Join(dir, name)
		if err := writeNode(p, c); err != nil {
			return err
		}
		if c.dir {
			if err := writeTree(p, c, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
