//go:build !unix

package mpk

import (
	"os"
)

// openFlags opens for reading. Outside Unix there is no O_NONBLOCK; the
// stat before the open is what keeps pipes and devices out.
const openFlags = os.O_RDONLY

// setBlocking has nothing to undo outside Unix.
func setBlocking(*os.File) error { return nil }
