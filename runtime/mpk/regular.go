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

// fileKinds names the types of file that are not regular, for messages,
// first match wins: a character device also has ModeDevice set.
var fileKinds = []struct {
	mode fs.FileMode
	name string
}{
	{fs.ModeNamedPipe, "named pipe"},
	{fs.ModeSocket, "socket"},
	{fs.ModeCharDevice, "character device"},
	{fs.ModeDevice, "device"},
	{fs.ModeDir, "folder"},
	{fs.ModeSymlink, "symbolic link"},
}

// fileKind names the type of a file that is not regular, for messages.
func fileKind(m fs.FileMode) string {
	for _, k := range fileKinds {
		if m.Type()&k.mode != 0 {
			return k.name
		}
	}
	return "irregular file, mode " + m.Type().String()
}

// OpenRegular opens the file at path for reading, refusing anything but a
// regular file with an error wrapping ErrNotRegular, without blocking: it
// stats path first (following symbolic links), opens it without waiting
// for a peer (O_NONBLOCK on Unix, so a named pipe swapped in meanwhile
// cannot hang the open), and checks that what it opened is the same
// regular file. It keeps no state and is safe for concurrent use; the
// caller closes the file.
func OpenRegular(path string) (*os.File, error) {
	f, _, err := openRegular(path)
	return f, err
}

// openRegular is OpenRegular, returning the stat of the file opened too.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	return openChecked(path, st)
}

// openChecked opens path, which was found to be st, and checks that it
// still is the same regular file. It returns the stat of the file opened,
// for a caller that needs its size.
func openChecked(path string, st fs.FileInfo) (*os.File, fs.FileInfo, error) {
	if !st.Mode().IsRegular() {
		return nil, nil, notRegular(path, st.Mode())
	}
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	fst, err := checkOpened(f, path, st)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fst, nil
}

// checkOpened checks that f, opened at path, is the regular file st and
// makes its reads blocking again; it returns f's stat.
func checkOpened(f *os.File, path string, st fs.FileInfo) (fs.FileInfo, error) {
	fst, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fst.Mode().IsRegular() {
		return nil, notRegular(path, fst.Mode())
	}
	if !os.SameFile(st, fst) {
		return nil, &fs.PathError{Op: "open", Path: path, Err: errChanged}
	}
	if err := setBlocking(f); err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return fst, nil
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
