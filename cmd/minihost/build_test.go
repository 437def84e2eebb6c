package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/mpk"
)

// tinyGuest is mpk's smallest guest; it needs no SDK.
const tinyGuest = "../../runtime/mpk/testdata/tiny"

// writeFiles writes each of files (name: body) into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runWritingPackage runs a build or pack command line that must write the
// package out, checks that it reported out with what ("APPID VERSION") and
// returns the package it wrote, open until the test ends.
func runWritingPackage(t *testing.T, out, what string, args ...string) *mpk.Package {
	t.Helper()
	code, stdout, stderr := relRun(t, args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if want := out + ": " + what + "\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	p, err := mpk.OpenFile(out, mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// refusal is a command line that must exit with code, print nothing on
// stdout, say each of stderr, and write no package.
type refusal struct {
	name   string
	args   []string
	code   int
	stderr []string
}

// checkRefusals runs each of tests as a subtest; out is the package path
// their command lines name, which none may write.
func checkRefusals(t *testing.T, out string, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := relRun(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q does not contain %q", stderr, s)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a refused %s wrote %s", tt.args[0], out)
			}
		})
	}
}

func TestBuildCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a guest")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "tiny.mpk")
	p := runWritingPackage(t, out, "test.tiny 1.1.0", "build", tinyGuest, "-version", "1.1.0", "-o", out)
	if p.Manifest.Version != "1.1.0" {
		t.Errorf("package version = %s", p.Manifest.Version)
	}

	// Flags may come first too.
	out2 := filepath.Join(dir, "tiny2.mpk")
	if code, stdout, stderr := relRun(t, "build", "-o", out2, tinyGuest); code != 0 || !strings.Contains(stdout, "test.tiny 0.1.0") {
		t.Errorf("build -o FILE DIR: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestBuildAndPackDefaultOutput: without -o, build and pack write
// APPID-VERSION.mpk in the current folder, -version naming the version.
func TestBuildAndPackDefaultOutput(t *testing.T) {
	tiny, err := filepath.Abs(tinyGuest)
	require.NoError(t, err)
	src := packSource(t)
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"build", []string{"build", tiny}, "test.tiny-0.1.0.mpk"},
		{"build -version", []string{"build", tiny, "-version", "2.0.0"}, "test.tiny-2.0.0.mpk"},
		{"pack", []string{"pack", src}, "demo.packed-2.0.0.mpk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tc.args, &stdout, &stderr)
			require.Equal(t, 0, code, "stderr:\n%s", stderr.String())
			require.Contains(t, stdout.String(), tc.want)
			p, err := mpk.OpenFile(tc.want, mpk.Limits{})
			require.NoError(t, err)
			defer p.Close()
			require.Equal(t, strings.TrimSuffix(strings.TrimPrefix(tc.want, p.Manifest.AppID+"-"), mpk.Ext), p.Manifest.Version)
		})
	}
}

func TestBuildCommandErrors(t *testing.T) {
	broken := t.TempDir()
	writeFiles(t, broken, map[string]string{
		"app.json": `{"appId": "test.broken", "version": "1.0.0", "abi": 1, "entry": "app.wasm"}`,
		"go.mod":   "module broken\n\ngo 1.24\n",
		"main.go":  "package main\n\nfunc main() { notDefined() }\n",
	})
	out := filepath.Join(t.TempDir(), "x.mpk")
	checkRefusals(t, out, []refusal{
		{name: "help", args: []string{"build", "-h"}, code: 0, stderr: []string{"usage: minihost build DIR", "minihost build samples/counter -version 1.1.0 -o counter.mpk"}},
		{name: "no DIR", args: []string{"build", "-o", out}, code: 2, stderr: []string{"minihost build: missing DIR", "usage:"}},
		{name: "no -o, bad -version", args: []string{"build", tinyGuest, "-version", "1.1"}, code: 2, stderr: []string{`minihost build: -version "1.1": `, `write "1.1.0"`, "usage:"}},
		{name: "no -o, no app.json", args: []string{"build", t.TempDir()}, code: 1, stderr: []string{"minihost build: ", "app.json", "or name it with -o FILE"}},
		{name: "two DIRs", args: []string{"build", tinyGuest, tinyGuest, "-o", out}, code: 2, stderr: []string{"want exactly one DIR, got 2 arguments"}},
		{name: "unknown flag", args: []string{"build", tinyGuest, "-x", "-o", out}, code: 2, stderr: []string{"-x"}},
		// Refused before compiling: broken would fail to compile.
		{name: "bad -version", args: []string{"build", broken, "-version", "1.1", "-o", out}, code: 2, stderr: []string{`minihost build: -version "1.1": not in canonical form`, "usage:"}},
		{name: "compile error", args: []string{"build", broken, "-o", out}, code: 1, stderr: []string{"minihost build: ", broken, "notDefined"}},
		{name: "missing DIR", args: []string{"build", filepath.Join(broken, "none"), "-o", out}, code: 1, stderr: []string{"minihost build: ", "app.json"}},
	})
}
