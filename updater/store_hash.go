package updater

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/afero"
)

// Hashing while extracting: an install's file list holds each file's
// sha256, and reading the files back after writing them cost a second
// pass over every byte (about 3 ms of a 4 MB install). hashingFs sees the
// bytes as the extraction writes them instead; install hands it to both
// extractions (a package's and a patch's), so they share this one
// implementation.

// fileSum is a file's size and hex sha256.
type fileSum struct {
	size int64
	sum  string
}

// hashingFs passes everything to its Fs and records the size and sha256
// of each file created on it and written only in order (Write, from
// offset 0) through one handle: a file created with O_EXCL or O_TRUNC,
// never seeked, truncated or written at an offset, and not opened for
// writing again, removed or renamed while that handle is open. Anything
// else forgets the file's record, and a rename of a closed file moves it,
// so a record is the file's content or absent, never stale. It is safe
// for concurrent use; one handle is used by one goroutine, as an *os.File
// is.
type hashingFs struct {
	afero.Fs
	mu   sync.Mutex
	sums map[string]fileSum        // by filepath.Clean name
	open map[*hashingFile]struct{} // recording handles not closed yet
}

func newHashingFs(fsys afero.Fs) *hashingFs {
	return &hashingFs{Fs: fsys, sums: map[string]fileSum{}, open: map[*hashingFile]struct{}{}}
}

// under reports whether path is name or inside it.
func under(path, name string) bool {
	return path == name || strings.HasPrefix(path, name+string(filepath.Separator))
}

// recorded returns the record of the file at name, if it has one.
func (h *hashingFs) recorded(name string) (fileSum, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fs, ok := h.sums[filepath.Clean(name)]
	return fs, ok
}

func (h *hashingFs) set(name string, fs fileSum) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sums[name] = fs
}

// forgetUnder drops the records of name and everything under it, and
// returns them keyed by their path relative to name ("" for name itself);
// handles open on those paths will record nothing.
func (h *hashingFs) forgetUnder(name string) map[string]fileSum {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]fileSum{}
	for k, v := range h.sums {
		if under(k, name) {
			out[k[len(name):]] = v
			delete(h.sums, k)
		}
	}
	for f := range h.open {
		if under(f.name, name) {
			f.stale = true
		}
	}
	return out
}

func (h *hashingFs) Create(name string) (afero.File, error) {
	return h.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

func (h *hashingFs) OpenFile(name string, flag int, perm os.FileMode) (afero.File, error) {
	name = filepath.Clean(name)
	writes := flag&(os.O_WRONLY|os.O_RDWR) != 0
	if writes {
		h.forgetUnder(name) // whatever happens next, an old record is stale
	}
	f, err := h.Fs.OpenFile(name, flag, perm)
	if err != nil || !writes {
		return f, err
	}
	if flag&os.O_CREATE == 0 || flag&(os.O_EXCL|os.O_TRUNC) == 0 || flag&os.O_APPEND != 0 {
		return f, nil // may not start empty: not recorded
	}
	hf := &hashingFile{File: f, fs: h, name: name, h: &pipeHash{h: sha256.New()}}
	h.mu.Lock()
	h.open[hf] = struct{}{}
	h.mu.Unlock()
	return hf, nil
}

func (h *hashingFs) Remove(name string) error {
	h.forgetUnder(filepath.Clean(name))
	return h.Fs.Remove(name)
}

func (h *hashingFs) RemoveAll(name string) error {
	h.forgetUnder(filepath.Clean(name))
	return h.Fs.RemoveAll(name)
}

func (h *hashingFs) Rename(oldname, newname string) error {
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	moved := h.forgetUnder(oldname)
	h.forgetUnder(newname) // replaced, if the rename succeeds
	if err := h.Fs.Rename(oldname, newname); err != nil {
		return err // the records are dropped: the files are hashed again
	}
	for rel, fs := range moved {
		h.set(newname+rel, fs)
	}
	return nil
}

// hashingFile hashes what is written to it in order and records the sum
// on Close; any write out of order drops it (h nil).
type hashingFile struct {
	afero.File
	fs    *hashingFs
	name  string
	h     *pipeHash // nil once the content is not the written stream
	n     int64
	stale bool // guarded by fs.mu: another handle or a rename touched the path
}

func (f *hashingFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	if f.h != nil {
		f.h.write(p[:n])
		f.n += int64(n)
	}
	return n, err
}

// drop stops recording the file.
func (f *hashingFile) drop() {
	if f.h != nil {
		f.h.sum()
		f.h = nil
	}
}

// SyscallConn passes on the file's descriptor, if it has one, for
// fsutil.WriteBehind.
func (f *hashingFile) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := f.File.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

func (f *hashingFile) WriteString(s string) (int, error) { return f.Write([]byte(s)) }

func (f *hashingFile) WriteAt(p []byte, off int64) (int, error) {
	f.drop()
	return f.File.WriteAt(p, off)
}

func (f *hashingFile) Seek(offset int64, whence int) (int64, error) {
	f.drop()
	return f.File.Seek(offset, whence)
}

func (f *hashingFile) Truncate(size int64) error {
	f.drop()
	return f.File.Truncate(size)
}

// Close records the sum only for a file closed without error: a failed
// close may have lost written bytes.
func (f *hashingFile) Close() error {
	err := f.File.Close()
	sum := ""
	if f.h != nil {
		sum = f.h.sum()
		f.h = nil
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if _, open := f.fs.open[f]; open && !f.stale && sum != "" && err == nil {
		f.fs.sums[f.name] = fileSum{size: f.n, sum: sum}
	}
	delete(f.fs.open, f)
	return err
}

// Past pipeInline bytes a file's hashing moves to a goroutine of its own,
// so that it runs beside the inflating of the next bytes: hashing a 4 MB
// file in line cost 4 ms of a 34 ms install, more than the second pass
// it replaced. Small files stay in line, where a goroutine costs more
// than it saves.
const (
	pipeInline = 256 << 10
	pipeChunk  = 64 << 10
	pipeDepth  = 4 // chunks in flight: memory is bounded by pipeDepth*pipeChunk
)

// pipeHash is a sha256 fed in order by one goroutine, the writer; the
// hashing of large streams runs on a goroutine of its own that sum stops
// and waits for. Not safe for concurrent writes; sum is called once.
type pipeHash struct {
	h    hash.Hash
	n    int64
	work chan []byte   // chunks to hash, in order; closed by sum
	free chan []byte   // chunks hashed, for reuse
	done chan struct{} // closed when the hashing goroutine has hashed all
	bufs int           // chunks made
}

func (p *pipeHash) write(b []byte) {
	p.n += int64(len(b))
	if p.work == nil && p.n <= pipeInline {
		p.h.Write(b)
		return
	}
	if p.work == nil {
		p.work, p.free, p.done = make(chan []byte, pipeDepth), make(chan []byte, pipeDepth), make(chan struct{})
		go func() {
			defer close(p.done)
			for c := range p.work {
				p.h.Write(c)
				p.free <- c[:0]
			}
		}()
	}
	for len(b) > 0 {
		var c []byte
		if p.bufs < pipeDepth {
			select {
			case c = <-p.free:
			default:
				c = make([]byte, 0, pipeChunk)
				p.bufs++
			}
		} else {
			c = <-p.free
		}
		k := min(len(b), pipeChunk)
		c = append(c, b[:k]...)
		b = b[k:]
		p.work <- c
	}
}

// sum stops the hashing goroutine, if any, once it has hashed everything
// written, and returns the hex sha256.
func (p *pipeHash) sum() string {
	if p.work != nil {
		close(p.work)
		<-p.done
	}
	return hex.EncodeToString(p.h.Sum(nil))
}
