package runtime

import (
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"
)

// cappedAllocator backs a guest's linear memory and refuses to grow it past
// limit bytes, recording the refusal so that the trap that follows (Go's
// runtime aborts with "out of memory") is reported as ErrMemoryLimit.
// wazero's own WithMemoryLimitPages refuses before any hook runs, which
// leaves only a bare "unreachable" to go on.
//
// peak is the largest memory an instance of the same app (Sandbox)
// reached: a new instance (a hot swap, a relaunch) reserves that much at
// once, so it does not copy its memory at every doubling while Go's
// runtime initializes. It is a capacity only: the memory the guest sees
// still starts at its declared size and grows as it asks.
type cappedAllocator struct {
	limit   uint64
	refused *atomic.Bool
	peak    *atomic.Uint64
}

var _ experimental.MemoryAllocator = (*cappedAllocator)(nil)

func (a *cappedAllocator) Allocate(capacity, _ uint64) experimental.LinearMemory {
	c := min(max(capacity, a.peak.Load()), a.limit)
	return &cappedMemory{buf: make([]byte, 0, c), limit: a.limit, refused: a.refused, peak: a.peak}
}

type cappedMemory struct {
	buf     []byte
	limit   uint64
	refused *atomic.Bool
	peak    *atomic.Uint64
}

func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused.Store(true)
		return nil
	}
	for p := m.peak.Load(); size > p && !m.peak.CompareAndSwap(p, size); p = m.peak.Load() {
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	// Grow geometrically, as append would, but never past the cap.
	newCap := max(size, min(2*uint64(cap(m.buf)), m.limit))
	nb := make([]byte, size, newCap)
	copy(nb, m.buf)
	m.buf = nb
	return nb
}

func (m *cappedMemory) Free() { m.buf = nil }
