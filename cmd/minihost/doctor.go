package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/updater"
)

const doctorSynopsis = `[--home DIR] [--repair] [APPID...]

Checks the installed packages of each app (all apps when none are named)
against their state: leftover temporary files and extraction folders,
version folders the state does not list, listed versions whose folder is
missing or differs from the file list recorded at install, an active
version that is not installed. With --repair it removes the leftovers and
damaged versions and makes the newest complete version active when the
active one is gone. Run it while no host uses the home folder. Exits 1
when problems remain.`

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("doctor", doctorSynopsis, "minihost doctor --home ~/.minihost --repair demo.counter", stderr)
	home := fs.String("home", host.DefaultHome(), "host home folder")
	repair := fs.Bool("repair", false, "fix what is found")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	store, err := updater.OpenStore(updater.StoreConfig{Dir: *home})
	if err != nil {
		fmt.Fprintf(stderr, "minihost doctor: %v\n", err)
		return 1
	}
	reports, err := store.Check(ctx, *repair, fs.Args()...)
	code := 0
	for _, r := range reports {
		active := r.Active
		if active == "" {
			active = "none"
		}
		status := "ok"
		if !r.OK() {
			status, code = "PROBLEMS", 1
		} else if len(r.Problems) > 0 {
			status = "repaired"
		}
		fmt.Fprintf(stdout, "%s: %s (active %s; complete versions: %s)\n", r.AppID, status, active, strings.Join(r.Verified, " "))
		for _, p := range r.Problems {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
	}
	if len(reports) == 0 && err == nil {
		fmt.Fprintln(stdout, "no apps in", *home)
	}
	if err != nil {
		fmt.Fprintf(stderr, "minihost doctor: %v\n", err)
		return 1
	}
	if code != 0 && !*repair {
		fmt.Fprintln(stdout, "run again with --repair to fix")
	}
	return code
}
