// Package delta is the codec of delta updates: the content digest of a
// version's files, and patches that rebuild a version's files from an
// installed one's. The release server builds patches at publish
// (updater/release); the client applies them into a fresh folder that the
// Store then installs (updater/store_patch.go). Everything here is a pure
// function of its arguments, safe for concurrent use; Apply bounds every
// size it reads (Limits) and checks every file it writes against the
// signed digest, so a wrong or hostile patch can fail but never produce
// other files.
package delta

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// File is one regular file of a version: its slash-separated path inside
// the package, its size and the hex sha256 of its bytes.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Digest returns a version's content digest: the hex sha256 of its file
// list, one "path\tsize\tsha256\n" line per file, sorted by path. It is
// the one definition server and client share; files is not modified.
func Digest(files []File) string {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	h := sha256.New()
	for _, f := range sorted {
		fmt.Fprintf(h, "%s\t%d\t%s\n", f.Path, f.Size, f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sum returns the hex sha256 of b.
func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
