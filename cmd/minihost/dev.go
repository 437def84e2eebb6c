package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/mpk"
)

const devSynopsis = `--simulate-update success|failure [flags] DIR

Like WeChat DevTools' "simulate update on next compile": builds the mini
program in DIR as its version V and as V with the patch number raised,
runs an in-process release server holding both, installs V, then cold
starts it so the program sees onCheckForUpdate and onUpdateReady (success)
or onUpdateFailed (failure, or fail: the server corrupts the new package)
with no real server. It runs until the update result plus --linger (a
modal the program shows then, such as "restart now?", is waited for), or
--exit-after. Modals are asked on the terminal; when stdin is not a
terminal they are confirmed, as --yes does, and the output says so.`

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("dev", devSynopsis, "minihost dev --simulate-update success samples/counter", stderr)
	simulate := fs.String("simulate-update", "success", "success or failure (fail works too)")
	events := fs.String("events", "text", "event output: text or json")
	yes := fs.Bool("yes", false, "answer every modal with confirm")
	no := fs.Bool("no", false, "answer every modal with cancel")
	linger := fs.Duration("linger", 2*time.Second, "how long to keep running after the update result")
	exitAfter := fs.String("exit-after", "", "exit after this event name or duration instead")
	dir, code := parseOne(fs, args, stderr, "DIR")
	if code >= 0 {
		return code
	}
	fail, ok := simulateModes[*simulate]
	if !ok {
		return usageError(fs, stderr, fmt.Sprintf("--simulate-update %q: want success or failure", *simulate))
	}
	if *yes && *no {
		return usageError(fs, stderr, "--yes and --no exclude each other")
	}
	stopOn, err := parseExitAfter(*exitAfter)
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	if *events != "text" && *events != "json" {
		return usageError(fs, stderr, fmt.Sprintf("--events %q: want text or json", *events))
	}
	ui := host.UI(&promptUI{in: os.Stdin, out: stderr})
	switch {
	case *yes || *no:
		ui = host.AutoAnswer(*yes)
	case !isTerminal(os.Stdin):
		// Reading a modal's answer from a pipe or /dev/null gets EOF,
		// which would cancel "restart now?" and hide the update.
		fmt.Fprintln(stderr, "minihost dev: stdin is not a terminal: modals are answered confirm (--no answers cancel)")
		ui = host.AutoAnswer(true)
	}
	if *events == "text" {
		hint := quitHint(stopOn)
		if stopOn.event == "" && stopOn.d == 0 {
			hint = fmt.Sprintf("exits %v after the update result (--linger); press Ctrl-C to quit sooner", *linger)
		}
		fmt.Fprintf(stdout, "minihost dev: starting %s; %s\n", dir, hint)
	}
	if err := dev(ctx, dir, fail, devOptions{ui: ui,
		out: &runOutput{w: stdout, json: *events == "json"}, linger: *linger, stopOn: stopOn, stderr: stderr,
	}); err != nil {
		fmt.Fprintf(stderr, "minihost dev: %v\n", err)
		return 1
	}
	return 0
}

// simulateModes maps --simulate-update to whether the update fails.
var simulateModes = map[string]bool{"success": false, "failure": true, "fail": true}

type devOptions struct {
	out    *runOutput
	ui     host.UI
	linger time.Duration
	stopOn exitAfter
	stderr io.Writer
}

func dev(ctx context.Context, dir string, fail bool, o devOptions) error {
	src, err := os.ReadFile(filepath.Join(dir, mpk.ManifestName))
	if err != nil {
		return err
	}
	m, err := mpk.ParseManifest(src)
	if err != nil {
		return err
	}
	next, err := bumpPatch(m.Version)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "minihost-dev-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	log := slog.New(slog.NewTextHandler(o.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var corrupt atomic.Bool // on for fail, once the current version is installed
	srv, err := startLocalServer(filepath.Join(tmp, "releases"), log, func(h http.Handler) http.Handler {
		return corruptPackages(h, &corrupt)
	})
	if err != nil {
		return err
	}
	defer srv.close()
	for _, v := range []string{m.Version, next} {
		out := filepath.Join(tmp, v+mpk.Ext)
		if err := mpk.Build(ctx, dir, out, mpk.BuildOptions{Version: v, Stderr: o.stderr}); err != nil {
			return err
		}
		if v == next {
			break // published after the first install
		}
		if err := srv.publishFile(ctx, out); err != nil {
			return err
		}
	}
	home := filepath.Join(tmp, "home")
	cfg := host.Config{
		Home:    home,
		Logger:  log,
		Updates: &host.UpdateConfig{Server: srv.URL, PublicKey: srv.PublicKey, ClientID: "dev"},
	}
	// Install the current version quietly.
	h, err := host.New(cfg)
	if err != nil {
		return err
	}
	a, err := h.Launch(ctx, m.AppID)
	if err != nil {
		h.Close(ctx)
		return err
	}
	a.Close(ctx)
	h.Close(ctx)

	if err := srv.publishFile(ctx, filepath.Join(tmp, next+mpk.Ext)); err != nil {
		return err
	}
	corrupt.Store(fail)
	running, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.stopOn.d > 0 {
		var c2 context.CancelFunc
		running, c2 = context.WithTimeout(running, o.stopOn.d)
		defer c2()
	}
	var once sync.Once
	stop := func() { once.Do(cancel) }
	ending := lingerTimer{d: o.linger, stop: stop}
	defer ending.pause()
	cfg.UI = o.ui
	cfg.OnEvent = func(ev host.Event) {
		o.out.print(ev)
		switch {
		case o.stopOn.event != "":
			if ev.Event == o.stopOn.event {
				stop()
			}
		case o.stopOn.d == 0:
			ending.on(ev)
		}
	}
	h, err = host.New(cfg)
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	a, err = h.Launch(ctx, m.AppID)
	if err != nil {
		return err
	}
	<-running.Done()
	closeCtx, c3 := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer c3()
	return a.Close(closeCtx)
}

// bumpPatch returns v, a version by mpk.ParseVersion, with its patch
// number raised by one (and no pre-release or build).
func bumpPatch(v string) (string, error) {
	sv, err := mpk.ParseVersion(v)
	if err != nil {
		return "", err
	}
	seg := sv.Segments64()
	return fmt.Sprintf("%d.%d.%d", seg[0], seg[1], seg[2]+1), nil
}

// lingerTimer ends a dev run --linger after the update result, but not
// while a modal shown after the result (such as "restart now?") waits for
// its answer: the linger starts again from the answer, and from
// applyUpdate, so the new version is seen starting. Goroutine-safe.
type lingerTimer struct {
	d    time.Duration
	stop func()

	mu     sync.Mutex
	result bool // an update result has come
	t      *time.Timer
}

// on takes each event of the run.
func (l *lingerTimer) on(ev host.Event) {
	switch ev.Event {
	case host.EventUpdateReady, host.EventUpdateFailed:
		l.mu.Lock()
		l.result = true
		l.mu.Unlock()
		l.restart()
	case host.EventModalResult, host.EventApplyUpdate:
		l.restart()
	case host.EventModal:
		l.pause()
	}
}

func (l *lingerTimer) restart() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.result {
		return
	}
	if l.t != nil {
		l.t.Stop()
	}
	l.t = time.AfterFunc(l.d, l.stop)
}

func (l *lingerTimer) pause() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.t != nil {
		l.t.Stop()
	}
}
