package runtime

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"sync"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
)

// A rewrite is kept on disk beside wazero's compiled code, so that a new
// process does not pay it again (4 ms of a Go guest's 45 ms warm-cache
// launch, 17-22 ms of the JS base library's): compilecache's Index names
// the file by the module's rewriteHash and bounds it with the cache's
// entries. The file is only as good as the disk, and the key is not
// collision-resistant (two CRCs), so a loaded rewrite is used only once
// the sha256 of the source it was made from equals the bytes being
// compiled, taken on another goroutine while wazero compiles; its own
// bytes carry a CRC against a torn or damaged file. A file failing
// either check is made again from the source, never compiled past the
// check: no guest runs code the host did not rewrite from its own bytes.
//
// The layout: the header below, then the rewritten module.
//
//	magic      8 bytes   rewriteMagic
//	version    16 bytes  rewriteCode
//	maxElems   uint32    the table cap the rewrite was made for
//	every      uint32    interruptEvery
//	source     32 bytes  sha256 of the module given to Compile
//	length     uint64    of the rewritten module
//	crc        uint32    Castagnoli CRC-32 of the rewritten module
const (
	rewriteMagic      = "mhrwfile"
	rewriteHeaderSize = 8 + 16 + 4 + 4 + 32 + 8 + 4
)

// rewriteCode names, in a file's header, the code that made the rewrite:
// rewriteVersion, the import the countdown calls and a digest of
// wasmbin's sources. A file is trusted to be the rewrite of the source
// its header names, so it must be this code's rewrite: a build whose
// wasmbin differs (a fix to the countdown or to a bound) refuses the
// files of the others rather than run what they made, which a version
// bumped by hand would only do when someone remembered.
var rewriteCode = sync.OnceValue(func() [16]byte {
	h := sha256.New()
	h.Write([]byte(rewriteVersion + "\x00" + hostModule + "\x00" + interruptFunc + "\x00"))
	digest := wasmbin.CodeDigest()
	h.Write(digest[:])
	var code [16]byte
	copy(code[:], h.Sum(nil))
	return code
})

// rewriteHeader returns the header of the file of out, the rewrite of
// src for the table cap maxElems; the file is the header, then out.
func rewriteHeader(src, out []byte, maxElems uint32) []byte {
	h := make([]byte, rewriteHeaderSize)
	copy(h, rewriteMagic)
	code := rewriteCode()
	copy(h[8:24], code[:])
	binary.LittleEndian.PutUint32(h[24:], maxElems)
	binary.LittleEndian.PutUint32(h[28:], interruptEvery)
	sum := sha256.Sum256(src)
	copy(h[32:64], sum[:])
	binary.LittleEndian.PutUint64(h[64:], uint64(len(out)))
	binary.LittleEndian.PutUint32(h[72:], crc32.Checksum(out, castagnoli))
	return h
}

// decodeRewrite returns the rewritten module a file holds and the sha256
// of the source it names, or false when the file is not a whole rewrite
// of this version for maxElems.
func decodeRewrite(file []byte, maxElems uint32) (out []byte, source [32]byte, ok bool) {
	if len(file) < rewriteHeaderSize {
		return nil, source, false
	}
	version := rewriteCode()
	h := file[:rewriteHeaderSize]
	switch {
	case string(h[:8]) != rewriteMagic, !bytes.Equal(h[8:24], version[:]),
		binary.LittleEndian.Uint32(h[24:]) != maxElems,
		binary.LittleEndian.Uint32(h[28:]) != interruptEvery:
		return nil, source, false
	}
	copy(source[:], h[32:64])
	out = file[rewriteHeaderSize:]
	if binary.LittleEndian.Uint64(h[64:]) != uint64(len(out)) || binary.LittleEndian.Uint32(h[72:]) != crc32.Checksum(out, castagnoli) {
		return nil, source, false
	}
	return out, source, true
}

// sourceCheck starts the sha256 of src on another goroutine and returns
// a function that waits for it and reports whether it is want. The
// goroutine ends on its own, in milliseconds, whether or not anyone
// waits.
func sourceCheck(src []byte, want [32]byte) func() bool {
	done := make(chan bool, 1)
	go func() { done <- sha256.Sum256(src) == want }()
	return sync.OnceValue(func() bool { return <-done })
}

// maxRewriteFile bounds the rewrite file read (and written, see save) for
// a module of n bytes: the rewrite adds a few percent to Go code (2.2% to
// the JS base library); crafted code (calls outside loops, up to
// wasmbin.MaxCountdowns a function) can grow several times over, and its
// rewrite is then made at each launch rather than kept.
func maxRewriteFile(n int) int64 {
	return rewriteHeaderSize + int64(n)*2 + 1<<20
}
