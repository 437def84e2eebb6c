package wasmbin

import (
	"cmp"
	"fmt"
	"slices"
)

// sectionDataCount is the id of the data count section, which bulk-memory
// code (memory.init, data.drop) needs to name segments by index.
const sectionDataCount = 12

// MergeStats reports what MergeData did.
type MergeStats struct {
	// Segments before and after.
	Before, After int
	// FillBytes is the zero bytes added to fill the gaps merged over.
	FillBytes int
	// Skipped says why the module was left as it was ("" when merged).
	Skipped string
}

// MergeData returns wasm with its active data segments merged wherever
// the gap between two is at most maxGap bytes, the gap filled with zeros.
// Go's linker writes tens of thousands of small segments (41,000 for a
// small guest) and wazero decodes, stores and copies each one on every
// compile and instantiate; a few large ones cost far less.
//
// The merge keeps the module's meaning: active segments are written in
// order into a memory that starts zeroed, so zeros written into a gap no
// segment covers change nothing. MergeData therefore leaves the module as
// it is (Skipped says why) when that does not hold or cannot be seen:
// an imported memory (it may not start zeroed), a data count section (code
// may name segments by index), passive segments or segments on another
// memory, an offset that is not an i32.const, or segments that overlap.
// It refuses what LimitTables refuses as malformed or over a cap. Only the
// data section changes.
func MergeData(wasm []byte, maxGap uint32) ([]byte, MergeStats, error) {
	m, err := parse(wasm, MaxElementEntries)
	if err != nil {
		return nil, MergeStats{}, err
	}
	var data *section
	for i, s := range m.sections {
		switch s.id {
		case sectionDataCount:
			return wasm, MergeStats{Skipped: "a data count section: code may name segments"}, nil
		case sectionData:
			data = &m.sections[i]
		}
	}
	if data == nil {
		return wasm, MergeStats{Skipped: "no data section"}, nil
	}
	if m.memImports > 0 {
		return wasm, MergeStats{Skipped: "an imported memory, which may not start zeroed"}, nil
	}
	segs, why, err := activeSegments(wasm[data.payload:data.end])
	if err != nil {
		return nil, MergeStats{}, fmt.Errorf("data section: %w", err)
	}
	st := MergeStats{Before: len(segs), After: len(segs), Skipped: why}
	if why != "" || len(segs) < 2 {
		return wasm, st, nil
	}
	slices.SortStableFunc(segs, func(a, b dataSegment) int { return cmp.Compare(a.offset, b.offset) })
	for i := 1; i < len(segs); i++ {
		if segs[i].offset < segs[i-1].end() {
			st.Skipped = fmt.Sprintf("segments overlap at offset %d", segs[i].offset)
			return wasm, st, nil
		}
	}

	payload := make([]byte, 0, data.end-data.payload) // the segments, after the count
	count := 0
	for i := 0; i < len(segs); {
		j, end := i+1, segs[i].end()
		for j < len(segs) && segs[j].offset-end <= uint64(maxGap) {
			end = segs[j].end()
			j++
		}
		payload = append(payload, 0, opI32Const)
		payload = AppendSLEB128(payload, int32(uint32(segs[i].offset)))
		payload = append(payload, opEnd)
		payload = AppendULEB128(payload, uint32(end-segs[i].offset))
		at := segs[i].offset
		for _, s := range segs[i:j] {
			gap := int(s.offset - at)
			st.FillBytes += gap
			payload = append(payload, make([]byte, gap)...)
			payload = append(payload, wasm[data.payload+s.start:data.payload+s.start+s.size]...)
			at = s.end()
		}
		count++
		i = j
	}
	st.After = count
	if count == len(segs) {
		return wasm, st, nil
	}
	body := AppendULEB128(make([]byte, 0, len(payload)+maxLEB128Len32), uint32(count))
	body = append(body, payload...)
	out := make([]byte, 0, len(wasm)+len(body)-(data.end-data.payload))
	out = append(out, wasm[:data.start]...)
	out = append(out, sectionData)
	out = AppendULEB128(out, uint32(len(body)))
	out = append(out, body...)
	out = append(out, wasm[data.end:]...)
	return out, st, nil
}

// dataSegment is an active segment on memory 0: size bytes at offset,
// its bytes at start in the data section's payload.
type dataSegment struct {
	offset      uint64
	start, size int
}

func (s dataSegment) end() uint64 { return s.offset + uint64(s.size) }

// activeSegments reads the data section's payload (already bounded by
// parse). why is non-empty for a segment MergeData cannot move.
func activeSegments(payload []byte) (segs []dataSegment, why string, err error) {
	r := reader{b: payload}
	n, err := r.u32()
	if err != nil {
		return nil, "", err
	}
	segs = make([]dataSegment, 0, n)
	for i := range n {
		prefix, err := r.u32()
		if err != nil {
			return nil, "", err
		}
		if prefix != 0 {
			return nil, fmt.Sprintf("segment %d is passive or on another memory", i), nil
		}
		op, err := r.byte()
		if err != nil {
			return nil, "", err
		}
		if op != opI32Const {
			return nil, fmt.Sprintf("segment %d has an offset that is not an i32.const", i), nil
		}
		off, err := r.s32()
		if err != nil {
			return nil, "", err
		}
		if end, err := r.byte(); err != nil || end != opEnd {
			return nil, fmt.Sprintf("segment %d has an offset that is not an i32.const", i), nil
		}
		size, err := r.u32()
		if err != nil {
			return nil, "", err
		}
		segs = append(segs, dataSegment{offset: uint64(uint32(off)), start: r.off, size: int(size)})
		r.off += int(size)
	}
	return segs, "", nil
}
