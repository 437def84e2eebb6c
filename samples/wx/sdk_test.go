//go:build !wasip1

package wx_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/samples/wx"
)

// TestSourcesMatchDisk proves the embedded SDK is the one on disk, file
// for file, so the copy minihost new writes cannot drift from it.
func TestSourcesMatchDisk(t *testing.T) {
	want := map[string]string{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		slash := filepath.ToSlash(p)
		if !strings.HasSuffix(slash, ".go") || strings.HasSuffix(slash, "_test.go") || slash == "sdk.go" {
			return nil
		}
		data, err := os.ReadFile(p)
		want[slash] = string(data)
		return err
	})
	require.NoError(t, err)
	require.Contains(t, want, "abi/abi.go", "the abi leaf is part of the SDK")
	got := map[string]string{}
	for p, data := range wx.Sources() {
		got[p] = string(data)
	}
	require.Equal(t, want, got)
}
