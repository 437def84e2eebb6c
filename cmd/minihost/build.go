package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/minihost/minihost/runtime/mpk"
)

func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("build", "DIR [-version V] [-o FILE] [--json]", "minihost build samples/counter -version 1.1.0 -o counter.mpk", stderr)
	version := fs.String("version", "", "`version` to put in the package's app.json (default: the one in DIR/app.json)")
	return writePackage(ctx, fs, args, version, stdout, stderr, func(ctx context.Context, dir, out string) error {
		compiling(stderr, "build", dir)
		return mpk.Build(ctx, dir, out, mpk.BuildOptions{Version: *version})
	})
}

// writePackage is the command line build and pack share, which differ only
// in how they make the package (write, from the folder DIR to the file out):
// it adds -o to fs, takes exactly one DIR, and reports the package written.
// version is build's -version flag (nil for pack).
func writePackage(ctx context.Context, fs *flag.FlagSet, args []string, version *string, stdout, stderr io.Writer, write func(ctx context.Context, dir, out string) error) int {
	out := fs.String("o", "", "package `file` to write (default: APPID-VERSION.mpk in the current folder, from DIR/app.json)")
	asJSON := jsonFlag(fs)
	dir, code := parseOne(fs, args, stderr, "DIR")
	if code >= 0 {
		return code
	}
	// Before compiling, which takes seconds: a bad -version is a usage error.
	if version != nil && *version != "" {
		if _, err := mpk.ParseVersion(*version); err != nil {
			return usageError(fs, stderr, fmt.Sprintf("-version %q: %v", *version, err))
		}
	}
	if *out == "" {
		name, err := defaultPackageName(dir, version)
		if err != nil {
			fmt.Fprintf(stderr, "minihost %s: %v\n", fs.Name(), err)
			return 1
		}
		*out = name
	}
	if err := write(ctx, dir, *out); err != nil {
		fmt.Fprintf(stderr, "minihost %s: %v\n", fs.Name(), err)
		return 1
	}
	return reportPackage(fs.Name(), *out, *asJSON, stdout, stderr)
}

// defaultPackageName is the package file a build or pack of dir writes
// without -o: APPID-VERSION.mpk, from dir's manifest (version overriding
// its version when set), as releases are named. ParseManifest and
// writePackage have checked that the app id and version are safe in a file
// name.
func defaultPackageName(dir string, version *string) (string, error) {
	path := filepath.Join(dir, mpk.ManifestName)
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("name the package: %w (or name it with -o FILE)", err)
	}
	m, err := mpk.ParseManifest(data)
	if err != nil {
		return "", fmt.Errorf("name the package: %s: %w", path, err)
	}
	v := m.Version
	if version != nil && *version != "" {
		v = *version // checked by writePackage
	}
	return m.AppID + "-" + v + mpk.Ext, nil
}

// compiling says on stderr that a Go guest is being compiled: the first
// build of a module takes a while, and a silent command looks stuck. A
// folder without Go files (a JavaScript package) compiles nothing.
func compiling(stderr io.Writer, cmd, dir string) {
	if gos, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(gos) == 0 {
		return
	}
	fmt.Fprintf(stderr, "minihost %s: compiling %s for wasip1 (go build)...\n", cmd, dir)
}

// reportPackage prints what the package at path holds: its path, app id and
// version, as JSON ({"file", "appId", "version"}) with asJSON. It opens
// the package again, which also proves it valid.
func reportPackage(cmd, path string, asJSON bool, stdout, stderr io.Writer) int {
	p, err := mpk.OpenFile(path, mpk.Limits{})
	if err != nil {
		fmt.Fprintf(stderr, "minihost %s: %v\n", cmd, err)
		return 1
	}
	defer p.Close()
	res := struct {
		File    string `json:"file"`
		AppID   string `json:"appId"`
		Version string `json:"version"`
	}{path, p.Manifest.AppID, p.Manifest.Version}
	return printResult(stdout, stderr, cmd, asJSON, res, func(w io.Writer) {
		fmt.Fprintf(w, "%s: %s %s\n", res.File, res.AppID, res.Version)
	})
}
