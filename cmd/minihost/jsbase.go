package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
)

// The JS base library for local runs: run and bench give the host a base
// library (host.Config.BaseLibrary) when they run a JavaScript package.
// The --base-library flag names one: a source folder (samples/jsbase, Go),
// an extracted package folder or an .mpk. Without it, inside this module
// or one that requires it, samples/jsbase is found with `go list -m` and
// built (the Go build cache makes every build after the first quick);
// elsewhere there is none, and the host installs minihost.jsbase from the
// release server (--server) or says what the app needs.

// baseLibraryHint follows an error wrapping host.ErrNoBaseLibrary: outside
// a minihost checkout there is no base library to build, and the person
// needs to know the two ways to get one.
const baseLibraryHint = `minihost run: a JavaScript package runs on a JS base library: pass --base-library with
  samples/jsbase of a minihost checkout (or its .mpk), or --server with a release server that publishes minihost.jsbase`

// isJSPackage reports whether the package file at path holds JavaScript.
func isJSPackage(path string) bool {
	p, err := mpk.OpenFile(path, mpk.Limits{})
	if err != nil {
		return false // the launch reports what is wrong
	}
	defer p.Close()
	return p.Manifest.Runtime == mpk.RuntimeJS
}

// localBaseLibrary returns an extracted base library folder for a local
// run, from flag (see above) or this module's samples/jsbase, and a
// cleanup; "" with no error when there is none to be had.
func localBaseLibrary(ctx context.Context, flag string, stderr io.Writer) (string, func(), error) {
	src := flag
	if src == "" {
		mod, err := moduleDir(ctx)
		if err != nil {
			return "", func() {}, nil // outside the module: installed ones only
		}
		src = filepath.Join(mod, "samples", "jsbase")
	}
	st, err := os.Stat(src)
	if err != nil {
		return "", nil, fmt.Errorf("base library %s: %w", src, err)
	}
	if st.IsDir() {
		if gos, _ := filepath.Glob(filepath.Join(src, "*.go")); len(gos) == 0 {
			return src, func() {}, nil // extracted already
		}
	}
	tmp, err := os.MkdirTemp("", "minihost-jsbase-*")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	pkg := src
	if st.IsDir() {
		pkg = filepath.Join(tmp, "jsbase"+mpk.Ext)
		compiling(stderr, "run", src)
		if err := mpk.Build(ctx, src, pkg, mpk.BuildOptions{Stderr: stderr}); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("base library: %w", err)
		}
	}
	dir := filepath.Join(tmp, "jsbase")
	if err := extractTo(ctx, pkg, dir); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("base library %s: %w", src, err)
	}
	return dir, cleanup, nil
}

func extractTo(ctx context.Context, pkg, dir string) error {
	p, err := mpk.OpenFile(pkg, mpk.Limits{})
	if err != nil {
		return err
	}
	defer p.Close()
	if p.Manifest.AppID != mpk.BaseLibraryAppID {
		return fmt.Errorf("app id %s, want %s", p.Manifest.AppID, mpk.BaseLibraryAppID)
	}
	return p.Extract(ctx, afero.NewOsFs(), dir)
}

// moduleDir is the folder of module github.com/minihost/minihost: the
// working directory or the nearest parent whose go.mod declares it (a
// clone), else what the go command finds from here (a module that
// requires it).
func moduleDir(ctx context.Context) (string, error) {
	if dir, err := os.Getwd(); err == nil {
		for {
			if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/minihost/minihost\n") {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/minihost/minihost")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		return "", errors.New("find the minihost source tree: run from inside a clone of it, or a module that requires it")
	}
	return dir, nil
}
