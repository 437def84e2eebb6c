package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
)

// tinyGuest is mpk's smallest guest; it needs no SDK.
const tinyGuest = "../../runtime/mpk/testdata/tiny"

// runMpkCmd runs the command line args through run and returns the exit
// code and what was printed.
func runMpkCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestBuildCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles a guest")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "tiny.mpk")
	code, stdout, stderr := runMpkCmd(t, "build", tinyGuest, "-version", "1.1.0", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if want := out + ": test.tiny 1.1.0\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	p, err := mpk.OpenFile(out, mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Manifest.Version != "1.1.0" {
		t.Errorf("package version = %s", p.Manifest.Version)
	}

	// Flags may come first too.
	out2 := filepath.Join(dir, "tiny2.mpk")
	if code, stdout, stderr := runMpkCmd(t, "build", "-o", out2, tinyGuest); code != 0 || !strings.Contains(stdout, "test.tiny 0.1.0") {
		t.Errorf("build -o FILE DIR: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestBuildCommandErrors(t *testing.T) {
	broken := t.TempDir()
	for name, body := range map[string]string{
		"app.json": `{"appId": "test.broken", "version": "1.0.0", "abi": 1, "entry": "app.wasm"}`,
		"go.mod":   "module broken\n\ngo 1.24\n",
		"main.go":  "package main\n\nfunc main() { notDefined() }\n",
	} {
		if err := os.WriteFile(filepath.Join(broken, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "x.mpk")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{name: "help", args: []string{"build", "-h"}, code: 0, stderr: []string{"usage: minihost build DIR", "minihost build samples/counter -version 1.1.0 -o counter.mpk"}},
		{name: "no DIR", args: []string{"build", "-o", out}, code: 2, stderr: []string{"minihost build: missing DIR", "usage:"}},
		{name: "no -o", args: []string{"build", tinyGuest}, code: 2, stderr: []string{"minihost build: missing -o FILE", "usage:"}},
		{name: "two DIRs", args: []string{"build", tinyGuest, tinyGuest, "-o", out}, code: 2, stderr: []string{"want exactly one DIR, got 2 arguments"}},
		{name: "unknown flag", args: []string{"build", tinyGuest, "-x", "-o", out}, code: 2, stderr: []string{"-x"}},
		{name: "bad version", args: []string{"build", tinyGuest, "-version", "1.1", "-o", out}, code: 1, stderr: []string{"minihost build: ", `field "version"`, `"1.1"`}},
		{name: "compile error", args: []string{"build", broken, "-o", out}, code: 1, stderr: []string{"minihost build: ", broken, "notDefined"}},
		{name: "missing DIR", args: []string{"build", filepath.Join(broken, "none"), "-o", out}, code: 1, stderr: []string{"minihost build: ", "app.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMpkCmd(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if tt.code != 0 && stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q does not contain %q", stderr, s)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed build wrote %s", out)
			}
		})
	}
}
