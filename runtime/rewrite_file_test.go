package runtime

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRewriteFile: a new process (Engine) on the same cache folder uses
// the rewrite the last one kept on disk, and makes it again, never
// compiling the file past its check, when the file is damaged, torn, made
// for another table cap, or holds the rewrite of other bytes under the
// module's key (what a crafted CRC collision would give).
func TestRewriteFile(t *testing.T) {
	wasm := abiModule{tableMin: 1, data: []byte("the module"), show: []byte{0x41, 0}}.bytes()
	other := abiModule{tableMin: 1, data: []byte("other bytes")}.bytes()
	want, err := rewrite(wasm, DefaultMaxTableElements, 1)
	require.NoError(t, err)
	otherRewrite, err := rewrite(other, DefaultMaxTableElements, 1)
	require.NoError(t, err)

	dir := t.TempDir()
	file := filepath.Join(dir, "minihost-rewrite", hex.EncodeToString(func() []byte { h := rewriteHash(wasm); return h[:] }()))
	// launch compiles wasm in a fresh Engine, closes it (which waits for
	// the file it writes) and returns the rewrites it made and the bytes
	// it compiled.
	launch := func(cfg SandboxConfig) (made int64, compiled []byte) {
		t.Helper()
		e, err := NewEngine(Config{CacheDir: dir})
		require.NoError(t, err)
		sb, err := e.NewSandbox(t.Context(), SandboxConfig{AppID: "test.rewrite", API: &testAPI{}, MaxTableElements: cfg.MaxTableElements})
		require.NoError(t, err)
		m, err := sb.Compile(t.Context(), wasm)
		require.NoError(t, err)
		inst, err := sb.Instantiate(t.Context(), m, nil)
		require.NoError(t, err, "the compiled rewrite runs")
		require.NoError(t, inst.OnShow(t.Context()))
		compiled = m.rw.wasm
		require.NoError(t, sb.Close(t.Context()))
		require.NoError(t, e.Close(context.Background()))
		return e.rewrites.made.Load(), compiled
	}
	damage := func(edit func([]byte) []byte) {
		t.Helper()
		data, err := os.ReadFile(file)
		require.NoError(t, err, "the rewrite file is where the Index keeps it")
		require.NoError(t, os.WriteFile(file, edit(data), 0o644))
	}

	made, got := launch(SandboxConfig{})
	require.Equal(t, int64(1), made, "the first process rewrites")
	require.Equal(t, want, got)
	made, got = launch(SandboxConfig{})
	require.Equal(t, int64(0), made, "the next process reads the file")
	require.Equal(t, want, got)

	for _, c := range []struct {
		name string
		edit func([]byte) []byte
	}{
		{"a flipped byte in the module", func(b []byte) []byte { b[len(b)-3] ^= 0x40; return b }},
		{"torn", func(b []byte) []byte { return b[:len(b)/2] }},
		{"only a header's worth", func(b []byte) []byte { return b[:rewriteHeaderSize-1] }},
		{"empty", func([]byte) []byte { return nil }},
		{"another version", func(b []byte) []byte { b[8] ^= 1; return b }},
		{"another table cap", func(b []byte) []byte { b[24]++; return b }},
		{"the rewrite of other bytes", func([]byte) []byte {
			return append(rewriteHeader(other, otherRewrite, DefaultMaxTableElements), otherRewrite...)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			damage(c.edit)
			made, got := launch(SandboxConfig{})
			require.Equal(t, int64(1), made, "the file is refused and the module rewritten")
			require.Equal(t, want, got, "what is compiled is the rewrite of the module's own bytes")
			made, _ = launch(SandboxConfig{})
			require.Equal(t, int64(0), made, "the rewrite made again replaced the file")
		})
	}

	t.Run("the file of another table cap is kept apart", func(t *testing.T) {
		made, got := launch(SandboxConfig{MaxTableElements: 100})
		require.Equal(t, int64(1), made)
		small, err := rewrite(wasm, 100, 1)
		require.NoError(t, err)
		require.Equal(t, small, got)
	})
}
