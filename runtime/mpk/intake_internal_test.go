package mpk

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/afero"
)

// TestIntakeOpenRecheck: the file opened is checked again after the open,
// so a path swapped between the stat and the open (for a named pipe, or
// another file) is refused, and the open itself does not block.
func TestIntakeOpenRecheck(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stA, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string // opened as if it were still a
		want string
	}{
		{name: "same file", path: a},
		{name: "swapped for another file", path: b, want: "replaced by another file while being opened"},
		{name: "swapped for a folder", path: dir, want: "not a regular file (folder)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, err := openChecked(tt.path, stA)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("openChecked(%s) = %v, want an error naming it saying %q", tt.path, err, tt.want)
			}
		})
	}
}

// TestIntakeExtractCountsWrittenBytes: Extract bounds the bytes it writes
// by the total ratio too, whatever Open saw, and leaves nothing behind.
func TestIntakeExtractCountsWrittenBytes(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		ManifestName: `{"appId": "demo.bomb", "version": "1.0.0", "abi": 1, "entry": "app.wasm"}`,
		"app.wasm":   wasmMagic,
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zeros := make([]byte, 60<<10)
	for i := range 32 { // 1.9 MiB from a few KiB
		w, _ := zw.Create(fmt.Sprintf("assets/%02d.bin", i))
		w.Write(zeros)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Limits{MaxTotalRatio: 10000})
	if err != nil {
		t.Fatal(err)
	}
	p.lim.MaxTotalRatio = DefaultMaxTotalRatio // as if the headers had lied to Open
	root := t.TempDir()
	err = p.Extract(t.Context(), afero.NewOsFs(), filepath.Join(root, "out"))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "remaining limit of") {
		t.Fatalf("Extract: %v, want ErrTooLarge on the remaining total", err)
	}
	if names, _ := os.ReadDir(root); len(names) != 0 {
		t.Errorf("a refused Extract left %v", names)
	}
}
