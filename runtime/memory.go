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
type cappedAllocator struct {
	limit   uint64
	refused *atomic.Bool
}

var _ experimental.MemoryAllocator = (*cappedAllocator)(nil)

func (a *cappedAllocator) Allocate(capacity, _ uint64) experimental.LinearMemory {
	return &cappedMemory{buf: make([]byte, 0, min(capacity, a.limit)), limit: a.limit, refused: a.refused}
}

type cappedMemory struct {
	buf     []byte
	limit   uint64
	refused *atomic.Bool
}

func (m *cappedMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		m.refused.Store(true)
		return nil
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
