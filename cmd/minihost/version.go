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
	fs := newFlagSet("version", "[--json]", "minihost version", stderr)
	asJSON := jsonFlag(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(fs, stderr, "takes no arguments")
	}
	res := struct {
		Version string `json:"version"`
		ABI     int    `json:"abi"` // the guest ABI version
		Go      string `json:"go"`
	}{host.Version, int(abi.Version), goruntime.Version()}
	return printResult(stdout, stderr, "version", *asJSON, res, func(w io.Writer) {
		fmt.Fprintf(w, "minihost %s (guest ABI %d, %s)\n", res.Version, res.ABI, res.Go)
	})
}
