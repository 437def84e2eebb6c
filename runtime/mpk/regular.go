package mpk

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/afero"
)

// ErrNotRegular is wrapped by OpenRegular, OpenRegularFs, OpenFile, Pack
// and Build for a path that is not a regular file: a named pipe, a device,
// a socket or a folder. Reading one could block forever or never end.
var ErrNotRegular = errors.New("not a regular file")

// errChanged reports a path that named another file when it was opened
// than when it was checked a moment before.
var errChanged = errors.New("replaced by another file while being opened")

// NotRegularError reports a path that is not a regular file. Mode holds the
// type bits found. Its message reads like
//
//	open /tmp/f.mpk: not a regular file (named pipe)
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

// Error implements error.
func (e *NotRegularError) Error() string {
	return fmt.Sprintf("open %s: not a regular file (%s)", e.Path, fileKind(e.Mode))
}

// Unwrap returns ErrNotRegular.
func (e *NotRegularError) Unwrap() error { return ErrNotRegular }

// fileKind names the type of a file that is not regular, for messages.
func fileKind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "device"
	case t&fs.ModeDir != 0:
		return "folder"
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	default:
		return "irregular file, mode " + t.String()
	}
}

// OpenRegular opens the file at path for reading, refusing anything but a
// regular file with a *NotRegularError, without blocking: it stats path
// first (following symbolic links), opens it without waiting for a peer
// (O_NONBLOCK on Unix, so a named pipe swapped in meanwhile cannot hang the
// open), and checks that what it opened is the same regular file.
func OpenRegular(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return openChecked(path, st)
}

// openChecked opens path, which was found to be st, and checks that it
// still is the same regular file.
func openChecked(path string, st fs.FileInfo) (*os.File, error) {
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, err
	}
	fst, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fst.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Mode: fst.Mode()}
	}
	if !os.SameFile(st, fst) {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: errChanged}
	}
	if err := setBlocking(f); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}

// OpenRegularFs is OpenRegular on fsys. The same-file check needs the
// operating system's file identity, so it is made only where fsys gives it
// (afero.OsFs, and file systems over it on Unix); elsewhere the opened file
// must still be regular.
func OpenRegularFs(fsys afero.Fs, path string) (afero.File, error) {
	if _, ok := fsys.(*afero.OsFs); ok {
		return OpenRegular(path)
	}
	st, err := fsys.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	f, err := fsys.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, err
	}
	fst, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fst.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Mode: fst.Mode()}
	}
	if osIdentity(st) && osIdentity(fst) && !os.SameFile(st, fst) {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: errChanged}
	}
	if osf, ok := f.(*os.File); ok {
		if err := setBlocking(osf); err != nil {
			f.Close()
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
	}
	return f, nil
}

// readRegular reads the regular file at path, at most limit bytes; a
// longer file is read as its first limit+1 bytes, for the caller to refuse.
func readRegular(path string, limit int64) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}
