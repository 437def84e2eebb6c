//go:build !wasip1

package wx

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

// sources holds the SDK's own Go files and those of its abi leaf, the
// only package it imports, so that a mini program written outside this
// repository can carry a copy (minihost new writes one beside the app;
// see cmd/minihost/new.go). The pattern takes the tests too; Sources
// leaves them out. Guests never link this file: it is not built for
// wasip1.
//
//go:embed *.go abi/*.go
var sources embed.FS

// Sources returns the guest SDK's Go sources, the files of this package
// and of samples/wx/abi, keyed by their slash-separated path relative to
// samples/wx ("dispatch.go", "abi/abi.go"), tests and this file left out:
// what a copy of the SDK outside this module needs to build. Each call
// returns a fresh map; it is safe for concurrent use.
func Sources() map[string][]byte {
	out := map[string][]byte{}
	err := fs.WalkDir(sources, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isSource(p) {
			return err
		}
		data, err := sources.ReadFile(p)
		out[p] = data
		return err
	})
	if err != nil {
		// The files are compiled in; reading them cannot fail.
		panic("wx: read embedded sources: " + err.Error())
	}
	return out
}

// isSource reports whether the embedded file p belongs in a copy of the
// SDK: Go files, not tests, not this file (a copy needs no copy).
func isSource(p string) bool {
	name := path.Base(p)
	return strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") && p != "sdk.go"
}
