package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"unicode/utf8"
)

// The data file is
//
//	magic "MHKV" | format version 1 (1 byte) | uvarint entry count |
//	entries, sorted by key: uvarint key length | key | uvarint value length | value |
//	CRC-32C (Castagnoli) of everything before it, 4 bytes big-endian
//
// Binary rather than JSON because values are arbitrary bytes and a full
// store is rewritten on every change: no escaping, no base64.
const (
	magic         = "MHKV"
	formatVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encode returns the file contents for data, whose keys plus values take
// size bytes.
func encode(data map[string][]byte, size int64) []byte {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, int(size)+len(magic)+1+binary.MaxVarintLen64+2*binary.MaxVarintLen32*len(keys)+4)
	b = append(b, magic...)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		v := data[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decode parses file contents made by encode, returning the entries and
// the bytes their keys and values take.
func decode(b []byte) (map[string][]byte, int64, error) {
	if len(b) < len(magic)+1+1+4 || string(b[:len(magic)]) != magic {
		return nil, 0, errors.New("not a storage file")
	}
	if v := b[len(magic)]; v != formatVersion {
		return nil, 0, fmt.Errorf("storage file format %d, want %d", v, formatVersion)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, 0, errors.New("checksum mismatch: the storage file is corrupt")
	}
	r := body[len(magic)+1:]
	count, err := uvarint(&r)
	if err != nil {
		return nil, 0, err
	}
	// Each entry takes at least 3 bytes (two lengths and a key byte).
	if count > uint64(len(r))/3 {
		return nil, 0, fmt.Errorf("entry count %d does not fit in the file", count)
	}
	data := make(map[string][]byte, count)
	var size int64
	prev := ""
	for i := range count {
		k, err := field(&r)
		if err != nil {
			return nil, 0, fmt.Errorf("entry %d key: %w", i, err)
		}
		v, err := field(&r)
		if err != nil {
			return nil, 0, fmt.Errorf("entry %d value: %w", i, err)
		}
		key := string(k)
		if key == "" || !utf8.ValidString(key) || (i > 0 && key <= prev) {
			return nil, 0, fmt.Errorf("entry %d: invalid, duplicate or unsorted key", i)
		}
		data[key] = v
		size += int64(len(k) + len(v))
		prev = key
	}
	if len(r) != 0 {
		return nil, 0, fmt.Errorf("%d bytes after the last entry", len(r))
	}
	return data, size, nil
}

func uvarint(r *[]byte) (uint64, error) {
	n, w := binary.Uvarint(*r)
	if w <= 0 {
		return 0, errors.New("truncated length")
	}
	*r = (*r)[w:]
	return n, nil
}

// field reads a length-prefixed field; the result is a copy, so the file
// buffer is not kept alive by a single small value.
func field(r *[]byte) ([]byte, error) {
	n, err := uvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(*r)) {
		return nil, fmt.Errorf("length %d past the end of the file", n)
	}
	f := append([]byte(nil), (*r)[:n]...)
	*r = (*r)[n:]
	return f, nil
}
