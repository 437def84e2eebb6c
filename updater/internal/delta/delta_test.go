package delta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/spf13/afero"
)

// tree writes entries into dir on a fresh OS folder and returns them as a Base.
func tree(t *testing.T, entries []Entry) Base {
	t.Helper()
	fsys := afero.NewOsFs()
	dir := t.TempDir()
	var files []File
	for _, e := range entries {
		p := filepath.Join(dir, filepath.FromSlash(e.Path))
		if err := fsys.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := afero.WriteFile(fsys, p, e.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Path: e.Path, Size: int64(len(e.Data)), SHA256: sum(e.Data)})
	}
	return Base{Fs: fsys, Dir: dir, Files: files}
}

func digestOf(entries []Entry) string {
	var files []File
	for _, e := range entries {
		files = append(files, File{Path: e.Path, Size: int64(len(e.Data)), SHA256: sum(e.Data)})
	}
	return Digest(files)
}

// noise returns n reproducible incompressible bytes.
func noise(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// versions returns a base and a target that differ by one edit in a large
// incompressible file, a renamed asset, a new file and a removed one.
func versions() (base, target []Entry) {
	big := noise(1, 1<<20)
	edited := bytes.Clone(big)
	copy(edited[500000:], "one changed line")
	asset := noise(2, 4096)
	base = []Entry{{"app.wasm", big}, {"img/a.png", asset}, {"gone.txt", []byte("bye")}, {"app.json", []byte(`{"version":"1.0.0"}`)}}
	target = []Entry{{"app.wasm", edited}, {"img/b.png", asset}, {"new/n.txt", []byte("hello")}, {"app.json", []byte(`{"version":"1.1.0"}`)}}
	return base, target
}

func TestApplyRebuildsTarget(t *testing.T) {
	base, target := versions()
	patch, err := Build(base, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(patch) > 4096 {
		t.Errorf("patch is %d bytes for a 16-byte edit of a 1 MiB file and a rename, want at most 4096", len(patch))
	}
	b := tree(t, base)
	out := filepath.Join(t.TempDir(), "out")
	if err := Apply(t.Context(), bytes.NewReader(patch), b, b.Fs, out, digestOf(target), Limits{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range target {
		got, err := afero.ReadFile(b.Fs, filepath.Join(out, filepath.FromSlash(e.Path)))
		if err != nil || !bytes.Equal(got, e.Data) {
			t.Errorf("%s: rebuilt %d bytes (%v), want the target's %d", e.Path, len(got), err, len(e.Data))
		}
	}
	if ok, _ := afero.Exists(b.Fs, filepath.Join(out, "gone.txt")); ok {
		t.Error("gone.txt, removed in the target, was rebuilt")
	}
}

// rewrite returns patch with its header changed by edit and re-encoded.
func rewrite(t *testing.T, patch []byte, edit func(*header)) []byte {
	t.Helper()
	n := binary.BigEndian.Uint32(patch[len(magic):])
	var h header
	if err := json.Unmarshal(patch[len(magic)+4:len(magic)+4+int(n)], &h); err != nil {
		t.Fatal(err)
	}
	edit(&h)
	hdr, _ := json.Marshal(h)
	out := append([]byte(magic), binary.BigEndian.AppendUint32(nil, uint32(len(hdr)))...)
	out = append(out, hdr...)
	return append(out, patch[len(magic)+4+int(n):]...)
}

func TestApplyRefusesBadPatches(t *testing.T) {
	base, target := versions()
	patch, err := Build(base, target)
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Clone(target[0].Data)
	other[0] ^= 1
	wrongTarget := append([]Entry{{"app.wasm", other}}, target[1:]...)
	wrongPatch, err := Build(base, wrongTarget)
	if err != nil {
		t.Fatal(err)
	}
	lied := rewrite(t, wrongPatch, func(h *header) { // claims the real target's hashes
		for i := range h.Files {
			if h.Files[i].Path == "app.wasm" {
				h.Files[i].SHA256 = sum(target[0].Data)
			}
		}
	})
	payloadStart := len(patch) - 100
	flipped := bytes.Clone(patch)
	flipped[payloadStart] ^= 0xff
	tests := []struct {
		name   string
		patch  []byte
		lim    Limits
		base   []Entry
		digest string
	}{
		{name: "truncated header", patch: patch[:20]},
		{name: "truncated payload", patch: patch[:len(patch)-10]},
		{name: "not a patch", patch: []byte("PK\x03\x04 a zip, not a patch at all")},
		{name: "for another version", patch: wrongPatch},
		{name: "header lies about a file's hash", patch: lied},
		{name: "payload flipped", patch: flipped},
		{name: "output over the file limit", patch: patch, lim: Limits{MaxFileSize: 1000}},
		{name: "output over the total limit", patch: patch, lim: Limits{MaxTotalSize: 1 << 19}},
		{name: "too many files", patch: patch, lim: Limits{MaxFiles: 2}},
		{name: "huge header", patch: append([]byte(magic), 0xff, 0xff, 0xff, 0xff)},
		{name: "base version lacks the file", patch: patch, base: base[1:]},
		{name: "trailing bytes", patch: append(bytes.Clone(patch), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := base
			if tt.base != nil {
				bs = tt.base
			}
			b := tree(t, bs)
			out := filepath.Join(t.TempDir(), "out")
			err := Apply(t.Context(), bytes.NewReader(tt.patch), b, b.Fs, out, digestOf(target), tt.lim)
			if !errors.Is(err, ErrBadPatch) {
				t.Fatalf("Apply = %v, want ErrBadPatch", err)
			}
		})
	}
}

func TestApplyRefusesChangedBase(t *testing.T) {
	base, target := versions()
	patch, err := Build(base, target)
	if err != nil {
		t.Fatal(err)
	}
	b := tree(t, base)
	if err := afero.WriteFile(b.Fs, filepath.Join(b.Dir, "app.wasm"), noise(9, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Apply(t.Context(), bytes.NewReader(patch), b, b.Fs, filepath.Join(t.TempDir(), "out"), digestOf(target), Limits{})
	if err == nil {
		t.Fatal("Apply over a base file changed on disk succeeded")
	}
}

func TestDigestIsOrderFree(t *testing.T) {
	a := []File{{"b", 1, "x"}, {"a", 2, "y"}}
	b := []File{{"a", 2, "y"}, {"b", 1, "x"}}
	if Digest(a) != Digest(b) {
		t.Error("Digest depends on the order of the list")
	}
	if Digest(a) == Digest([]File{{"a", 2, "y"}, {"b", 1, "z"}}) {
		t.Error("Digest ignores a file's hash")
	}
}

// TestApplyStopsAHugeFrame: a frame that decodes to far more than the
// header's size (a zstd bomb: 64 MiB of zeros in at most 512 KiB) is refused
// without being decoded: by the decoder's bound (the window Build would
// have used) when the frame declares its size, else when the output
// passes the header's size by a byte.
func TestApplyStopsAHugeFrame(t *testing.T) {
	// stream compresses 64 MiB of zeros with a 1 KiB window and no declared
	// size, as a streaming encoder writes it.
	stream := func() ([]byte, error) {
		var buf bytes.Buffer
		w, err := zstd.NewWriter(&buf, zstd.WithWindowSize(zstd.MinWindowSize))
		if err != nil {
			return nil, err
		}
		w.Write(make([]byte, 64<<20))
		err = w.Close()
		return buf.Bytes(), err
	}
	tests := []struct {
		name  string
		frame func() ([]byte, error)
		want  string
	}{
		{name: "declared size over the bound", frame: func() ([]byte, error) { return encode(make([]byte, 64<<20), nil, false) },
			want: "exceeds configured limit"},
		{name: "no declared size", frame: stream, want: "rebuilt 11 bytes or more"},
	}
	small := []Entry{{"app.wasm", make([]byte, 10)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame, err := tt.frame()
			if err != nil {
				t.Fatal(err)
			}
			if len(frame) > 1<<20 {
				t.Fatalf("the bomb's frame is %d bytes; the test wants a small one", len(frame))
			}
			h := header{Files: []entry{{File: File{Path: "app.wasm", Size: 10, SHA256: sum(small[0].Data)}, Op: opNew, Len: int64(len(frame))}}}
			hdr, _ := json.Marshal(h)
			patch := append([]byte(magic), binary.BigEndian.AppendUint32(nil, uint32(len(hdr)))...)
			patch = append(append(patch, hdr...), frame...)
			b := tree(t, nil)
			err = Apply(t.Context(), bytes.NewReader(patch), b, b.Fs, filepath.Join(t.TempDir(), "out"), digestOf(small), Limits{})
			if !errors.Is(err, ErrBadPatch) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply = %v, want ErrBadPatch saying %q", err, tt.want)
			}
		})
	}
}
