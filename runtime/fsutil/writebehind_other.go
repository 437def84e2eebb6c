//go:build !linux || arm

package fsutil

const writeBehindSupported = false

func startWriteOut(fd uintptr, off, n int64) {}
