package delta

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"

	"github.com/klauspost/compress/zstd"
	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
)

// MaxHeaderSize bounds a patch header in bytes: 10 000 files (mpk's limit)
// at about 100 bytes each.
const MaxHeaderSize = 1 << 20

// Limits bounds what Apply writes and holds; zero fields take mpk's
// package defaults, the same bounds a full package's extraction has.
type Limits struct {
	MaxFileSize  int64 // bytes of one rebuilt file (and of one base file held as dictionary)
	MaxTotalSize int64 // bytes of all rebuilt files
	MaxFiles     int   // rebuilt files
}

func (l Limits) withDefaults() Limits {
	def := mpk.Limits{}.WithDefaults()
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = def.MaxFileSize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = def.MaxTotalSize
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = def.MaxFiles
	}
	return l
}

// Base is an installed version Apply reads from: the folder Dir on Fs and
// its recorded files. Apply reads only files Files lists, and checks each
// one's size and sha256 as it reads it, so a base changed on disk since
// it was recorded fails the patch instead of corrupting the result.
type Base struct {
	Fs    afero.Fs
	Dir   string
	Files []File
}

// Apply rebuilds the files of the version whose content digest is digest
// from patch and base, into the new folder dir on out. It checks that the
// header's file list has exactly that digest before it writes anything,
// then rebuilds each file, hashing it as it is written, and refuses one
// whose bytes are not the header's (and so the digest's). Memory is
// bounded per file: its base file as dictionary (at most MaxFileSize) and
// a zstd window of at most the smallest power of two over base and file
// (the one Build used), whatever the frame declares.
//
// Files and folders are synced, so dir is durable when Apply returns nil.
// On error the caller removes dir; errors for the patch's own faults wrap
// ErrBadPatch. ctx is checked between files.
func Apply(ctx context.Context, patch io.Reader, base Base, out afero.Fs, dir, digest string, lim Limits) error {
	lim = lim.withDefaults()
	r := bufio.NewReader(patch)
	h, err := readHeader(r, digest, lim)
	if err != nil {
		return err
	}
	baseFiles := map[string]File{}
	for _, f := range base.Files {
		baseFiles[f.Path] = f
	}
	if err := makeDirs(out, dir, h.Files); err != nil {
		return err
	}
	for _, e := range h.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := applyEntry(r, base, baseFiles, out, filepath.Join(dir, filepath.FromSlash(e.Path)), e, lim); err != nil {
			return fmt.Errorf("rebuild %s: %w", e.Path, err)
		}
	}
	if n, _ := r.Read(make([]byte, 1)); n > 0 {
		return fmt.Errorf("%w: bytes after the last payload", ErrBadPatch)
	}
	return syncDirs(out, dir, h.Files)
}

// readHeader reads and checks the magic and header: bounded, well formed,
// in path order, within lim, and listing exactly the files of digest.
func readHeader(r io.Reader, digest string, lim Limits) (*header, error) {
	bad := func(format string, args ...any) (*header, error) {
		return nil, fmt.Errorf("%w: %s", ErrBadPatch, fmt.Sprintf(format, args...))
	}
	var pre [len(magic) + 4]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return bad("read header: %v", err)
	}
	if string(pre[:len(magic)]) != magic {
		return bad("not a patch (magic %q)", pre[:len(magic)])
	}
	n := binary.BigEndian.Uint32(pre[len(magic):])
	if n > MaxHeaderSize {
		return bad("header is %d bytes, limit %d", n, MaxHeaderSize)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return bad("read header: %v", err)
	}
	var h header
	if err := json.Unmarshal(buf, &h); err != nil {
		return bad("header: %v", err)
	}
	if len(h.Files) > lim.MaxFiles {
		return bad("%d files, limit %d", len(h.Files), lim.MaxFiles)
	}
	files := make([]File, len(h.Files))
	var total int64
	for i, e := range h.Files {
		files[i] = e.File
		switch {
		case safename.RelPath(e.Path) != nil:
			return bad("file path %q is not a clean relative path", e.Path)
		case i > 0 && h.Files[i-1].Path >= e.Path:
			return bad("files are not in path order at %s", e.Path)
		case e.Size < 0 || e.Size > lim.MaxFileSize:
			return bad("%s is %d bytes, limit %d", e.Path, e.Size, lim.MaxFileSize)
		case e.Len < 0 || (e.Op == opCopy) != (e.Len == 0) || (e.Op == opNew) != (e.Base == ""):
			return bad("%s: op %q with base %q and length %d", e.Path, e.Op, e.Base, e.Len)
		case e.Op != opCopy && e.Op != opPatch && e.Op != opNew:
			return bad("%s: unknown op %q", e.Path, e.Op)
		}
		total += e.Size
		if total > lim.MaxTotalSize {
			return bad("files add up to over %d bytes", lim.MaxTotalSize)
		}
	}
	if got := Digest(files); got != digest {
		return bad("files have content digest %s, the release document says %s", got, digest)
	}
	return &h, nil
}

// applyEntry rebuilds one file at dst and checks it against e.
func applyEntry(r io.Reader, base Base, baseFiles map[string]File, out afero.Fs, dst string, e entry, lim Limits) error {
	var dict []byte
	if e.Base != "" {
		bf, ok := baseFiles[e.Base]
		if !ok {
			return fmt.Errorf("%w: base file %s is not in the installed version", ErrBadPatch, e.Base)
		}
		if bf.Size > lim.MaxFileSize {
			return fmt.Errorf("base file %s is %d bytes, limit %d", e.Base, bf.Size, lim.MaxFileSize)
		}
		var err error
		if dict, err = readBase(base, bf); err != nil {
			return err
		}
	}
	var src io.Reader
	if e.Op == opCopy {
		src = bytes.NewReader(dict)
	} else {
		if len(dict) == 0 && e.Op == opPatch {
			dict = []byte{0} // as encode did
		}
		frame := io.LimitReader(r, e.Len)
		// The window Build used for this file (its base and itself, both
		// within lim), whatever the frame declares.
		bound := uint64(windowFor(int64(len(dict)) + e.Size))
		opts := []zstd.DOption{
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(bound),
			zstd.WithDecoderMaxMemory(bound),
		}
		if e.Op == opPatch {
			opts = append(opts, zstd.WithDecoderDictRaw(dictID, dict))
		}
		dec, err := zstd.NewReader(frame, opts...)
		if err != nil {
			return err
		}
		defer dec.Close()
		// Drain the frame's bytes whatever the decoder leaves, so the next
		// entry starts at its own payload.
		defer io.Copy(io.Discard, frame)
		src = dec
	}
	return writeChecked(out, dst, src, e.File)
}

// readBase reads a base file into memory and checks it against its record.
func readBase(base Base, bf File) ([]byte, error) {
	f, err := base.Fs.Open(filepath.Join(base.Dir, filepath.FromSlash(bf.Path)))
	if err != nil {
		return nil, fmt.Errorf("read base file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, bf.Size+1))
	if err != nil {
		return nil, fmt.Errorf("read base file %s: %w", bf.Path, err)
	}
	if int64(len(data)) != bf.Size || sum(data) != bf.SHA256 {
		return nil, fmt.Errorf("base file %s changed since it was installed", bf.Path)
	}
	return data, nil
}

// writeChecked writes at most want.Size+1 bytes of src to the new file dst,
// syncs it, and checks its size and sha256 against want.
func writeChecked(out afero.Fs, dst string, src io.Reader, want File) (err error) {
	f, err := out.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	h := sha256.New()
	fw := &fileWriter{w: fsutil.WriteBehind(f)}
	n, err := io.Copy(io.MultiWriter(fw, h), io.LimitReader(src, want.Size+1))
	switch {
	case fw.err != nil: // the disk's fault, not the patch's
		return fw.err
	case err != nil:
		return fmt.Errorf("%w: %w", ErrBadPatch, err)
	case n != want.Size:
		return fmt.Errorf("%w: rebuilt %d bytes or more, want %d", ErrBadPatch, n, want.Size)
	case hex.EncodeToString(h.Sum(nil)) != want.SHA256:
		return fmt.Errorf("%w: rebuilt bytes have another sha256 than the digest's", ErrBadPatch)
	}
	return f.Sync()
}

// fileWriter passes writes to w and keeps the first error, so a failed
// write is told apart from a bad frame in the same copy.
type fileWriter struct {
	w   io.Writer
	err error
}

func (fw *fileWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	if err != nil && fw.err == nil {
		fw.err = err
	}
	return n, err
}

// folders returns every folder the files need, parents first.
func folders(files []entry) []string {
	set := map[string]bool{}
	for _, e := range files {
		for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
			set[d] = true
		}
	}
	dirs := make([]string, 0, len(set))
	for d := range set {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	return dirs
}

// makeDirs creates dir, which must not exist, and the files' folders.
func makeDirs(out afero.Fs, dir string, files []entry) error {
	if err := out.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for _, d := range folders(files) {
		if err := out.Mkdir(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// syncDirs syncs the files' folders, children first, then dir.
func syncDirs(out afero.Fs, dir string, files []entry) error {
	dirs := folders(files)
	slices.Reverse(dirs)
	for _, d := range append(dirs, ".") {
		if err := fsutil.SyncDir(out, filepath.Join(dir, filepath.FromSlash(d))); err != nil {
			return err
		}
	}
	return nil
}
