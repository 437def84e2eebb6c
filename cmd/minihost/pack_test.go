package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
)

// packSource writes a folder ready for pack: app.json and a prebuilt module.
func packSource(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"app.json":  `{"appId": "demo.packed", "version": "2.0.0", "abi": 1, "entry": "app.wasm", "name": "Packed", "permissions": []}`,
		"app.wasm":  "\x00asm\x01\x00\x00\x00",
		"hello.txt": "hello",
		"main.go":   "package main\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPackCommand(t *testing.T) {
	src := packSource(t)
	out := filepath.Join(t.TempDir(), "packed.mpk")
	code, stdout, stderr := runMpkCmd(t, "pack", src, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if want := out + ": demo.packed 2.0.0\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	p, err := mpk.OpenFile(out, mpk.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := strings.Join(p.Files(), " "); got != "app.json app.wasm hello.txt" {
		t.Errorf("files = %s", got)
	}
}

func TestPackCommandErrors(t *testing.T) {
	src := packSource(t)
	withLink := packSource(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(withLink, "passwd")); err != nil {
		t.Fatal(err)
	}
	notWasm := packSource(t)
	if err := os.WriteFile(filepath.Join(notWasm, "app.wasm"), []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.mpk")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{name: "help", args: []string{"pack", "-h"}, code: 0, stderr: []string{"usage: minihost pack DIR -o FILE", "example:"}},
		{name: "no DIR", args: []string{"pack", "-o", out}, code: 2, stderr: []string{"minihost pack: missing DIR"}},
		{name: "no -o", args: []string{"pack", src}, code: 2, stderr: []string{"minihost pack: missing -o FILE"}},
		{name: "symlink", args: []string{"pack", withLink, "-o", out}, code: 1, stderr: []string{"minihost pack: ", `"passwd"`, "symbolic link"}},
		{name: "not wasm", args: []string{"pack", notWasm, "-o", out}, code: 1, stderr: []string{"minihost pack: ", `"app.wasm"`, "WebAssembly"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMpkCmd(t, tt.args...)
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
				t.Errorf("a failed pack wrote %s", out)
			}
		})
	}
}
