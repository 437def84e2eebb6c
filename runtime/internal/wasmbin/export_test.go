package wasmbin

import "testing"

// What the external tests of real Go guests (guests_test.go) need of the
// package's insides. They are external because they build guests with
// runtimetest, which imports mpk, which imports this package.

// Parse is parse, for the benchmarks.
var Parse = parse

// RequireCompiles is requireCompiles.
func RequireCompiles(t *testing.T, in, out []byte) { requireCompiles(t, in, out) }

// Counts returns what a scan of wasm counted, by name, and the caps the
// tests compare them to.
func Counts(wasm []byte, elemLimit uint32) (counts map[string]uint64, err error) {
	m, err := parse(wasm, elemLimit)
	if err != nil {
		return nil, err
	}
	return map[string]uint64{
		"types": m.types, "imports": m.imports, "functions": uint64(m.funcImports) + m.definedFuncs,
		"imported functions": uint64(m.funcImports), "body size": uint64(m.maxBody), "exports": m.exports,
		"globals": uint64(m.globalImports) + m.globals, "tags": uint64(m.tagImports) + m.tags,
		"element segments": m.elemSegments, "element entries": m.elemEntries, "data segments": m.dataSegments,
		"function names": m.funcNames, "functions with local names": m.localNameFuncs, "local names": m.localNames,
		"locals in a function": uint64(m.maxLocals), "locals in all": m.locals,
		"parameters": uint64(m.maxParams), "results": uint64(m.maxResults),
	}, nil
}
