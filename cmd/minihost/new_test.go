package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/runtimetest"
)

// TestNewBuildsAndRunsOutsideTheRepo scaffolds a mini program in a temp
// folder, far from this module, and builds and runs it with the module
// proxy off: the SDK copy and the relative replace are all it needs.
func TestNewBuildsAndRunsOutsideTheRepo(t *testing.T) {
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOFLAGS", "")
	dir := filepath.Join(t.TempDir(), "My App")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"new", "--json", dir}, &stdout, &stderr), "stderr:\n%s", stderr.String())
	var res newResult
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res))
	require.Equal(t, "demo.my-app", res.AppID)
	require.Contains(t, res.Files, "sdk/samples/wx/abi/abi.go")
	require.Contains(t, res.Files, "main.go")
	for _, f := range res.Files {
		require.FileExists(t, filepath.Join(dir, filepath.FromSlash(f)))
	}

	evs := runJSON(t, "--home", t.TempDir(), "--exit-after", "show", dir)
	require.Equal(t, []string{"hello 1.0.0"}, logs(evs))

	pkg := filepath.Join(t.TempDir(), "app.mpk")
	stdout.Reset()
	stderr.Reset()
	require.Equal(t, 0, run(t.Context(), []string{"build", dir, "-version", "1.1.0", "-o", pkg}, &stdout, &stderr), "stderr:\n%s", stderr.String())
	require.Contains(t, stdout.String(), "demo.my-app 1.1.0")
}

// TestNewJSRuns: new --js writes a JavaScript mini program that runs on
// the base library and builds into a package of JavaScript.
func TestNewJSRuns(t *testing.T) {
	// TestRunJSPackage runs the default base library, built from this
	// module; a packed one (runtimetest's cache) spares a second build.
	// Before useTestCompileCache, which moves runtimetest's cache root.
	base := runtimetest.BuildPackage(t, "samples/jsbase", "")
	useTestCompileCache(t) // the base library compiles in a minute under -race
	dir := filepath.Join(t.TempDir(), "js app")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(t.Context(), []string{"new", "--js", "--json", dir}, &stdout, &stderr), "stderr:\n%s", stderr.String())
	var res newResult
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &res))
	require.Equal(t, []string{"app.js", "app.json"}, res.Files)
	require.Equal(t, []string{"hello 1.0.0"}, logs(runJSON(t, "--home", t.TempDir(), "--base-library", base, "--exit-after", "show", dir)))
}

func TestNewUsage(t *testing.T) {
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644))
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no dir", []string{"new"}, 2, "missing DIR"},
		{"two dirs", []string{"new", "a", "b"}, 2, "want exactly one DIR"},
		{"bad id", []string{"new", filepath.Join(t.TempDir(), "x"), "--id", "Bad!"}, 2, "bad --id"},
		{"folder not empty", []string{"new", full}, 1, "not empty"},
		{"empty folder, flags after", []string{"new", empty, "--id", "demo.empty"}, 0, ""},
		{"missing parents are made", []string{"new", filepath.Join(t.TempDir(), "a", "b")}, 0, ""},
		{"a file", []string{"new", filepath.Join(full, "keep.txt")}, 1, "check "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.Equal(t, tt.code, run(t.Context(), tt.args, &stdout, &stderr), "stderr:\n%s", stderr.String())
			require.Contains(t, stderr.String(), tt.want)
		})
	}
	data, err := os.ReadFile(filepath.Join(full, "keep.txt"))
	require.NoError(t, err)
	require.Equal(t, "mine", string(data), "a refused new leaves the folder alone")
	manifest, err := os.ReadFile(filepath.Join(empty, "app.json"))
	require.NoError(t, err)
	require.Contains(t, string(manifest), `"appId": "demo.empty"`)
}

// TestNewGoVersion keeps the scaffold's go line that of this module.
func TestNewGoVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	require.NoError(t, err)
	require.Contains(t, string(mod), "\ngo "+newGoVersion+"\n")
}

// TestNewREADME keeps README.md's "Writing a mini program" code the
// main.go that new writes.
func TestNewREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Writing a mini program\n")
	require.True(t, ok, "README.md has a Writing a mini program section")
	section, _, _ = strings.Cut(section, "\n## ")
	m := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(section)
	require.NotNil(t, m, "the section shows main.go")
	require.Equal(t, newMainGo, m[1])
}
