package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/minihost/minihost/runtime/internal/compilecache"
	"github.com/minihost/minihost/runtime/internal/wasmbin"
)

// How a running guest is stopped. wazero's WithCloseOnContextDone leaves
// its machine code for Go at the head of every loop to see whether the
// module was closed, and Go's compiler makes every function a loop, so
// that check tripled the cost of a guest's function calls (a wx call from
// a Go guest 4.1 µs with it, 1.2 µs without). Compile instead adds a
// countdown to every loop head and before every call outside a loop
// (wasmbin.Rewrite) that calls interruptFunc every interruptEvery counts;
// it ends the call, as wazero would, once the call's context is done: its
// deadline, or a Sandbox.Close, whose cancel reaches every call.
const (
	interruptFunc = "minihost_interrupt"
	// interruptEvery is tens of microseconds of a guest's loops between
	// checks: the deadline is late by no more, and a check (a host call,
	// about 0.1 µs) costs a fraction of a percent.
	interruptEvery = 1 << 13
)

// interrupt is the host function the countdown calls. A panic with an
// exit error is how a host function ends the guest's call (proc_exit does
// the same); the module is closed first, so it is never reused.
func interrupt(ctx context.Context, mod api.Module, _ []uint64) {
	err := ctx.Err()
	if err == nil {
		return
	}
	code := sys.ExitCodeContextCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		code = sys.ExitCodeDeadlineExceeded
	}
	_ = mod.CloseWithExitCode(context.WithoutCancel(ctx), code)
	panic(sys.NewExitError(code))
}

// exportInterrupt adds interrupt to the host module b.
func exportInterrupt(b wazero.HostModuleBuilder) {
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(interrupt), nil, nil).Export(interruptFunc)
}

// rewrite is wasmbin.Rewrite with the runtime's import, its errors
// mapped to the runtime's sentinels.
func rewrite(wasm []byte, maxElems uint32, workers int) ([]byte, error) {
	out, err := wasmbin.Rewrite(wasm, maxElems, wasmbin.Interrupt{Module: hostModule, Name: interruptFunc, Every: interruptEvery, Workers: workers})
	switch {
	case errors.Is(err, wasmbin.ErrUnsupported):
		return nil, fmt.Errorf("%w: %w", ErrNotABI, err)
	case errors.Is(err, wasmbin.ErrMalformed):
		// wasmbin's message already says "malformed wasm module".
		return nil, &sentinelError{ErrMalformedWasm, err}
	case errors.Is(err, wasmbin.ErrTableLimit):
		// A cap the runtime sets: ErrNotABI, which says "table limit
		// reached" in wasmbin's words.
		return nil, &sentinelError{ErrNotABI, err}
	}
	return out, err
}

// rewritten is a module as Compile hands it to wazero: its tables
// limited and its countdown added. Every Module compiled from it
// holds it, so that the Sandboxes compiling one app's module (every
// window, relaunch and hot swap of it) share one copy, rewritten and
// hashed once.
type rewritten struct {
	wasm []byte
	hash [32]byte // rewriteHash of its source: the compile cache's key
	// sourceOK reports whether wasm was made from the bytes being
	// compiled: true for a rewrite made here, the sha256 check of its
	// source for one read from disk (rewrite_file.go). Nil is false.
	sourceOK func() bool
}

// fromSource reports whether rw was made from the bytes Compile is
// compiling; it may wait for the check of a rewrite read from disk.
func (rw *rewritten) fromSource() bool {
	return rw.sourceOK != nil && rw.sourceOK()
}

func madeHere() bool { return true }

// rewriteVersion names what Compile does to a module (16 bytes at most:
// the start of the compile cache's key). Change it with the rewrite, so
// that the cache's bookkeeping never takes an old rewrite's entry for a
// new one's (it would only cost recency). The rewrite files do not rely
// on it alone: their header names wasmbin's code too (rewriteCode).
const rewriteVersion = "minihost-rw1"

// rewriteHash is the compile cache's key for the rewrite of wasm: the
// version, the length and two CRC-32s (Castagnoli and IEEE, both in
// hardware: 0.3 ms for a Go guest where a sha256 takes 2.3 ms of a 45 ms
// launch) of the bytes given to Compile. It need not resist a crafted
// collision: the key names the cache file the compile wrote (recency, and
// a pin against eviction) and the compile lock, so two modules that
// share one only share a lock and bookkeeping, which costs a recompile at
// worst, never a wrong module: wazero keys its cache by its own sha256 of
// the bytes it compiles. Not of the table cap: two caps that leave the
// tables alike make the same bytes, and one key for the same bytes is
// what the compile lock needs.
func rewriteHash(wasm []byte) [32]byte {
	var key [32]byte
	copy(key[:16], rewriteVersion)
	binary.LittleEndian.PutUint64(key[16:], uint64(len(wasm)))
	binary.LittleEndian.PutUint32(key[24:], crc32.Checksum(wasm, castagnoli))
	binary.LittleEndian.PutUint32(key[28:], crc32.ChecksumIEEE(wasm))
	return key
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// rewriteKey names a rewrite: the bytes given to Compile (the pool's
// identity of a module, see source) and the table cap it was made for.
type rewriteKey struct {
	src      source
	maxElems uint32
}

// rewrites holds the Engine's rewritten modules weakly: one lives as long
// as a Module or a parked core holds it, and the map forgets it after.
// With a cache on disk it also keeps each rewrite in a file
// (rewrite_file.go), which a new process reads instead of rewriting.
// Goroutine-safe.
type rewrites struct {
	mu sync.Mutex
	m  map[rewriteKey]weak.Pointer[rewritten]

	disk  *compilecache.Index // nil: no files (the cache is in memory)
	saves sync.WaitGroup      // files being written; Engine.Close waits
	made  atomic.Int64        // rewrites made (not found), for the tests
}

// get returns the rewrite of wasm, whose source is src, for the table cap
// maxElems: the one a live Module holds, else the one on disk, else one
// made now. Compile checks fromSource before it uses one.
func (r *rewrites) get(wasm []byte, src source, maxElems uint32, workers int) (*rewritten, error) {
	key := rewriteKey{src, maxElems}
	r.mu.Lock()
	rw := r.m[key].Value()
	r.mu.Unlock()
	if rw != nil {
		return rw, nil
	}
	hash := rewriteHash(wasm)
	if rw = r.load(wasm, hash, maxElems); rw != nil {
		r.remember(key, rw)
		return rw, nil
	}
	return r.make(wasm, hash, src, maxElems, workers)
}

// make rewrites wasm, whose rewriteHash is hash, now, keeps the rewrite
// on disk and remembers it in the place of any other for src and
// maxElems: Compile calls it directly when the one get gave was not made
// from wasm.
func (r *rewrites) make(wasm []byte, hash [32]byte, src source, maxElems uint32, workers int) (*rewritten, error) {
	r.made.Add(1)
	out, err := rewrite(wasm, maxElems, workers)
	if err != nil {
		return nil, err
	}
	// The key the compile cache knows the rewrite by is a hash of what
	// it is made from: the rewrite is a function of those.
	rw := &rewritten{wasm: out, hash: hash, sourceOK: madeHere}
	r.save(wasm, rw, maxElems)
	r.remember(rewriteKey{src, maxElems}, rw)
	return rw, nil
}

// load returns the rewrite of wasm (whose rewriteHash is hash) read from
// disk, its source's check started, or nil when there is no whole one
// for maxElems.
func (r *rewrites) load(wasm []byte, hash [32]byte, maxElems uint32) *rewritten {
	file, ok := r.disk.ReadRewrite(hash, maxRewriteFile(len(wasm)))
	if !ok {
		return nil
	}
	out, sum, ok := decodeRewrite(file, maxElems)
	if !ok {
		return nil
	}
	return &rewritten{wasm: out, hash: hash, sourceOK: sourceCheck(wasm, sum)}
}

// save writes the file of rw, the rewrite of src, on a goroutine that
// Engine.Close waits for; its header (the sha256 of src) is taken before
// save returns, as Compile's caller may reuse src after.
func (r *rewrites) save(src []byte, rw *rewritten, maxElems uint32) {
	// A file past what load reads would never be read, only take the
	// bound's room at every launch (empty loops rewrite to 8 times their
	// size).
	if r.disk == nil || rewriteHeaderSize+int64(len(rw.wasm)) > maxRewriteFile(len(src)) {
		return
	}
	header := rewriteHeader(src, rw.wasm, maxElems)
	r.saves.Add(1)
	go func() {
		defer r.saves.Done()
		if err := r.disk.WriteRewrite(rw.hash, header, rw.wasm); err != nil && r.disk.OnError != nil {
			r.disk.OnError(err) // costs the next process a rewrite, nothing more
		}
	}()
}

// remember holds rw weakly as the rewrite for key.
func (r *rewrites) remember(key rewriteKey, rw *rewritten) {
	r.mu.Lock()
	if r.m == nil {
		r.m = map[rewriteKey]weak.Pointer[rewritten]{}
	}
	r.m[key] = weak.Make(rw)
	r.mu.Unlock()
	goruntime.AddCleanup(rw, r.forget, key)
}

// forget drops key once its rewrite is collected, unless a newer one
// took its place.
func (r *rewrites) forget(key rewriteKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m[key].Value() == nil {
		delete(r.m, key)
	}
}

// len is how many rewrites the map holds, for the tests.
func (r *rewrites) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}
