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

const devSynopsis = `--simulate-update success|fail [flags] DIR

Like WeChat DevTools' "simulate update on next compile": builds the mini
program in DIR as its version V and as V with the patch number raised,
runs an in-process release server holding both, installs V, then cold
starts it so the program sees onCheckForUpdate and onUpdateReady (success)
or onUpdateFailed (fail: the server corrupts the new package) with no real
server. It runs until the update result plus --linger, or --exit-after.`

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("dev", devSynopsis, "minihost dev --simulate-update success samples/counter", stderr)
	simulate := fs.String("simulate-update", "success", "success or fail")
	events := fs.String("events", "text", "event output: text or json")
	yes := fs.Bool("yes", false, "answer every modal with confirm")
	no := fs.Bool("no", false, "answer every modal with cancel")
	linger := fs.Duration("linger", 2*time.Second, "how long to keep running after the update result")
	exitAfter := fs.String("exit-after", "", "exit after this event name or duration instead")
	dir, code := parseOne(fs, args, stderr, "DIR")
	if code >= 0 {
		return code
	}
	if *simulate != "success" && *simulate != "fail" {
		return usageError(fs, stderr, fmt.Sprintf("--simulate-update %q: want success or fail", *simulate))
	}
	if *yes && *no {
		return usageError(fs, stderr, "--yes and --no exclude each other")
	}
	stopOn, err := parseExitAfter(*exitAfter)
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	if err := dev(ctx, dir, *simulate == "fail", devOptions{
		out: &runOutput{w: stdout, json: *events == "json"}, yes: *yes, no: *no, linger: *linger, stopOn: stopOn, stderr: stderr,
	}); err != nil {
		fmt.Fprintf(stderr, "minihost dev: %v\n", err)
		return 1
	}
	return 0
}

type devOptions struct {
	out     *runOutput
	yes, no bool
	linger  time.Duration
	stopOn  exitAfter
	stderr  io.Writer
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
	a, err := h.Launch(ctx, m.AppID, host.LaunchOptions{})
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
	cfg.UI = &promptUI{in: os.Stdin, out: o.stderr}
	if o.yes || o.no {
		cfg.UI = host.AutoAnswer(o.yes)
	}
	cfg.OnEvent = func(ev host.Event) {
		o.out.print(ev)
		switch {
		case o.stopOn.event != "":
			if ev.Event == o.stopOn.event {
				once.Do(cancel)
			}
		case o.stopOn.d == 0 && (ev.Event == host.EventUpdateReady || ev.Event == host.EventUpdateFailed):
			time.AfterFunc(o.linger, func() { once.Do(cancel) })
		}
	}
	h, err = host.New(cfg)
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	a, err = h.Launch(ctx, m.AppID, host.LaunchOptions{})
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
