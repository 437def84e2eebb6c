package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/updater"
)

const doctorSynopsis = `[--home DIR] [--repair] [--json] [APPID...]

Checks the installed packages of each app (all apps when none are named)
against their state: leftover temporary files and extraction folders,
version folders the state does not list, listed versions whose folder is
missing or differs from the file list recorded at install, an active
version that is not installed. With --repair it removes the leftovers and
damaged versions and makes the newest complete version active when the
active one is gone. Run it while no host uses the home folder. Exits 1
when problems remain, and when DIR does not exist (doctor never creates
it).`

func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("doctor", doctorSynopsis, "minihost doctor --home ~/.minihost --repair demo.counter", stderr)
	home := fs.String("home", host.DefaultHome(), "host home folder")
	repair := fs.Bool("repair", false, "fix what is found")
	asJSON := jsonFlag(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	// OpenStore creates its folder; a mistyped --home must not become
	// an empty, healthy-looking home.
	if st, err := os.Stat(*home); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "minihost doctor: home folder %s does not exist or is not a folder (pick another with --home or $MINIHOST_HOME)\n", *home)
		return 1
	}
	store, err := updater.OpenStore(updater.StoreConfig{Dir: *home})
	if err != nil {
		fmt.Fprintf(stderr, "minihost doctor: %v\n", err)
		return 1
	}
	reports, err := store.Check(ctx, *repair, fs.Args()...)
	out := doctorJSON{Home: *home, OK: true, Apps: make([]doctorApp, len(reports))}
	for i, r := range reports {
		a := doctorApp{AppID: r.AppID, Active: r.Active, Verified: r.Verified, OK: r.OK(), Status: "ok",
			Problems: make([]doctorProblem, len(r.Problems))}
		if a.Verified == nil {
			a.Verified = []string{}
		}
		if !a.OK {
			a.Status, out.OK = "problems", false
		} else if len(r.Problems) > 0 {
			a.Status = "repaired"
		}
		for j, p := range r.Problems {
			a.Problems[j] = doctorProblem{Kind: p.Kind, Version: p.Version, Path: p.Path, Detail: p.Detail, Repaired: p.Repaired, Text: p.String()}
		}
		out.Apps[i] = a
	}
	code := printResult(stdout, stderr, "doctor", *asJSON, out, func(w io.Writer) {
		for _, a := range out.Apps {
			active := a.Active
			if active == "" {
				active = "none"
			}
			fmt.Fprintf(w, "%s: %s (active %s; complete versions: %s)\n", a.AppID, textStatus[a.Status], active, strings.Join(a.Verified, " "))
			for _, p := range a.Problems {
				fmt.Fprintf(w, "  %s\n", p.Text)
			}
		}
		if len(out.Apps) == 0 && err == nil {
			fmt.Fprintln(w, "no apps in", *home)
		}
		if !out.OK && !*repair {
			fmt.Fprintln(w, "run again with --repair to fix")
		}
	})
	if err != nil {
		fmt.Fprintf(stderr, "minihost doctor: %v\n", err)
		return 1
	}
	if !out.OK {
		return 1
	}
	return code
}

// textStatus is how the text output writes a doctorApp's status.
var textStatus = map[string]string{"ok": "ok", "repaired": "repaired", "problems": "PROBLEMS"}

// doctorJSON is what "doctor --json" prints; ok is false when problems
// remain (the exit code is 1 then).
type doctorJSON struct {
	Home string      `json:"home"`
	OK   bool        `json:"ok"`
	Apps []doctorApp `json:"apps"`
}

type doctorApp struct {
	AppID    string          `json:"appId"`
	Status   string          `json:"status"` // ok, repaired or problems
	OK       bool            `json:"ok"`
	Active   string          `json:"active,omitempty"`
	Verified []string        `json:"verified"` // the complete versions
	Problems []doctorProblem `json:"problems"`
}

type doctorProblem struct {
	Kind     string `json:"kind"`
	Version  string `json:"version,omitempty"`
	Path     string `json:"path,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Repaired bool   `json:"repaired"`
	Text     string `json:"text"` // the line the text output prints
}
