// Command minihost runs mini programs (WebAssembly code packages) in a
// sandbox and keeps them up to date the way the WeChat client does. It also
// builds and packs packages and serves and publishes releases.
//
// Run "minihost help" for the list of subcommands.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: its one-line summary and its entry point. A
// command returns the process exit code: 0 ok, 1 failure, 2 usage error.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands lists every subcommand; each lives in a file of its own name.
var commands = map[string]command{
	"version":  {"print the minihost version", runVersion},
	"build":    {"compile a Go guest and pack it into a package (.mpk)", runBuild},
	"pack":     {"pack a folder with app.json and a prebuilt module into a package (.mpk)", runPack},
	"run":      {"run a mini program (a sample folder, an .mpk, or an app from a server)", runRun},
	"check":    {"check for updates now (one round of the periodic checker)", runCheck},
	"demo":     {"tell the whole update story with an embedded server and the counter sample", runDemo},
	"dev":      {"run a mini program and simulate an update (success or fail)", runDev},
	"serve":    {"run a release server (signed release documents, packages, admin API)", runServe},
	"publish":  {"upload a package to a release server", runPublish},
	"settings": {"change an app's minimum version, prefer-local version or rollout", runSettings},
	"revert":   {"make an earlier version an app's latest again", runRevert},
	"versions": {"list an app's published versions on a release server", runVersions},
	"keygen":   {"make a release signing key pair", runKeygen},
	"export":   {"write a release server's public tree for a static server or CDN", runExport},
	"simulate": {"simulate a fleet after a release: coverage over time and server load", runSimulate},
	"bench":    {"run the benchmarks beside their floors and print ratios and goals", runBench},
	"doctor":   {"check installed packages for crash leftovers and damage, and repair them", runDoctor},
	"cache":    {"show the caches (compiled modules, test builds) and their sizes, or clean them", runCache},
	"shell":    {"serve the desktop shell: a web UI on loopback with apps' pages, dialogs and updates", runShell},
	"new":      {"write a new mini program (main.go, app.json, go.mod, a copy of the SDK) that builds anywhere", runNew},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		switch {
		case len(args) > 2:
			fmt.Fprintln(stderr, "minihost help: want at most one COMMAND")
			usage(stderr)
			return 2
		case len(args) == 2:
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(stderr, "minihost help: unknown command %q\n", args[1])
				usage(stderr)
				return 2
			}
			return c.run(ctx, []string{"-h"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "minihost: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: minihost COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nexample:\n  minihost demo\n  minihost run samples/counter\n  minihost shell samples/counter\n\nRun \"minihost help COMMAND\" for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting, with
// a usage text made of the synopsis line and an example.
func newFlagSet(name, synopsis, example string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: minihost %s %s\n", name, synopsis)
		fs.PrintDefaults()
		if example != "" {
			fmt.Fprintf(stderr, "\nexample:\n  %s\n", example)
		}
	}
	return fs
}

// parseFlags parses args, with flags before or after the positional
// arguments ("run --yes DIR" and "run DIR --yes"; everything after "--" is
// positional), and maps the outcome to an exit code: -1 to go on, 0 after
// -h, 2 on a usage error. On -1, fs.Args() holds the positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) int {
	var pos []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0
		case err != nil:
			return 2
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	// Leave exactly the positional arguments in fs.Args(); "--" stops
	// Parse from reading any of them as a flag.
	if err := fs.Parse(append([]string{"--"}, pos...)); err != nil {
		return 2
	}
	return -1
}

// usageError prints msg and the command's usage and returns exit code 2.
func usageError(fs *flag.FlagSet, stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "minihost %s: %s\n", fs.Name(), msg)
	fs.Usage()
	return 2
}

// printJSON writes v to w as indented JSON, the form of every command's
// --json output.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// parseOne parses a command line of flags and exactly one positional
// argument, named name in the usage error, in any order ("settings APPID
// --rollout 10"), with parseFlags' exit code convention (-1 to go on).
func parseOne(fs *flag.FlagSet, args []string, stderr io.Writer, name string) (string, int) {
	if code := parseFlags(fs, args); code >= 0 {
		return "", code
	}
	switch fs.NArg() {
	case 0:
		return "", usageError(fs, stderr, "missing "+name)
	case 1:
		return fs.Arg(0), -1
	default:
		return "", usageError(fs, stderr, fmt.Sprintf("want exactly one %s, got %d arguments", name, fs.NArg()))
	}
}
