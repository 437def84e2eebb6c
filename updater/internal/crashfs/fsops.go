package crashfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/afero"
)

// The Fs's afero.Fs operations: each one under the root that changes the
// files is a crash point; the others pass through.

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
