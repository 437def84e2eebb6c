package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/minihost/minihost/updater/release"
)

const versionsSynopsis = `--server URL APPID [--json]

Lists an app's published versions, newest first, with their state (latest,
stable, superseded, revoked), the app's settings, and the adoption the
server saw over the last 30 days: document fetches by clients running each
version (and in the last 24 hours) and package downloads. A static export
sees no fetches. --json prints the server's answer as JSON for scripts
(fetches, downloads, patches, fetches24h per version; unknownFetches).`

func runVersions(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("versions", versionsSynopsis, "minihost versions demo.counter", stderr)
	server, token := adminFlags(fs)
	asJSON := jsonFlag(fs)
	appID, code := parseOne(fs, args, stderr, "APPID")
	if code >= 0 {
		return code
	}
	admin, err := newAdminClient(*server, *token)
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	defer admin.Close(ctx)
	st, err := admin.Status(ctx, appID)
	if err != nil {
		fmt.Fprintf(stderr, "minihost versions: %v\n", err)
		return 1
	}
	return printResult(stdout, stderr, "versions", *asJSON, st, func(w io.Writer) { printStatus(w, st) })
}

// printStatus prints an app's release state as a table.
func printStatus(w io.Writer, st *release.AppStatus) {
	orNone := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	fmt.Fprintf(w, "%s  sequence %d  rollout %d%%  min version %s  prefer local %s\n",
		st.AppID, st.Sequence, st.RolloutPercent, orNone(st.MinVersion), orNone(st.PreferLocal))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tREVERT\tSIZE\tPUBLISHED\tFETCHES\t24H\tDOWNLOADS\tSHA256")
	for _, v := range st.Versions {
		revert := ""
		if v.Revertible {
			revert = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%.12s\n", v.Version, v.State, revert, v.Size,
			v.PublishedAt.UTC().Format(time.DateTime), v.Fetches, v.Fetches24h, v.Downloads, v.SHA256)
	}
	tw.Flush()
	fmt.Fprintf(w, "adoption since %s; %s from clients of no published version\n",
		st.AdoptionSince.UTC().Format(time.DateTime), plural(st.UnknownFetches, "fetch", "fetches"))
}

// plural returns n and the noun, one when n is 1 and many otherwise:
// "1 app", "0 apps", "2 apps".
func plural[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
