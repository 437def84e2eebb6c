package mpk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/minihost/minihost/runtime/internal/guestbuild"
)

// BuildOptions configures Build. The zero value is ready to use.
type BuildOptions struct {
	// Version, when set, replaces the version of app.json in the package
	// (the source file is not changed). It must be a valid version.
	Version string
	// GoCmd is the go command to run; default "go" (found on PATH).
	GoCmd string
	// Stderr, when set, also receives the compiler's output as it runs.
	Stderr io.Writer
	// KeepDataSegments skips merging the module's data segments (see
	// Build), to measure or debug the module as Go's linker wrote it.
	KeepDataSegments bool
}

// Build compiles the Go guest in srcDir and packs it to out; a package of
// JavaScript (Runtime RuntimeJS) is packed as it is, with no compile. It runs
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath
//
// in srcDir (a WASI reactor, as runtime/ABI.md requires), then, unless
// opt.KeepDataSegments is set, merges the module's active data segments
// across gaps of up to 4 KiB, filling them with zeros: Go's linker writes
// tens of thousands of small segments, and wazero decodes each on every
// compile, cached or not. The merge keeps the module's meaning, and
// leaves a module alone where it could not
// (runtime/internal/wasmbin.MergeData). Then it packs
// app.json (with Version replaced when opt.Version is set), the compiled
// module as the manifest's entry, and the assets of srcDir, exactly as Pack
// does. A stale prebuilt entry file in srcDir is ignored.
//
// A failed compilation returns an error naming srcDir and holding the
// compiler's output. ctx cancels the compiler and the packing. On any error out is
// untouched. Build is safe to call concurrently (each call compiles in its
// own temporary folder).
func Build(ctx context.Context, srcDir, out string, opt BuildOptions) error {
	manifest, m, err := readSourceManifest(srcDir)
	if err != nil {
		return fmt.Errorf("build %s: %w", srcDir, err)
	}
	if opt.Version != "" && opt.Version != m.Version {
		manifest, m, err = withVersion(m, opt.Version)
		if err != nil {
			return fmt.Errorf("build %s: -version: %w", srcDir, err)
		}
	}
	if m.Runtime == RuntimeJS {
		// JavaScript is its own source: pack it as it is, entry included.
		files, err := collect(srcDir, out, nil)
		if err == nil {
			err = writePackage(ctx, out, manifest, files)
		}
		if err != nil {
			return fmt.Errorf("build %s: %w", srcDir, err)
		}
		return nil
	}
	tmp, err := os.MkdirTemp("", "minihost-build-")
	if err != nil {
		return fmt.Errorf("build %s: %w", srcDir, err)
	}
	defer os.RemoveAll(tmp)
	wasm := filepath.Join(tmp, "guest.wasm")
	if err := guestbuild.Compile(ctx, srcDir, wasm, guestbuild.Options{GoCmd: opt.GoCmd, Stderr: opt.Stderr, KeepDataSegments: opt.KeepDataSegments}); err != nil {
		return err
	}
	files, err := collect(srcDir, out, isEntry(m.Entry))
	if err != nil {
		return fmt.Errorf("build %s: %w", srcDir, err)
	}
	files = append(files, srcFile{name: m.Entry, path: wasm})
	if err := writePackage(ctx, out, manifest, files); err != nil {
		return fmt.Errorf("build %s: %w", srcDir, err)
	}
	return nil
}

// withVersion returns app.json for m with version v, validated.
func withVersion(m *Manifest, v string) ([]byte, *Manifest, error) {
	c := *m
	c.Version = v
	if c.Permissions == nil {
		c.Permissions = []string{} // app.json refuses null
	}
	data, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	data = append(data, '\n')
	nm, err := ParseManifest(data)
	if err != nil {
		return nil, nil, err
	}
	return data, nm, nil
}
