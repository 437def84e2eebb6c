//go:build unix

package mpk

import (
	"os"
	"syscall"
)

// openFlags opens for reading without waiting: a named pipe with no writer
// (or a device that waits for one) would block a plain open forever.
// O_NOCTTY keeps a terminal swapped in from becoming the controlling one.
const openFlags = syscall.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// setBlocking clears O_NONBLOCK once the file is known to be regular, so
// that reads behave as on any file the os package opens.
func setBlocking(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
