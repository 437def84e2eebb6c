// Package guestbuild compiles a Go guest to a WebAssembly module: the
// compile step of mpk.Build, which the test kit (runtime/runtimetest) and
// the benchmarks also run to get a module without a package.
package guestbuild

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
)

// Options configures Compile. The zero value is ready to use.
type Options struct {
	// GoCmd is the go command to run; default "go" (found on PATH).
	GoCmd string
	// Stderr, when set, also receives the compiler's output as it runs.
	Stderr io.Writer
	// KeepDataSegments skips merging the module's data segments, to
	// measure or debug the module as Go's linker wrote it.
	KeepDataSegments bool
}

// mergeGap is the widest gap between two data segments that Compile fills
// with zeros to merge them: Go's linker leaves gaps of up to 64 bytes
// between nearly all of its segments, and a few of some KiB.
const mergeGap = 4096

// Compile compiles the Go guest in srcDir to the WebAssembly file wasm, the
// way mpk.Build does, without packing. srcDir needs no app.json. Unless opt.KeepDataSegments is set, it then merges the
// module's active data segments across gaps of up to 4 KiB, filling them
// with zeros: Go's linker writes tens of thousands of small segments, and
// wazero decodes each on every compile, cached or not. The merge keeps
// the module's meaning, and leaves a module alone where it could not
// (runtime/internal/wasmbin.MergeData). A failed compilation returns an error naming srcDir and holding
// the compiler's output; wasm may then be missing or partial, so pass a
// path in a temporary folder. ctx cancels the compiler.
// It keeps no state and is safe to call concurrently.
func Compile(ctx context.Context, srcDir, wasm string, opt Options) error {
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
