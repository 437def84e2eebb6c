package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/samples/wx/abi"
	"github.com/minihost/minihost/updater"
)

const runSynopsis = `[flags] TARGET
       minihost run [flags] --server URL --pubkey KEY APPID

TARGET is a sample source folder (built on the fly), a folder with app.json
and a prebuilt entry wasm, or an .mpk package: it runs locally, without
updates. With --server, APPID is opened from that release server (or a
static export of one) and kept up to date as the WeChat client does.`

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", runSynopsis, "minihost run --exit-after 2s samples/counter\n  minihost run --exit-after show samples/seed-js\n  minihost run --server http://127.0.0.1:8700 --pubkey release.key.pub demo.counter", stderr)
	var o runOutput
	home := fs.String("home", host.DefaultHome(), "host home folder (packages, storage); default $MINIHOST_HOME or the user config dir")
	events := fs.String("events", "text", "event output: text or json (one JSON object per line)")
	yes := fs.Bool("yes", false, "answer every modal with confirm")
	no := fs.Bool("no", false, "answer every modal with cancel")
	exitAfter := fs.String("exit-after", "", "exit after this event name (launch, show, modalResult, ...) or duration (2s)")
	baseLib := fs.String("base-library", "", "JS base library for JavaScript packages: a source folder, extracted folder or .mpk (default: this module's samples/jsbase, built)")
	uf := addUpdateFlags(fs)
	target, code := parseOne(fs, args, stderr, "TARGET")
	if code >= 0 {
		return code
	}
	if *yes && *no {
		return usageError(fs, stderr, "--yes and --no exclude each other")
	}
	if *events != "text" && *events != "json" {
		return usageError(fs, stderr, fmt.Sprintf("--events %q: want text or json", *events))
	}
	stopOn, err := parseExitAfter(*exitAfter)
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	o = runOutput{w: stdout, json: *events == "json"}

	var ui host.UI = &promptUI{in: os.Stdin, out: stderr}
	if *yes || *no {
		ui = host.AutoAnswer(*yes)
	}
	upd, err := uf.config()
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	// A source folder is built before the run starts, so that
	// --exit-after 2s does not count the compiler.
	pkg := ""
	if upd == nil {
		p, cleanup, err := resolveTarget(ctx, "run", target, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "minihost run: %v\n", err)
			return 1
		}
		defer cleanup()
		pkg = p
	}
	base := ""
	if (pkg != "" && isJSPackage(pkg)) || *baseLib != "" {
		dir, cleanup, err := localBaseLibrary(ctx, *baseLib, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "minihost run: %v\n", err)
			return 1
		}
		defer cleanup()
		base = dir
	}
	// running bounds the run: an interrupt or --exit-after DURATION ends
	// it. Everything the run does, a blocked launch and a callback
	// included, happens under it. --exit-after EVENT only asks the run to
	// stop once the app is open (the event may come during the launch).
	running := ctx
	if stopOn.d > 0 {
		var cancel context.CancelFunc
		running, cancel = context.WithTimeout(ctx, stopOn.d)
		defer cancel()
	}
	stop := make(chan struct{})
	// The launch gets a grace after the exit event: a launch that is about
	// to open (show comes just before Launch returns) finishes, and one
	// that is blocked (--exit-after blocked) is stopped.
	launching, stopLaunch := context.WithCancel(running)
	defer stopLaunch()
	var once sync.Once
	// launchFailed is the last onLaunch failure, until a launch succeeds:
	// an app that opened with it has no working instance, and nothing in
	// a run would ever call it again.
	var launchFailed atomic.Pointer[host.Event]
	dl := newDownloadProgress(stderr)
	h, err := host.New(host.Config{
		Home:        *home,
		UI:          ui,
		Logger:      slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Updates:     upd,
		BaseLibrary: base,
		OnEvent: func(ev host.Event) {
			// In text, a download's progress goes to the progress
			// display on stderr only; in JSON every event is a line.
			if o.json || !dl.show(ev) {
				o.print(ev)
			}
			switch {
			case ev.Event == host.EventError && ev.Callback == "onLaunch":
				launchFailed.Store(&ev)
			case ev.Event == host.EventLaunch:
				launchFailed.Store(nil)
			}
			if stopOn.event != "" && ev.Event == stopOn.event {
				once.Do(func() {
					close(stop)
					time.AfterFunc(runCloseGrace, stopLaunch)
				})
			}
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "minihost run: %v\n", err)
		return 1
	}
	// Closing is bounded too: onHide gets a short grace, then whatever
	// still runs is aborted.
	defer func() {
		cctx, c := context.WithTimeout(context.WithoutCancel(ctx), runCloseGrace)
		defer c()
		h.Close(cctx)
	}()

	if !o.json {
		fmt.Fprintf(stdout, "minihost run: starting %s; %s\n", target, quitHint(stopOn))
	}
	var app *host.App
	if upd != nil {
		app, err = h.Launch(launching, target)
	} else {
		app, err = h.LaunchPackage(launching, pkg)
	}
	if err != nil {
		select {
		case <-stop:
			if ctx.Err() == nil && running.Err() == nil {
				return 0 // --exit-after EVENT came before the app opened, as asked
			}
		default:
		}
		switch {
		case ctx.Err() != nil: // Ctrl-C: the person knows why, say what it stopped
			fmt.Fprintf(stderr, "minihost run: interrupted before %s opened\n", target)
		case running.Err() != nil && stopOn.d > 0:
			fmt.Fprintf(stderr, "minihost run: %s did not open within --exit-after %v: %v\n", target, stopOn.d, err)
		default:
			fmt.Fprintf(stderr, "minihost run: %v\n", err)
			if errors.Is(err, host.ErrNoBaseLibrary) {
				fmt.Fprintln(stderr, baseLibraryHint)
			} else if hint := updater.Hint(err); hint != "" {
				fmt.Fprintf(stderr, "minihost run: %s\n", hint)
			}
		}
		return 1
	}
	code = 0
	if ev := launchFailed.Load(); ev != nil {
		fmt.Fprintf(stderr, "minihost run: %s %s opened, but its onLaunch failed (%s): nothing runs; fix the app and run it again\n", app.ID(), app.Version(), ev.Reason)
		code = 1
	} else {
		select {
		case <-running.Done():
		case <-stop:
		case <-app.Done():
		}
	}
	closeCtx, c3 := context.WithTimeout(context.WithoutCancel(ctx), runCloseGrace)
	defer c3()
	app.Close(closeCtx)
	return code
}

// runCloseGrace bounds closing an app at the end of a run: long enough for
// a well-behaved onHide, short enough that --exit-after DURATION and an
// interrupt end the process promptly. A callback still running after it is
// aborted.
const runCloseGrace = 2 * time.Second

// resolveTarget turns TARGET into an .mpk path, building or packing a
// folder into a temporary file; cmd names the command in its progress line.
func resolveTarget(ctx context.Context, cmd, target string, stderr io.Writer) (string, func(), error) {
	st, err := os.Stat(target)
	if err != nil {
		return "", nil, fmt.Errorf("target %s: %w", target, err)
	}
	if !st.IsDir() {
		return target, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "minihost-run-*")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	out := filepath.Join(tmp, filepath.Base(target)+mpk.Ext)
	gos, _ := filepath.Glob(filepath.Join(target, "*.go"))
	if len(gos) > 0 {
		compiling(stderr, cmd, target)
		err = mpk.Build(ctx, target, out, mpk.BuildOptions{Stderr: stderr})
	} else {
		err = mpk.Pack(ctx, target, out)
	}
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return out, cleanup, nil
}

// quitHint says how a run ends: the text output's first line, so that
// nobody is left guessing how to quit.
func quitHint(stopOn exitAfter) string {
	switch {
	case stopOn.event != "":
		return fmt.Sprintf("exits after the %s event (--exit-after); press Ctrl-C to quit sooner", stopOn.event)
	case stopOn.d > 0:
		return fmt.Sprintf("exits after %v (--exit-after); press Ctrl-C to quit sooner", stopOn.d)
	}
	return "press Ctrl-C to quit (or pass --exit-after EVENT|DURATION)"
}

type exitAfter struct {
	event string
	d     time.Duration
}

func parseExitAfter(s string) (exitAfter, error) {
	if s == "" {
		return exitAfter{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return exitAfter{}, fmt.Errorf("--exit-after %s: duration must be positive", s)
		}
		return exitAfter{d: d}, nil
	}
	if !slices.Contains(exitEvents, s) {
		return exitAfter{}, fmt.Errorf("--exit-after %q: want a duration (2s) or an event name: %s", s, strings.Join(exitEvents, ", "))
	}
	return exitAfter{event: s}, nil
}

// exitEvents are the events a run can stop after: every event a host emits.
var exitEvents = []string{
	host.EventDecision, host.EventLaunch, host.EventShow, host.EventHide, host.EventLog,
	host.EventModal, host.EventModalResult, host.EventError, host.EventExit,
	host.EventCheckForUpdate, host.EventUpdateReady, host.EventUpdateFailed,
	host.EventApplyUpdate, host.EventBlocked, host.EventRollback, host.EventCheckFailed,
}

// runOutput prints events as text or JSON lines; goroutine-safe.
type runOutput struct {
	mu   sync.Mutex
	w    io.Writer
	json bool
}

func (o *runOutput) print(ev host.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.json {
		b, _ := json.Marshal(ev)
		o.w.Write(append(b, '\n'))
		return
	}
	fmt.Fprintln(o.w, formatEvent(ev))
}

// formatEvent renders an event for people.
func formatEvent(ev host.Event) string {
	// Before a version opens (blocked, a first install) there is none to show.
	tag := "[" + ev.App + "]"
	if ev.Version != "" {
		tag = fmt.Sprintf("[%s %s]", ev.App, ev.Version)
	}
	switch ev.Event {
	case host.EventLog:
		return fmt.Sprintf("%s log: %s", tag, guestText(ev.Message))
	case host.EventLaunch:
		return fmt.Sprintf("%s launch (reason %s)", tag, ev.Reason)
	case host.EventModal:
		return fmt.Sprintf("%s modal %d: %s: %s", tag, ev.ModalID, guestText(ev.Modal.Title), guestText(ev.Modal.Content))
	case host.EventModalResult:
		answer := "cancel"
		if ev.Confirm != nil && *ev.Confirm {
			answer = "confirm"
		}
		return fmt.Sprintf("%s modal %d answered %s", tag, ev.ModalID, answer)
	case host.EventError:
		return fmt.Sprintf("%s error in %s (%s): %s", tag, ev.Callback, ev.Reason, guestText(ev.Message))
	case host.EventExit:
		return fmt.Sprintf("%s exit (%s)", tag, ev.Reason)
	case host.EventDecision:
		return tag + " " + formatDecision(ev.Decision)
	case host.EventCheckForUpdate:
		return fmt.Sprintf("%s checkForUpdate hasUpdate=%t", tag, ev.HasUpdate != nil && *ev.HasUpdate)
	case host.EventUpdateFailed:
		return fmt.Sprintf("%s updateFailed: %s", tag, ev.Message)
	case host.EventCheckFailed:
		return fmt.Sprintf("%s checkFailed: %s", tag, ev.Message)
	case host.EventRollback:
		return fmt.Sprintf("%s rollback: %s", tag, ev.Message)
	case host.EventBlocked:
		if ev.Total > 0 {
			return fmt.Sprintf("%s blocked (attempt %d): %s %d/%d bytes", tag, ev.Attempt, ev.Message, ev.Bytes, ev.Total)
		}
		return fmt.Sprintf("%s blocked (attempt %d): %s", tag, ev.Attempt, ev.Message)
	}
	if ev.Reason != "" {
		return fmt.Sprintf("%s %s (%s)", tag, ev.Event, ev.Reason)
	}
	return fmt.Sprintf("%s %s", tag, ev.Event)
}

// promptUI asks on the terminal; one question at a time.
type promptUI struct {
	mu  sync.Mutex
	in  io.Reader
	out io.Writer
	rd  *bufio.Reader
}

var _ host.UI = (*promptUI)(nil)

func (p *promptUI) ShowModal(app string, m abi.Modal, answer func(bool)) {
	go func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.rd == nil {
			p.rd = bufio.NewReader(p.in)
		}
		confirm, cancel := guestText(m.ConfirmText), guestText(m.CancelText)
		if confirm == "" {
			confirm = "OK"
		}
		if cancel == "" {
			cancel = "Cancel"
		}
		fmt.Fprintf(p.out, "\n[%s] modal from the app: %s\n%s\n", app, guestText(m.Title), guestText(m.Content))
		if !m.ShowCancel {
			fmt.Fprintf(p.out, "press Enter for %s: ", confirm)
			p.rd.ReadString('\n')
			answer(true)
			return
		}
		fmt.Fprintf(p.out, "%s [y] / %s [n]: ", confirm, cancel)
		line, err := p.rd.ReadString('\n')
		if err != nil {
			// Say why, or a closed stdin (a pipe, CI) cancels unseen.
			fmt.Fprintf(p.out, "\nno answer (stdin: %v): answering %s; --yes or --no answers without asking\n", err, cancel)
		}
		answer(err == nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "y"))
	}()
}
