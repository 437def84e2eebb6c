package main

import (
	"context"
	"fmt"
	"io"

	"github.com/minihost/minihost/runtime/mpk"
)

func runPack(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("pack", "DIR -o FILE", "minihost pack build/counter -o counter.mpk", stderr)
	out := fs.String("o", "", "package `file` to write (required)")
	dir, code := parseOne(fs, args, stderr, "DIR")
	if code >= 0 {
		return code
	}
	if *out == "" {
		return usageError(fs, stderr, "missing -o FILE")
	}
	if err := mpk.Pack(ctx, dir, *out); err != nil {
		fmt.Fprintf(stderr, "minihost pack: %v\n", err)
		return 1
	}
	return reportPackage("pack", *out, stdout, stderr)
}
