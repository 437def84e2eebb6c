//go:build linux && !arm

package fsutil

import "syscall"

const writeBehindSupported = true

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE of <linux/fs.h>: start
// writing out the dirty pages of the range, do not wait.
const syncFileRangeWrite = 2

func startWriteOut(fd uintptr, off, n int64) {
	syscall.SyncFileRange(int(fd), off, n, syncFileRangeWrite) // a hint: Sync reports real failures
}
