package fsutil

import (
	"io"
	"syscall"
)

// writeBehindChunk is how many bytes WriteBehind lets pile up before it
// asks the kernel to start writing them out.
const writeBehindChunk = 256 << 10

// WriteBehind returns a writer that writes to f and, on Linux, after each
// MiB written asks the kernel to start writing that MiB to disk without
// waiting for it (sync_file_range with SYNC_FILE_RANGE_WRITE). The final
// Sync then waits only for the tail: a 4 MB file's fsync took about 6 ms
// after its last write (updater's BenchmarkDownloadInstall), time that is
// spent decompressing when the writes are started early. It is a hint and
// changes no guarantee: the caller still syncs f, and errors show there.
// Writes must be in order from offset 0. On other systems, and for a file
// that exposes no descriptor (syscall.Conn), it returns f. The writer is
// used by one goroutine, like f.
func WriteBehind(f io.Writer) io.Writer {
	sc, ok := f.(syscall.Conn)
	if !ok || !writeBehindSupported {
		return f
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return f
	}
	return &writeBehind{w: f, rc: rc}
}

type writeBehind struct {
	w       io.Writer
	rc      syscall.RawConn
	written int64 // bytes written
	started int64 // bytes whose write-out was started
}

func (wb *writeBehind) Write(p []byte) (int, error) {
	n, err := wb.w.Write(p)
	wb.written += int64(n)
	if wb.written-wb.started >= writeBehindChunk {
		off, size := wb.started, wb.written-wb.started
		wb.rc.Control(func(fd uintptr) { startWriteOut(fd, off, size) })
		wb.started = wb.written
	}
	return n, err
}
