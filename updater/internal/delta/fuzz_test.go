package delta

import (
	"bytes"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/spf13/afero"
)

// FuzzApply feeds Apply arbitrary patches over a fixed base, for a fixed
// digest: it must never panic, never write past its limits, and whatever
// it accepts must be exactly the digest's files. Run by .ci/run.
func FuzzApply(f *testing.F) {
	base, target := versions()
	good, err := Build(base, target)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(magic + "\x00\x00\x00\x02{}"))
	digest := digestOf(target)
	lim := Limits{MaxFileSize: 2 << 20, MaxTotalSize: 4 << 20, MaxFiles: 16}
	f.Fuzz(func(t *testing.T, patch []byte) {
		b := tree(t, base)
		out := filepath.Join(t.TempDir(), "out")
		err := Apply(t.Context(), bytes.NewReader(patch), b, b.Fs, out, digest, lim)
		if err != nil {
			return
		}
		var got []Entry
		afero.Walk(b.Fs, out, func(p string, fi fs.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				data, _ := afero.ReadFile(b.Fs, p)
				rel, _ := filepath.Rel(out, p)
				got = append(got, Entry{Path: filepath.ToSlash(rel), Data: data})
			}
			return err
		})
		if digestOf(got) != digest {
			t.Fatal(errors.New("Apply accepted a patch that rebuilt other files than the digest's"))
		}
	})
}
