package mpk_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/mpk"
)

// A JavaScript package is packed as it is by Build (no Go compile) and
// opens without a wasm entry; an entry that is not UTF-8 is refused by
// Build, which opens what it wrote, and so by every Open.
func TestJSPackage(t *testing.T) {
	tests := []struct {
		name, entry string
		wantErr     error
	}{
		{"JavaScript", "App({})\n", nil},
		{"not UTF-8", "App(\xff)", mpk.ErrNotWasm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := t.TempDir()
			manifest := `{"appId": "demo.js", "version": "1.0.0", "abi": 1, "runtime": "js", "entry": "app.js"}`
			require.NoError(t, os.WriteFile(filepath.Join(src, "app.json"), []byte(manifest), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(src, "app.js"), []byte(tt.entry), 0o644))
			out := filepath.Join(t.TempDir(), "js.mpk")
			err := mpk.Build(t.Context(), src, out, mpk.BuildOptions{Version: "1.2.0", GoCmd: "/nonexistent/go"})
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.NoFileExists(t, out)
				return
			}
			require.NoError(t, err)
			p, err := mpk.OpenFile(out, mpk.Limits{})
			require.NoError(t, err)
			defer p.Close()
			require.Equal(t, "1.2.0", p.Manifest.Version)
			require.Equal(t, mpk.RuntimeJS, p.Manifest.Runtime)
			data, err := p.ReadFile(p.Manifest.Entry)
			require.NoError(t, err)
			require.Equal(t, tt.entry, string(data))
		})
	}
}
