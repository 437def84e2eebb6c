package fsutil_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/minihost/minihost/runtime/fsutil"
)

// TestWriteBehind checks that the write-out hint changes nothing written:
// a file gets every byte in order across many chunks, and a writer with
// no descriptor is returned as it is.
func TestWriteBehind(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"under a chunk", 1000},
		{"many chunks and a tail", 3<<20 + 12345},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := bytes.Repeat([]byte("0123456789abcdef"), tt.size/16+1)[:tt.size]
			path := filepath.Join(t.TempDir(), "f")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.CopyBuffer(fsutil.WriteBehind(f), bytes.NewReader(data), make([]byte, 32<<10)); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("file holds %d bytes (%v), want the %d written", len(got), err, len(data))
			}
		})
	}
	var buf bytes.Buffer
	if w := fsutil.WriteBehind(&buf); w != io.Writer(&buf) {
		t.Errorf("WriteBehind(a buffer) = %T, want the buffer itself", w)
	}
}
