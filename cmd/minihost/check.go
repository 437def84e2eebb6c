package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/minihost/minihost/host"
)

const checkSynopsis = `--server URL --pubkey KEY [--home DIR] [--json] [APPID...]

Runs one round of the periodic checker now: each app (all installed apps
used within the recent window when none are named) is checked; a newer
version sets pending, so its next launch is sync, and is downloaded and
installed. Exits 1 when a check fails.`

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", checkSynopsis, "minihost check --server http://127.0.0.1:8700 --pubkey release.key.pub demo.counter", stderr)
	home := fs.String("home", host.DefaultHome(), "host home folder")
	uf := addUpdateFlags(fs)
	asJSON := jsonFlag(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	upd, err := uf.config()
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	if upd == nil {
		return usageError(fs, stderr, "needs --server and --pubkey")
	}
	h, err := host.New(host.Config{Home: *home, Updates: upd,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		fmt.Fprintf(stderr, "minihost check: %v\n", err)
		return 1
	}
	defer h.Close(context.WithoutCancel(ctx))
	results, err := h.CheckNow(ctx, fs.Args()...)
	if err != nil {
		fmt.Fprintf(stderr, "minihost check: %v\n", err)
		return 1
	}
	out := make([]checkJSON, len(results))
	code := 0
	for i, r := range results {
		out[i] = checkJSON{App: r.App, Checked: r.Checked, Latest: r.Latest, Pending: r.Pending, Reason: r.Reason}
		if r.Err != nil {
			out[i].Error, code = r.Err.Error(), 1
		}
	}
	return max(code, printResult(stdout, stderr, "check", *asJSON, map[string]any{"results": out}, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "APP\tCHECKED\tLATEST\tPENDING\tRESULT")
		for _, r := range out {
			result := r.Reason
			if r.Error != "" {
				result = "error: " + r.Error
			}
			fmt.Fprintf(tw, "%s\t%t\t%s\t%t\t%s\n", r.App, r.Checked, r.Latest, r.Pending, result)
		}
		tw.Flush()
	}))
}

// checkJSON is one app's line of "check --json".
type checkJSON struct {
	App     string `json:"app"`
	Checked bool   `json:"checked"`
	Latest  string `json:"latest,omitempty"`
	Pending bool   `json:"pending"`
	Reason  string `json:"reason,omitempty"`
	Error   string `json:"error,omitempty"`
}
