package delta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// A patch is magic, a big-endian uint32 header length, the JSON header
// (the target's files in path order, each with how to rebuild it) and the
// payloads of the "patch" and "new" entries, in header order.
const magic = "MHDELTA1"

// Ops of a header entry.
const (
	opCopy  = "copy"  // the base file Base holds exactly these bytes
	opPatch = "patch" // zstd frame with the base file Base as raw dictionary
	opNew   = "new"   // zstd frame without a dictionary
)

// entry is one target file in a patch header.
type entry struct {
	File
	Op   string `json:"op"`
	Base string `json:"base,omitempty"`
	Len  int64  `json:"len,omitempty"`
}

type header struct {
	Files []entry `json:"files"`
}

// dictID names the one raw dictionary of a frame; any fixed non-zero id
// works, since each frame is decoded by a decoder given its own base.
const dictID = 1

// Entry is one file given to Build, with its bytes.
type Entry struct {
	Path string
	Data []byte
}

// Build returns the patch that rebuilds target's files from base's. A
// target file whose bytes some base file holds is copied from it (renames
// included); one whose path is in base is encoded by zstd with that base
// file as raw dictionary and a window covering both, so that unchanged
// stretches cost a few bytes; any other is compressed on its own. Paths
// must be unique within each side. Build is a pure function.
func Build(base, target []Entry) ([]byte, error) {
	byPath := map[string][]byte{}
	bySum := map[string]string{}
	for _, e := range base {
		if _, dup := byPath[e.Path]; dup {
			return nil, fmt.Errorf("build patch: base file %s is listed twice", e.Path)
		}
		byPath[e.Path] = e.Data
		if _, ok := bySum[sum(e.Data)]; !ok {
			bySum[sum(e.Data)] = e.Path
		}
	}
	target = slices.Clone(target)
	slices.SortFunc(target, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	var h header
	var payloads [][]byte
	for i, t := range target {
		if i > 0 && target[i-1].Path == t.Path {
			return nil, fmt.Errorf("build patch: target file %s is listed twice", t.Path)
		}
		e := entry{File: File{Path: t.Path, Size: int64(len(t.Data)), SHA256: sum(t.Data)}}
		if from, ok := bySum[e.SHA256]; ok {
			e.Op, e.Base = opCopy, from
		} else {
			dict, hasBase := byPath[t.Path]
			frame, err := encode(t.Data, dict, hasBase)
			if err != nil {
				return nil, fmt.Errorf("build patch: %s: %w", t.Path, err)
			}
			e.Op, e.Len = opNew, int64(len(frame))
			if hasBase {
				e.Op, e.Base = opPatch, t.Path
			}
			payloads = append(payloads, frame)
		}
		h.Files = append(h.Files, e)
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("build patch: %w", err)
	}
	if len(hdr) > MaxHeaderSize {
		return nil, fmt.Errorf("build patch: header is %d bytes, limit %d", len(hdr), MaxHeaderSize)
	}
	var out bytes.Buffer
	out.WriteString(magic)
	out.Write(binary.BigEndian.AppendUint32(nil, uint32(len(hdr))))
	out.Write(hdr)
	for _, p := range payloads {
		out.Write(p)
	}
	return out.Bytes(), nil
}

// encode compresses data into one zstd frame, with dict as raw dictionary
// when withDict. The window covers the dictionary and the data, so a match
// anywhere in the base is in reach.
func encode(data, dict []byte, withDict bool) ([]byte, error) {
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(zstd.SpeedBestCompression),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(windowFor(int64(len(dict) + len(data)))),
	}
	if withDict {
		if len(dict) == 0 {
			dict = []byte{0} // an empty raw dictionary is refused; one byte is harmless
		}
		opts = append(opts, zstd.WithEncoderDictRaw(dictID, dict))
	}
	enc, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil), nil
}

// windowFor returns the smallest power-of-two zstd window of at least n
// bytes, within zstd's bounds.
func windowFor(n int64) int {
	w := max(zstd.MinWindowSize, 1<<bits.Len64(uint64(max(n-1, 0))))
	return min(w, zstd.MaxWindowSize)
}

// ErrBadPatch is wrapped by Apply for a patch that does not rebuild the
// files it was given for: malformed, truncated, over a limit, naming a
// base file that is not there, or rebuilding bytes other than the signed
// digest's.
var ErrBadPatch = errors.New("bad patch")
