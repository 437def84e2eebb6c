package crashfs

import (
	"io"

	"github.com/spf13/afero"
)

// The Fs's open files: writes, truncates, syncs and closes as crash
// points, and a Sync as what makes contents or folder entries durable.

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
