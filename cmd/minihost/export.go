package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/minihost/minihost/updater/release"
)

const exportSynopsis = `--data DIR --to OUT --key KEYFILE [--expires DURATION] [--app ID]... [--json]

Writes the public part of a release server's data folder to OUT: each app's
release document, signed with KEYFILE and valid for DURATION, and its
packages, at the server's URL paths. Any static web server, CDN or bucket
can serve OUT to clients. Re-export before the documents expire (say at
half of DURATION); packages already in OUT are not copied again.`

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export", exportSynopsis, "minihost export --data releases --to public --key release.key --expires 48h", stderr)
	data := fs.String("data", "", "release server data folder")
	to := fs.String("to", "", "output folder (created if missing)")
	keyFile := fs.String("key", "", "the release server's private key file, written by minihost keygen (not its .pub)")
	expires := fs.Duration("expires", release.DefaultExportLifetime, "validity of the exported release documents")
	asJSON := jsonFlag(fs)
	var apps appList
	fs.Var(&apps, "app", "export only this app (repeatable; default all)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(fs, stderr, "takes no arguments")
	}
	if *data == "" || *to == "" || *keyFile == "" {
		return usageError(fs, stderr, "--data, --to and --key are required")
	}
	if *expires <= 0 {
		return usageError(fs, stderr, fmt.Sprintf("--expires %v: want a positive duration", *expires))
	}
	key, err := release.LoadPrivateKey(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "minihost export: %v\n", err)
		return 1
	}
	res, err := release.Export(ctx, release.ExportConfig{DataDir: *data, OutDir: *to, Key: key, Lifetime: *expires, Apps: apps})
	if errors.Is(err, release.ErrInvalidArgument) { // --data is not a data folder
		fmt.Fprintf(stderr, "minihost export: %v: check --data\n", err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "minihost export: %v\n", err)
		return 1
	}
	out := exportJSON{Apps: res.Apps, Packages: res.Packages, Copied: res.Copied, To: *to, ExpiresAt: res.ExpiresAt}
	if out.Apps == nil {
		out.Apps = []string{}
	}
	return printResult(stdout, stderr, "export", *asJSON, out, func(w io.Writer) { printExport(w, out) })
}

// printExport prints what export wrote, for a person.
func printExport(w io.Writer, out exportJSON) {
	if len(out.Apps) == 0 { // a server with no app published yet
		fmt.Fprintf(w, "exported 0 apps to %s: the data folder holds no published app, no documents written\n", out.To)
		return
	}
	docs := "documents expire"
	if len(out.Apps) == 1 {
		docs = "the document expires"
	}
	fmt.Fprintf(w, "exported %s (%s), %s (%d copied) to %s\n%s at %s: re-export before then\n",
		plural(len(out.Apps), "app", "apps"), strings.Join(out.Apps, ", "), plural(out.Packages, "package", "packages"),
		out.Copied, out.To, docs, out.ExpiresAt.Format(time.RFC3339))
}

// exportJSON is what "export --json" prints; a script re-exports before
// expiresAt, which is absent when no app was exported.
type exportJSON struct {
	Apps      []string  `json:"apps"`
	Packages  int       `json:"packages"`
	Copied    int       `json:"copied"`
	To        string    `json:"to"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"` // none when no app was exported
}

// appList is a repeatable --app flag.
type appList []string

var _ flag.Value = (*appList)(nil)

func (a *appList) String() string     { return strings.Join(*a, ",") }
func (a *appList) Set(s string) error { *a = append(*a, s); return nil }
