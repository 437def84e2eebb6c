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
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

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
