package mpk

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by OpenRegular, OpenFile, Pack and Build for a
// path that is not a regular file: a named pipe, a device, a socket or a
// folder. Reading one could block forever or never end. The error is an
// *fs.PathError naming the path and the kind of file found, like
//
//	open /tmp/f.mpk: not a regular file (named pipe)
var ErrNotRegular = errors.New("not a regular file")

// errChanged reports a path that named another file when it was opened
// than when it was checked a moment before.
var errChanged = errors.New("replaced by another file while being opened")

// notRegular returns the error for path, found to be of mode m.
func notRegular(path string, m fs.FileMode) error {
	return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fileKind(m))}
}

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
// regular file with an error wrapping ErrNotRegular, without blocking: it
// stats path first (following symbolic links), opens it without waiting
// for a peer (O_NONBLOCK on Unix, so a named pipe swapped in meanwhile
// cannot hang the open), and checks that what it opened is the same
// regular file. It keeps no state and is safe for concurrent use; the
// caller closes the file.
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
		return nil, notRegular(path, st.Mode())
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
		return nil, notRegular(path, fst.Mode())
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
