package mpk_test

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// wasmMin is the smallest valid WebAssembly module: magic and version.
const wasmMin = "\x00asm\x01\x00\x00\x00"

const manifestOK = `{"appId": "demo.counter", "version": "1.0.0", "abi": 1, "entry": "app.wasm", "name": "Counter", "permissions": []}`

// entry is one zip entry for makeZip.
type entry struct {
	name string
	body string
	mode fs.FileMode // 0 means a regular file, 0644
	// raw entries are written with CreateRaw: body is stored as is and the
	// header declares size and crc, so tests can lie about them.
	raw    bool
	method uint16
	size   uint64
	crc    uint32
	flags  uint16
}

// makeZip builds a zip archive in memory from entries, in order.
func makeZip(tb testing.TB, entries ...entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		if e.raw {
			h.Method = e.method
			h.Flags = e.flags
			h.CompressedSize64 = uint64(len(e.body))
			h.UncompressedSize64 = e.size
			h.CRC32 = e.crc
			w, err := zw.CreateRaw(h)
			if err != nil {
				tb.Fatal(err)
			}
			if _, err := w.Write([]byte(e.body)); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// stored returns a raw, uncompressed entry declaring size and the CRC of
// declaredBody, holding body.
func stored(name, body string, size uint64, declaredBody string) entry {
	return entry{name: name, body: body, raw: true, method: zip.Store, size: size, crc: crc32.ChecksumIEEE([]byte(declaredBody))}
}

// basic returns the entries of a minimal valid package plus extra.
func basic(extra ...entry) []entry {
	return append([]entry{{name: "app.json", body: manifestOK}, {name: "app.wasm", body: wasmMin}}, extra...)
}

// listTree returns every path under dir (slash-separated, relative),
// sorted, so tests can check that nothing was left behind.
func listTree(tb testing.TB, dir string) []string {
	tb.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(names)
	return names
}

func writeFile(tb testing.TB, path, data string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}
