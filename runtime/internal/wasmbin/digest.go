package wasmbin

import (
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// sources are this package's files, so that CodeDigest changes with any
// change to what Rewrite does, without anyone remembering to bump a
// version: the runtime keeps rewrites on disk, and an upgrade that fixes
// the countdown or a bound must not run what the old code made.
//
//go:embed *.go
var sources embed.FS

// CodeDigest returns the sha256 of the package's Go files, tests left
// out (they do not change what it writes), in name order; computed once
// per process. Goroutine-safe.
func CodeDigest() [32]byte { return codeDigest() }

var codeDigest = sync.OnceValue(func() [32]byte {
	names, err := fs.Glob(sources, "*.go")
	if err != nil {
		panic(err) // a constant pattern
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		data, err := sources.ReadFile(name)
		if err != nil {
			panic(err) // embedded
		}
		// The name and length delimit each file, so moving code between
		// files changes the digest too.
		h.Write(binary.LittleEndian.AppendUint64([]byte(name+"\x00"), uint64(len(data))))
		h.Write(data)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
})
