package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
)

// TestRewriteFile: a new process (Engine) on the same cache folder uses
// the rewrite the last one kept on disk, and makes it again, never
// compiling the file past its check, when the file is damaged, torn, made
// for another table cap, or holds the rewrite of other bytes under the
// module's key (what a crafted CRC collision would give).
func TestRewriteFile(t *testing.T) {
	wasm := abiModule{tableMin: 1, data: []byte("the module"), show: []byte{0x41, 0}}.bytes()
	other := abiModule{tableMin: 1, data: []byte("other bytes")}.bytes()
	want, err := rewrite(wasm, defaultMaxTableElements, 1)
	require.NoError(t, err)
	otherRewrite, err := rewrite(other, defaultMaxTableElements, 1)
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
		sb, err := e.NewSandboxWith(t.Context(), SandboxConfig{AppID: "test.rewrite", API: &testAPI{}, MaxTableElements: cfg.MaxTableElements})
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
			return append(rewriteHeader(other, otherRewrite, defaultMaxTableElements), otherRewrite...)
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

// TestRewriteFileOfAnotherBuild: a rewrite file written by a build whose
// rewrite differs (an older wasmbin, before a fix to the countdown or
// the table cap) is refused, even when its header names the same
// rewriteVersion: the version on file is tied to the rewrite's code, so
// that an upgrade never keeps running what the old build made. The file
// here is the one 52dd0af writes (the bare rewriteVersion) holding the
// module unrewritten: no countdown, no table maximum.
func TestRewriteFileOfAnotherBuild(t *testing.T) {
	wasm := abiModule{tableMin: 1, data: []byte("the module"), show: []byte{0x41, 0}}.bytes()
	want, err := rewrite(wasm, defaultMaxTableElements, 1)
	require.NoError(t, err)
	dir := t.TempDir()
	key := rewriteHash(wasm)
	header := rewriteHeader(wasm, wasm, defaultMaxTableElements)
	var bare [16]byte
	copy(bare[:], rewriteVersion)
	copy(header[8:24], bare[:])
	file := filepath.Join(dir, "minihost-rewrite", hex.EncodeToString(key[:]))
	require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
	require.NoError(t, os.WriteFile(file, append(header, wasm...), 0o644))

	e, err := NewEngine(Config{CacheDir: dir})
	require.NoError(t, err)
	sb, err := e.NewSandbox(t.Context(), "test.rewrite", &testAPI{})
	require.NoError(t, err)
	m, err := sb.Compile(t.Context(), wasm)
	require.NoError(t, err)
	require.Equal(t, want, m.rw.wasm, "what is compiled is this build's rewrite, not the old build's file")
	require.NoError(t, sb.Close(t.Context()))
	require.NoError(t, e.Close(context.Background()))
	require.Equal(t, int64(1), e.rewrites.made.Load(), "the old build's file is refused and the module rewritten")
}

// TestRewriteCodeCoversWasmbin: the digest in a rewrite file's header is
// of every source file of wasmbin as it is on disk, so that no change to
// the rewrite leaves it alone.
func TestRewriteCodeCoversWasmbin(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("internal", "wasmbin", "*.go"))
	require.NoError(t, err)
	sort.Strings(files)
	h := sha256.New()
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		h.Write(binary.LittleEndian.AppendUint64([]byte(filepath.Base(f)+"\x00"), uint64(len(data))))
		h.Write(data)
		n++
	}
	require.Greater(t, n, 5)
	require.Equal(t, [32]byte(h.Sum(nil)), wasmbin.CodeDigest())
}

// TestRewriteFileRaces: Sandboxes of two Engines (two processes' worth of
// weak maps) compile one module at once, with two table caps, from a
// folder whose file holds another module's rewrite under its key: each
// compiles its own rewrite whatever the file held when it read it, and
// once all are closed no pin is left (a bound of one byte empties the
// folder) and no temp file.
func TestRewriteFileRaces(t *testing.T) {
	wasm := abiModule{tableMin: 1, data: []byte("the module"), show: []byte{0x41, 0}}.bytes()
	other := abiModule{tableMin: 1, data: []byte("other bytes")}.bytes()
	otherRewrite, err := rewrite(other, defaultMaxTableElements, 1)
	require.NoError(t, err)
	want := map[uint32][]byte{}
	for _, c := range []uint32{defaultMaxTableElements, 100} {
		want[c], err = rewrite(wasm, c, 1)
		require.NoError(t, err)
	}
	dir := t.TempDir()
	key := rewriteHash(wasm)
	folder := filepath.Join(dir, "minihost-rewrite")
	require.NoError(t, os.MkdirAll(folder, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(folder, hex.EncodeToString(key[:])),
		append(rewriteHeader(other, otherRewrite, defaultMaxTableElements), otherRewrite...), 0o644))

	var engines []*Engine
	for range 2 {
		e, err := NewEngine(Config{CacheDir: dir})
		require.NoError(t, err)
		engines = append(engines, e)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		e, maxElems := engines[i%2], []uint32{defaultMaxTableElements, 100}[i/2%2]
		wg.Go(func() {
			sb, err := e.NewSandboxWith(t.Context(), SandboxConfig{AppID: fmt.Sprintf("test.race%d", i), API: &testAPI{}, MaxTableElements: maxElems})
			if err != nil {
				errs <- err
				return
			}
			defer sb.Close(t.Context())
			m, err := sb.Compile(t.Context(), wasm)
			if err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(m.rw.wasm, want[maxElems]) {
				errs <- fmt.Errorf("sandbox %d (cap %d) compiled another rewrite", i, maxElems)
				return
			}
			inst, err := sb.Instantiate(t.Context(), m, nil)
			if err == nil {
				err = inst.OnShow(t.Context())
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, e := range engines {
		require.NoError(t, e.Close(context.Background()))
	}
	e, err := NewEngine(Config{CacheDir: dir, CacheMaxBytes: 1})
	require.NoError(t, err)
	require.NoError(t, e.Close(context.Background()))
	left, err := os.ReadDir(folder)
	require.NoError(t, err)
	require.Empty(t, left, "every pin released, every temp file renamed or removed")
}

// TestRewriteFilePastTheReadersLimit: a rewrite larger than load reads
// (maxRewriteFile: a module of calls outside loops can grow several times
// over, within wasmbin.MaxCountdowns a function) is not written, as no
// process would read it and it would only push other modules' entries
// out of the bound at every launch; one within it is.
func TestRewriteFilePastTheReadersLimit(t *testing.T) {
	wasm := abiModule{tableMin: 1, data: []byte("past the limit")}.bytes()
	dir := t.TempDir()
	e, err := NewEngine(Config{CacheDir: dir})
	require.NoError(t, err)
	key := rewriteHash(wasm)
	file := filepath.Join(dir, "minihost-rewrite", hex.EncodeToString(key[:]))
	limit := int(maxRewriteFile(len(wasm))) - rewriteHeaderSize
	e.rewrites.save(wasm, &rewritten{wasm: make([]byte, limit+1), hash: key}, defaultMaxTableElements)
	e.rewrites.saves.Wait()
	require.NoFileExists(t, file)
	e.rewrites.save(wasm, &rewritten{wasm: make([]byte, limit), hash: key}, defaultMaxTableElements)
	require.NoError(t, e.Close(context.Background()))
	require.FileExists(t, file)
}
