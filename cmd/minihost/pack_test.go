package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// packSource writes a folder ready for pack: app.json and a prebuilt module.
func packSource(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"app.json":  `{"appId": "demo.packed", "version": "2.0.0", "abi": 1, "entry": "app.wasm", "name": "Packed", "permissions": []}`,
		"app.wasm":  "\x00asm\x01\x00\x00\x00",
		"hello.txt": "hello",
		"main.go":   "package main\n",
	})
	return dir
}

func TestPackCommand(t *testing.T) {
	src := packSource(t)
	out := filepath.Join(t.TempDir(), "packed.mpk")
	p := runWritingPackage(t, out, "demo.packed 2.0.0", "pack", src, "-o", out)
	if got := strings.Join(p.Files(), " "); got != "app.json app.wasm hello.txt" {
		t.Errorf("files = %s", got)
	}
}

func TestPackCommandErrors(t *testing.T) {
	withLink := packSource(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(withLink, "passwd")); err != nil {
		t.Fatal(err)
	}
	notWasm := packSource(t)
	if err := os.WriteFile(filepath.Join(notWasm, "app.wasm"), []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "x.mpk")
	checkRefusals(t, out, []refusal{
		{name: "help", args: []string{"pack", "-h"}, code: 0, stderr: []string{"usage: minihost pack DIR [-o FILE]", "example:"}},
		{name: "no DIR", args: []string{"pack", "-o", out}, code: 2, stderr: []string{"minihost pack: missing DIR"}},
		{name: "no -o, bad app.json", args: []string{"pack", notWasm + "/missing"}, code: 1, stderr: []string{"minihost pack: ", "app.json", "or name it with -o FILE"}},
		{name: "symlink", args: []string{"pack", withLink, "-o", out}, code: 1, stderr: []string{"minihost pack: ", `"passwd"`, "symbolic link"}},
		{name: "not wasm", args: []string{"pack", notWasm, "-o", out}, code: 1, stderr: []string{"minihost pack: ", `"app.wasm"`, "WebAssembly"}},
	})
}
