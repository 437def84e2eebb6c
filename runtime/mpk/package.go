package mpk

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"sort"
	"strings"
	"unicode/utf8"
)

// Default limits, used for every zero field of Limits; read them with
// Limits{}.WithDefaults().
//
// The total is four times the largest package and the largest file, room
// for a package at the size limit holding typical content (wasm and text
// deflate about 3 to 5:1). The per-file ratio alone does not bound a
// package, since files up to 64 KiB pass it whatever their ratio: thousands
// of them let a 1.6 MB package fill 253 MiB. So the total is bounded by a
// ratio to the package file too, a fifth of the per-file one: a package of
// real content averages well under it, and a 1.6 MB package can now write
// at most 32 MB.
const (
	defaultMaxPackageSize = 64 << 20  // bytes of the .mpk file
	defaultMaxFileSize    = 64 << 20  // uncompressed bytes of one file
	defaultMaxTotalSize   = 256 << 20 // uncompressed bytes of all files
	defaultMaxFiles       = 10000     // entries, folders included
	defaultMaxRatio       = 100       // uncompressed bytes per compressed byte, per file
	defaultMaxTotalRatio  = 20        // uncompressed bytes of all files per byte of the package file
)

// ratioFloor is the uncompressed size up to which a file passes the ratio
// check whatever its ratio: a small file cannot be a bomb, and small text or
// zero-filled assets legitimately compress far better than 100:1.
const ratioFloor = 64 << 10

// totalRatioFloor is the uncompressed total up to which a package passes
// the total ratio check whatever its ratio, for the same reason.
const totalRatioFloor = 1 << 20

// wasmMagic is the WebAssembly binary magic and version 1.
const wasmMagic = "\x00asm\x01\x00\x00\x00"

// Limits bounds what a package may hold. Zero fields take the defaults
// (WithDefaults); there is no way to lift a limit entirely. A Limits is a
// plain value, safe to copy and share.
type Limits struct {
	MaxPackageSize int64 // size of the package file; 64 MiB
	MaxFileSize    int64 // uncompressed size of any one file; 64 MiB
	MaxTotalSize   int64 // uncompressed size of all files together; 256 MiB
	MaxFiles       int   // number of zip entries, folders included; 10 000
	MaxRatio       int64 // uncompressed/compressed size of a file above 64 KiB; 100
	MaxTotalRatio  int64 // uncompressed size of all files/package size, above 1 MiB; 20
}

// WithDefaults returns l with every field left at zero (or below) set to
// its default: Limits{}.WithDefaults() is the default table, the one
// the updater, the release server, the host and the delta codec read.
func (l Limits) WithDefaults() Limits {
	orDefault(&l.MaxPackageSize, defaultMaxPackageSize)
	orDefault(&l.MaxFileSize, defaultMaxFileSize)
	orDefault(&l.MaxTotalSize, defaultMaxTotalSize)
	orDefault(&l.MaxFiles, defaultMaxFiles)
	orDefault(&l.MaxRatio, defaultMaxRatio)
	orDefault(&l.MaxTotalRatio, defaultMaxTotalRatio)
	return l
}

// orDefault sets a limit left at zero (or below) to its default.
func orDefault[T int | int64](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// maxTotal returns how many uncompressed bytes a package of size bytes may
// hold under l (with defaults applied): the total limit, lowered by the
// total ratio above its floor.
func (l Limits) maxTotal(size int64) int64 {
	hi, lo := bits.Mul64(uint64(max(size, 0)), uint64(l.MaxTotalRatio))
	if hi != 0 || lo >= uint64(l.MaxTotalSize) {
		return l.MaxTotalSize
	}
	return min(max(int64(lo), totalRatioFloor), l.MaxTotalSize)
}

// Package is an opened, validated code package. Open checks the structure
// and the manifest; file contents are checked (CRC, actual sizes) as they
// are read by ReadFile and Extract.
//
// Its methods are safe for concurrent use, except Close, which must come
// after every other call has returned. The caller of OpenFile must call
// Close; a Package from Open does not own its reader and Close is a no-op.
type Package struct {
	// Manifest is the validated app.json.
	Manifest *Manifest
	// Size is the size of the package file in bytes.
	Size int64

	lim    Limits
	zr     *zip.Reader
	files  []*zip.File // regular files, sorted by name
	byName map[string]*zip.File
	dirs   []string // folders named by explicit zip entries, sorted
	closer io.Closer
}

// Open reads and validates the package in r, of size bytes, under lim (zero
// fields take defaults). It checks that r is a zip archive within the
// limits (the declared sizes of its files, one by one and in total, and
// their compression ratios, one by one and of the whole package to size);
// that every entry name is a clean local path (no "..", no absolute
// path, no backslash, no drive letter, no duplicate even when letter case is
// ignored); that every entry is a regular file or a folder (no symlinks);
// that declared sizes and compression ratios are within the limits; that
// app.json is present and valid; and that the entry file exists and starts
// with the WebAssembly magic.
//
// Errors name the entry concerned and wrap ErrInvalid or ErrTooLarge.
// r must stay readable until the Package is no longer used.
func Open(r io.ReaderAt, size int64, lim Limits) (*Package, error) {
	lim = lim.WithDefaults()
	if size > lim.MaxPackageSize {
		return nil, &pkgError{Err: because(ErrTooLarge, fmt.Sprintf("package is %d bytes, above the limit of %d", size, lim.MaxPackageSize), nil)}
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // paths get checked below, with clearer errors
		return nil, &pkgError{Err: because(errNotZip, "read package", err)}
	}
	if len(zr.File) > lim.MaxFiles {
		return nil, &pkgError{Err: because(ErrTooLarge, fmt.Sprintf("%d entries, above the limit of %d", len(zr.File), lim.MaxFiles), nil)}
	}
	p := &Package{Size: size, lim: lim, zr: zr, byName: make(map[string]*zip.File, len(zr.File))}
	folded := make(map[string]string, len(zr.File)) // lower-cased name -> name, files and folders
	isDir := make(map[string]bool)
	var total uint64
	for _, f := range zr.File {
		name := f.Name
		mode := f.Mode()
		dir := mode.IsDir()
		if dir {
			name = strings.TrimSuffix(name, "/")
		}
		if err := checkPath(name); err != nil {
			return nil, &pkgError{File: f.Name, Err: err}
		}
		switch {
		case mode&fs.ModeSymlink != 0:
			return nil, &pkgError{File: f.Name, Err: because(errUnsafePath, "symbolic links are not allowed in packages", nil)}
		case mode&fs.ModeType&^fs.ModeDir != 0:
			return nil, &pkgError{File: f.Name, Err: because(errUnsafePath, fmt.Sprintf("not a regular file or folder (mode %v)", mode), nil)}
		case dir && f.UncompressedSize64 != 0:
			return nil, &pkgError{File: f.Name, Err: because(errUnsafePath, "folder entry holds data", nil)}
		case f.Flags&0x1 != 0:
			return nil, &pkgError{File: f.Name, Err: because(errNotZip, "encrypted entries are not supported", nil)}
		case f.Method != zip.Store && f.Method != zip.Deflate:
			return nil, &pkgError{File: f.Name, Err: because(errNotZip, fmt.Sprintf("compression method %d is not supported (only store and deflate)", f.Method), nil)}
		}
		key := strings.ToLower(name)
		if prev, ok := folded[key]; ok {
			msg := "duplicate entry"
			if prev != name {
				msg = fmt.Sprintf("duplicate entry (same name as %q when letter case is ignored)", prev)
			}
			return nil, &pkgError{File: f.Name, Err: because(errUnsafePath, msg, nil)}
		}
		folded[key] = name
		if dir {
			isDir[key] = true
			p.dirs = append(p.dirs, name)
			continue
		}
		if f.UncompressedSize64 > uint64(lim.MaxFileSize) {
			return nil, &pkgError{File: f.Name, Err: because(ErrTooLarge, fmt.Sprintf("declared size %d bytes, above the limit of %d", f.UncompressedSize64, lim.MaxFileSize), nil)}
		}
		total += f.UncompressedSize64
		if total > uint64(lim.MaxTotalSize) {
			return nil, &pkgError{File: f.Name, Err: because(ErrTooLarge, fmt.Sprintf("files total more than the limit of %d bytes", lim.MaxTotalSize), nil)}
		}
		if u, c := f.UncompressedSize64, f.CompressedSize64; u > ratioFloor {
			hi, lo := bits.Mul64(c, uint64(lim.MaxRatio))
			if hi == 0 && u > lo {
				return nil, &pkgError{File: f.Name, Err: because(ErrTooLarge, fmt.Sprintf("compression ratio above the limit of %d:1 (%d bytes stored as %d)", lim.MaxRatio, u, c), nil)}
			}
		}
		p.files = append(p.files, f)
		p.byName[name] = f
	}
	// After the loop, so that a single bomb is named by the per-file checks.
	if maxTotal := lim.maxTotal(size); total > uint64(maxTotal) {
		return nil, &pkgError{Err: because(ErrTooLarge, fmt.Sprintf("files total %d bytes from a package of %d, above the limit of %d (%d:1 for the whole package)",
			total, size, maxTotal, lim.MaxTotalRatio), nil)}
	}
	// A file must not also be a folder ("a" and "a/b"): extraction could not
	// create both, and case-insensitive file systems see "A/b" as "a/b".
	for key := range folded {
		for i := strings.IndexByte(key, '/'); i >= 0; i = nextSlash(key, i) {
			parent := key[:i]
			if name, ok := folded[parent]; ok && !isDir[parent] {
				return nil, &pkgError{File: folded[key], Err: because(errUnsafePath, fmt.Sprintf("inside %q, which is a file", name), nil)}
			}
		}
	}
	sort.Slice(p.files, func(i, j int) bool { return p.files[i].Name < p.files[j].Name })
	sort.Strings(p.dirs)

	mf, ok := p.byName[ManifestName]
	if !ok {
		return nil, &pkgError{File: ManifestName, Err: because(errNoManifest, "missing from the package root", nil)}
	}
	data, err := readFile(mf, maxManifestSize)
	if err != nil {
		return nil, &pkgError{File: ManifestName, Err: err}
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, err
	}
	p.Manifest = m

	ef, ok := p.byName[m.Entry]
	if !ok {
		return nil, &pkgError{File: m.Entry, Err: because(errNoEntry, "named by app.json but not in the package", nil)}
	}
	rc, err := ef.Open()
	if err != nil {
		return nil, &pkgError{File: m.Entry, Err: because(errNotZip, "open", err)}
	}
	head := make([]byte, len(wasmMagic))
	_, err = io.ReadFull(rc, head)
	rc.Close()
	if m.Runtime == RuntimeJS {
		// JavaScript is checked whole: an entry is small text.
		if _, err := p.ReadFile(m.Entry); err != nil {
			return nil, err
		}
		return p, nil
	}
	if err != nil || string(head) != wasmMagic {
		return nil, &pkgError{File: m.Entry, Err: because(errNotWasm, "does not start with the WebAssembly magic and version 1", nil)}
	}
	return p, nil
}

func nextSlash(s string, i int) int {
	j := strings.IndexByte(s[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// OpenFile opens and validates the package file at path, like Open. The
// returned Package holds the file open: the caller must call Close. A path
// that is not a regular file (a named pipe, a device) is refused without
// blocking, with an error wrapping ErrNotRegular (see OpenRegular).
func OpenFile(path string, lim Limits) (*Package, error) {
	f, st, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	p, err := Open(f, st.Size(), lim)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open package %s: %w", path, err)
	}
	p.closer = f
	return p, nil
}

// Close releases the file opened by OpenFile. It is a no-op for a Package
// from Open. Call it once, after every other use of the Package.
func (p *Package) Close() error {
	if p.closer == nil {
		return nil
	}
	c := p.closer
	p.closer = nil
	return c.Close()
}

// Files returns the names of the regular files in the package, sorted. The
// slice is a fresh copy.
func (p *Package) Files() []string {
	names := make([]string, len(p.files))
	for i, f := range p.files {
		names[i] = f.Name
	}
	return names
}

// ReadFile returns the contents of the regular file name in the package,
// reading at most the file size limit and checking the actual length and
// CRC, whatever the zip headers declare. For the entry module
// (p.Manifest.Entry) it also checks the WebAssembly magic, or for
// JavaScript that it is UTF-8 text. A missing file yields an error
// wrapping fs.ErrNotExist. It is safe for concurrent use.
func (p *Package) ReadFile(name string) ([]byte, error) {
	f, ok := p.byName[name]
	if !ok {
		return nil, &pkgError{File: name, Err: fs.ErrNotExist}
	}
	data, err := readFile(f, p.lim.MaxFileSize)
	if err != nil {
		return nil, &pkgError{File: name, Err: err}
	}
	if name == p.Manifest.Entry && p.Manifest.Runtime == RuntimeJS && !utf8.Valid(data) {
		return nil, &pkgError{File: name, Err: because(errNotWasm, "a JavaScript entry must be UTF-8 text", nil)}
	}
	if name == p.Manifest.Entry && p.Manifest.Runtime != RuntimeJS && !bytes.HasPrefix(data, []byte(wasmMagic)) {
		return nil, &pkgError{File: name, Err: because(errNotWasm, "does not start with the WebAssembly magic and version 1", nil)}
	}
	return data, nil
}

// readFile reads f completely, failing when it holds more than limit bytes
// or a length other than its declared size. archive/zip checks the CRC.
func readFile(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, because(ErrTooLarge, fmt.Sprintf("declared size %d bytes, above the limit of %d", f.UncompressedSize64, limit), nil)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, because(errNotZip, "open", err)
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, int(f.UncompressedSize64)))
	n, err := io.Copy(buf, io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, because(errNotZip, "read", err)
	}
	if n > limit {
		return nil, because(ErrTooLarge, fmt.Sprintf("holds more than the limit of %d bytes", limit), nil)
	}
	if uint64(n) != f.UncompressedSize64 {
		return nil, because(errNotZip, fmt.Sprintf("holds %d bytes, not the %d declared", n, f.UncompressedSize64), nil)
	}
	return buf.Bytes(), nil
}
