package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/minihost/minihost/updater/release"
)

const settingsSynopsis = `--server URL APPID [--min-version V] [--prefer-local V] [--rollout PERCENT] [--json]

Changes an app's release settings; only the flags given change. An empty
value ("") clears --min-version or --prefer-local. Neither may exceed the
fully released version. --rollout sets the share of clients (0-100) that
get the latest version; 100 releases it fully. Prints the new state.`

func runSettings(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("settings", settingsSynopsis, "minihost settings demo.counter --min-version 1.1.0 --rollout 20", stderr)
	server, token := adminFlags(fs)
	minV := fs.String("min-version", "", `minimum available version ("" clears)`)
	prefer := fs.String("prefer-local", "", `preference-for-local version ("" clears)`)
	// No default: only the flags given change (fs.Visit below), so help
	// must not show one (PrintDefaults leaves out a zero default).
	rollout := fs.Int("rollout", 0, "share of clients (0-100) that get the latest version; unchanged if not given")
	asJSON := jsonFlag(fs)
	appID, code := parseOne(fs, args, stderr, "APPID")
	if code >= 0 {
		return code
	}
	var set release.Settings
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "min-version":
			set.MinVersion = minV
		case "prefer-local":
			set.PreferLocal = prefer
		case "rollout":
			set.RolloutPercent = rollout
		}
	})
	if set == (release.Settings{}) {
		return usageError(fs, stderr, "nothing to change: give --min-version, --prefer-local or --rollout")
	}
	if *rollout < 0 || *rollout > 100 { // as publish checks it, before any request
		return usageError(fs, stderr, fmt.Sprintf("--rollout %d: want 0 to 100", *rollout))
	}
	admin, err := newAdminClient(*server, *token)
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	defer admin.Close(ctx)
	st, err := admin.SetSettings(ctx, appID, set)
	if err != nil {
		fmt.Fprintf(stderr, "minihost settings: %v\n", err)
		return 1
	}
	return printResult(stdout, stderr, "settings", *asJSON, st, func(w io.Writer) { printStatus(w, st) })
}
