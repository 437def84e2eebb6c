package wasmbin_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
	"github.com/minihost/minihost/runtime/internal/wasmbin/wasmbintest"
)

// TestBoundedCounts hands LimitTables every module of wasmbintest: it
// refuses each attack, naming the section, the entry and the count, and
// accepts each twin as is. It never runs wazero on an attack: without
// its check, wazero would take the test binary down.
func TestBoundedCounts(t *testing.T) {
	attacks := 0
	for _, c := range wasmbintest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			orig := bytes.Clone(c.Wasm)
			out, err := wasmbin.LimitTables(c.Wasm, wasmbintest.TableCap)
			require.Equal(t, orig, c.Wasm, "LimitTables changed its input")
			if !c.Attack() {
				require.NoError(t, err)
				require.Equal(t, c.Wasm, out)
				return
			}
			require.ErrorIs(t, err, c.Err)
			require.ErrorContains(t, err, c.Message)
			other := wasmbin.ErrUnsupported
			if c.Err == wasmbin.ErrUnsupported {
				other = wasmbin.ErrMalformed
			}
			require.NotErrorIs(t, err, other)
			require.Nil(t, out)
			// Tables refuses what LimitTables refuses at the highest
			// table cap: not the element entries of the table cap.
			_, high := wasmbin.LimitTables(c.Wasm, 1<<32-1)
			_, err = wasmbin.Tables(c.Wasm)
			require.Equal(t, fmt.Sprint(high), fmt.Sprint(err), "Tables")
			if !strings.Contains(c.Message, "element entries") {
				require.ErrorIs(t, err, c.Err, "Tables")
			}
		})
		if c.Attack() {
			attacks++
		}
	}
	require.GreaterOrEqual(t, attacks, 78)
}

// TestTwinsDecode checks the builders of wasmbintest against wazero's
// decoder: wazero decodes every twin, an attack's bytes with a count its
// bytes back, so it would read each attack's count where wasmbin does
// (and allocate by it), and a twin at a cap is a module wazero would
// take. The twins are not valid modules (their indices point at
// nothing), so wazero refuses most, but in validation, after decoding: a
// decode error starts with "section".
func TestTwinsDecode(t *testing.T) {
	ctx := context.Background()
	features := api.CoreFeaturesV2 | experimental.CoreFeaturesExtendedConst | experimental.CoreFeaturesExceptionHandling
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(features))
	defer rt.Close(ctx)
	for _, c := range wasmbintest.Cases() {
		if c.Attack() {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			// Refused by the walk, the twin would say nothing of wazero.
			_, err := wasmbin.LimitTables(c.Wasm, wasmbintest.TableCap)
			require.NoError(t, err)
			compiled, err := rt.CompileModule(ctx, c.Wasm)
			if err == nil {
				compiled.Close(ctx)
				return
			}
			t.Logf("decoded, refused in validation: %v", err)
			require.False(t, strings.HasPrefix(err.Error(), "section "), "wazero does not decode the twin: %v", err)
			require.NotContains(t, err.Error(), "function and code section have inconsistent lengths")
		})
	}
}

// FuzzBounds feeds LimitTables the modules of wasmbintest, mutated: it
// never panics, never changes its input, refuses only with one of its
// sentinels, and what it accepts it accepts again once rewritten. It does
// not run wazero on its input, which would take the fuzzer down on any
// count wasmbin missed; TestTwinsDecode checks that wasmbin reads counts
// where wazero does. The seeds are the cases of up to 64 KiB: the attacks
// on the caps, megabytes each, would slow the mutator down.
func FuzzBounds(f *testing.F) {
	for _, c := range wasmbintest.Cases() {
		if len(c.Wasm) <= 64<<10 {
			f.Add(c.Wasm)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, err := wasmbin.LimitTables(in, wasmbintest.TableCap)
		if !bytes.Equal(in, orig) {
			t.Fatal("LimitTables changed its input")
		}
		if err != nil {
			if out != nil {
				t.Fatal("an error with a result")
			}
			if !errors.Is(err, wasmbin.ErrMalformed) && !errors.Is(err, wasmbin.ErrUnsupported) && !errors.Is(err, wasmbin.ErrTableLimit) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if _, err := wasmbin.LimitTables(out, wasmbintest.TableCap); err != nil {
			t.Fatalf("the rewrite is refused: %v", err)
		}
	})
}

// TestCorpusHasNoExportedVariables keeps wasmbintest's shared bytes
// (the header, the largest count) out of reach of its callers: a test
// that changed an exported []byte would change every case built after.
func TestCorpusHasNoExportedVariables(t *testing.T) {
	files, err := filepath.Glob("wasmbintest/*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, name := range files {
		file, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		require.NoError(t, err)
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				for _, id := range spec.(*ast.ValueSpec).Names {
					require.False(t, id.IsExported(), "%s: exported variable %s", name, id.Name)
				}
			}
		}
	}
}
