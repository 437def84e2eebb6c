package mpk_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
)

// longVersion returns a valid-looking pre-release version of n bytes.
func longVersion(n int) string { return "1.0.0-" + strings.Repeat("a", n-len("1.0.0-")) }

// TestIntakeVersionRule: a version is at most MaxVersionLen bytes of SemVer
// that every client can store as a file name; the manifest takes exactly
// what ParseVersion takes and names the field, shortening a long value.
func TestIntakeVersionRule(t *testing.T) {
	tests := []struct {
		name string
		v    string
		msg  string // "" for valid
	}{
		{name: "at the limit", v: longVersion(64)},
		{name: "pre-release and build", v: "1.2.3-rc.1-x+build.5-y"},
		{name: "one byte over", v: longVersion(65), msg: "65 bytes exceeds the limit of 64"},
		{name: "the reported 244 bytes", v: longVersion(244), msg: "244 bytes exceeds the limit of 64"},
		{name: "300 bytes", v: longVersion(300), msg: "300 bytes exceeds the limit of 64"},
		{name: "tilde in pre-release", v: "1.0.0-a~b", msg: `pre-release identifier "a~b"`},
		{name: "tilde in build", v: "1.0.0+a~b", msg: `build identifier "a~b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mpk.ParseVersion(tt.v)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("ParseVersion(%q): %v", tt.v, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.msg) || !errors.Is(err, mpk.ErrInvalidVersion) {
				t.Fatalf("ParseVersion(%.30q...) = %v, want an ErrInvalidVersion saying %q", tt.v, err, tt.msg)
			}
			_, err = mpk.ParseManifest([]byte(withField(t, "version", fmt.Sprintf("%q", tt.v))))
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("ParseManifest: %v", err)
				}
				return
			}
			var merr *mpk.Error
			if !errors.As(err, &merr) || merr.Field != "version" || !errors.Is(err, mpk.ErrInvalidManifest) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("ParseManifest: %v, want field \"version\" saying %q", err, tt.msg)
			}
			if len(tt.v) > mpk.MaxVersionLen && strings.Contains(err.Error(), tt.v) {
				t.Errorf("the message quotes all %d bytes: %v", len(tt.v), err)
			}
		})
	}
}

// TestIntakePackRefusesLongVersion: pack (and so build, which packs the
// same way) refuses a source folder whose app.json breaks the version rule,
// and writes nothing.
func TestIntakePackRefusesLongVersion(t *testing.T) {
	for _, n := range []int{65, 244, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			src := sourceDir(t)
			writeFile(t, filepath.Join(src, "app.json"), withField(t, "version", fmt.Sprintf("%q", longVersion(n))))
			outDir := t.TempDir()
			err := mpk.Pack(t.Context(), src, filepath.Join(outDir, "x.mpk"))
			if want := fmt.Sprintf("%d bytes exceeds the limit of 64", n); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `field "version"`) {
				t.Fatalf("Pack: %v, want an error naming field \"version\" saying %q", err, want)
			}
			if got := listTree(t, outDir); len(got) != 0 {
				t.Errorf("a refused Pack left %q", got)
			}
		})
	}
}

// smallFiles returns n entries of size zero bytes each: each passes the
// per-file ratio check (below its 64 KiB floor) however well it deflates.
func smallFiles(n, size int) []entry {
	zeros := strings.Repeat("\x00", size)
	var es []entry
	for i := range n {
		es = append(es, entry{name: fmt.Sprintf("assets/%04d.bin", i), body: zeros})
	}
	return es
}

// TestIntakeTotalRatio: files below the per-file ratio floor could expand a
// small package without bound (a 1.6 MB package wrote 253 MiB); the total
// is bounded by a ratio to the package size, checked from the central
// directory before anything is extracted.
func TestIntakeTotalRatio(t *testing.T) {
	tests := []struct {
		name string
		zip  []byte
		lim  mpk.Limits
		msg  string // "" when the package must open
	}{
		{name: "many small files deflating 1000:1", zip: makeZip(t, basic(smallFiles(64, 60<<10)...)...), msg: "20:1 for the whole package"},
		{name: "the same files with the ratio lifted", zip: makeZip(t, basic(smallFiles(64, 60<<10)...)...), lim: mpk.Limits{MaxTotalRatio: 10000}},
		{name: "a small total passes whatever its ratio", zip: makeZip(t, basic(smallFiles(16, 60<<10)...)...)},
		{name: "incompressible files pass", zip: makeZip(t, basic(entry{name: "noise.bin", body: randomBytes(t, 2<<20)})...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mpk.Open(bytes.NewReader(tt.zip), int64(len(tt.zip)), tt.lim)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				dst := filepath.Join(t.TempDir(), "out")
				if err := p.Extract(t.Context(), osFs(), dst); err != nil {
					t.Fatalf("Extract: %v", err)
				}
				return
			}
			if !errors.Is(err, mpk.ErrTooLarge) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Open of a %d-byte package: %v, want ErrTooLarge saying %q", len(tt.zip), err, tt.msg)
			}
		})
	}
}

// randomBytes returns n bytes that do not compress, the same every run.
func randomBytes(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return string(b)
}

// TestIntakeOpenFileRefusesFolder: the regular-file check names the path
// and the kind of file.
func TestIntakeOpenFileRefusesFolder(t *testing.T) {
	dir := t.TempDir()
	_, err := mpk.OpenFile(dir, mpk.Limits{})
	var perr *fs.PathError
	if !errors.As(err, &perr) || !errors.Is(err, mpk.ErrNotRegular) || err.Error() != "open "+dir+": not a regular file (folder)" {
		t.Fatalf("OpenFile(folder) = %v", err)
	}
	if perr.Path != dir {
		t.Errorf("PathError = %+v, want Path %s", perr, dir)
	}
}
