package mpk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
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
	// Compile), to measure or debug the module as Go's linker wrote it.
	KeepDataSegments bool
}

// mergeGap is the widest gap between two data segments that Compile fills
// with zeros to merge them: Go's linker leaves gaps of up to 64 bytes
// between nearly all of its segments, and a few of some KiB.
const mergeGap = 4096

// Build compiles the Go guest in srcDir and packs it to out; a package of
// JavaScript (Runtime RuntimeJS) is packed as it is, with no compile. It runs
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath
//
// in srcDir (a WASI reactor, as runtime/ABI.md requires), merges the
// module's data segments (see Compile), then packs
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
	if err := Compile(ctx, srcDir, wasm, opt); err != nil {
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
	c.semver = nil
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

// Compile compiles the Go guest in srcDir to the WebAssembly file wasm, the
// way Build does, without packing (opt.Version is not used). srcDir needs no
// app.json. Unless opt.KeepDataSegments is set, it then merges the
// module's active data segments across gaps of up to 4 KiB, filling them
// with zeros: Go's linker writes tens of thousands of small segments, and
// wazero decodes each on every compile, cached or not. The merge keeps
// the module's meaning, and leaves a module alone where it could not
// (runtime/internal/wasmbin.MergeData). A failed compilation returns an error naming srcDir and holding
// the compiler's output; wasm may then be missing or partial, so pass a
// path in a temporary folder. ctx cancels the compiler.
func Compile(ctx context.Context, srcDir, wasm string, opt BuildOptions) error {
	goCmd := opt.GoCmd
	if goCmd == "" {
		goCmd = "go"
	}
	wasm, err := filepath.Abs(wasm) // the compiler runs in srcDir
	if err != nil {
		return fmt.Errorf("build guest in %s: %w", srcDir, err)
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-buildmode=c-shared", "-trimpath", "-o", wasm, ".")
	cmd.Dir = srcDir
	cmd.Env = guestEnv(os.Environ())
	cmd.WaitDelay = 5 * time.Second // do not hang on a child that keeps the pipes open
	var output bytes.Buffer
	var w io.Writer = &output
	if opt.Stderr != nil {
		w = io.MultiWriter(&output, opt.Stderr)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		msg := strings.TrimSpace(output.String())
		if msg == "" {
			return fmt.Errorf("build guest in %s: %w", srcDir, err)
		}
		return fmt.Errorf("build guest in %s: %w\n%s", srcDir, err, msg)
	}
	if opt.KeepDataSegments {
		return nil
	}
	if err := mergeData(wasm); err != nil {
		return fmt.Errorf("build guest in %s: %w", srcDir, err)
	}
	return nil
}

// mergeData merges the data segments of the module at path, in place
// (wasmbin.MergeData): a warm-cache launch of a Go guest then decodes a
// few segments instead of tens of thousands.
func mergeData(path string) error {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	merged, st, err := wasmbin.MergeData(wasm, mergeGap)
	if err != nil {
		return fmt.Errorf("merge data segments: %w", err)
	}
	if st.After == st.Before {
		return nil
	}
	return os.WriteFile(path, merged, 0o644) // the caller's temporary file
}

// guestEnv returns env for a guest compile: GOOS and GOARCH set for WASI,
// and GOFLAGS stripped of flags that cannot apply to a wasm reactor (the
// race detector, sanitizers, coverage, another build mode), which a
// developer's shell or a test run may carry.
func guestEnv(env []string) []string {
	out := make([]string, 0, len(env)+2)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH":
			continue
		case "GOFLAGS":
			var keep []string
			for _, f := range strings.Fields(v) {
				name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
				switch {
				case name == "race", name == "msan", name == "asan", name == "linkshared",
					name == "buildmode", strings.HasPrefix(name, "cover"):
					continue
				}
				keep = append(keep, f)
			}
			if len(keep) == 0 {
				continue
			}
			kv = "GOFLAGS=" + strings.Join(keep, " ")
		}
		out = append(out, kv)
	}
	return append(out, "GOOS=wasip1", "GOARCH=wasm")
}
