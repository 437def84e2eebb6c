package main

import (
	"context"
	"fmt"
	"io"
)

const revertSynopsis = `--server URL APPID --to VERSION [--json]

Makes an earlier version the app's latest again, fully released. VERSION
must be one of the last 5 versions before the latest that are not revoked
("minihost versions" marks them). Every version newer than VERSION becomes
revoked: clients must not open it, and it can never be published again.`

func runRevert(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("revert", revertSynopsis, "minihost revert demo.counter --to 1.1.0", stderr)
	server, token := adminFlags(fs)
	to := fs.String("to", "", "version to go back to")
	asJSON := jsonFlag(fs)
	appID, code := parseOne(fs, args, stderr, "APPID")
	if code >= 0 {
		return code
	}
	if *to == "" {
		return usageError(fs, stderr, "--to VERSION is required")
	}
	admin, err := newAdminClient(*server, *token)
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	defer admin.Close(ctx)
	st, err := admin.Revert(ctx, appID, *to)
	if err != nil {
		fmt.Fprintf(stderr, "minihost revert: %v\n", err)
		return 1
	}
	return printResult(stdout, stderr, "revert", *asJSON, st, func(w io.Writer) { printStatus(w, st) })
}
