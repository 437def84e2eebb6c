package main

import (
	"context"
	"io"

	"github.com/minihost/minihost/runtime/mpk"
)

// runPack is build without the compile: DIR already holds the module.
func runPack(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("pack", "DIR [-o FILE] [--json]", "minihost pack build/counter -o counter.mpk", stderr)
	return writePackage(ctx, fs, args, nil, stdout, stderr, mpk.Pack)
}
