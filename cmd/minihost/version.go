package main

import (
	"context"
	"fmt"
	"io"
	goruntime "runtime"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/samples/wx/abi"
)

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "", "minihost version", stderr)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(fs, stderr, "takes no arguments")
	}
	fmt.Fprintf(stdout, "minihost %s (guest ABI %d, %s)\n", host.Version, abi.Version, goruntime.Version())
	return 0
}
