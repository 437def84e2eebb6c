package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/shell"
)

const shellSynopsis = `[flags] [TARGET...]
       minihost shell [flags] --server URL --pubkey KEY [--app APPID]...

Serves the desktop shell, a web UI on loopback: it lists the apps (the
TARGETs, run locally without updates as minihost run does, and with
--server the apps installed in the home and those named by --app), opens
them, renders their pages, shows why each version opened, its update
events and logs, turns modals into dialogs and offers "restart to update".
Open the URL it prints in a browser. Stops on Ctrl-C.`

// shellGrace bounds the shell's shutdown: open event streams end at once,
// apps get onHide.
const shellGrace = 5 * time.Second

func runShell(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("shell", shellSynopsis,
		"minihost shell samples/counter\n  minihost shell --server http://127.0.0.1:8700 --pubkey release.key.pub --app demo.counter", stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on (port 0: any free port)")
	home := fs.String("home", host.DefaultHome(), "host home folder (packages, storage); default $MINIHOST_HOME or the user config dir")
	jsonOut := fs.Bool("json", false, `print {"url": ...} as JSON once serving`)
	var apps appList
	fs.Var(&apps, "app", "an app id to offer from --server (repeatable)")
	uf := addUpdateFlags(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if err := loopbackAddr(*addr); err != nil {
		return usageError(fs, stderr, err.Error())
	}
	upd, err := uf.config()
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	if upd == nil && len(apps) > 0 {
		return usageError(fs, stderr, "--app needs --server")
	}
	var pkgs []string
	for _, target := range fs.Args() {
		p, cleanup, err := resolveTarget(ctx, "shell", target, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "minihost shell: %v\n", err)
			return 1
		}
		defer cleanup()
		pkgs = append(pkgs, p)
	}
	sh, err := shell.New(shell.Config{
		Host: host.Config{
			Home:    *home,
			Logger:  slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Updates: upd,
		},
		Packages: pkgs,
		Apps:     apps,
	})
	if err != nil {
		fmt.Fprintf(stderr, "minihost shell: %v\n", err)
		return 1
	}
	defer closeWithin(sh.Close)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "minihost shell: %v\n", err)
		return 1
	}
	url := "http://" + ln.Addr().String() + "/"
	if *jsonOut {
		printJSON(stdout, map[string]string{"url": url})
	} else {
		fmt.Fprintf(stdout, "minihost shell: open %s in a browser; Ctrl-C to stop\n", url)
	}
	srv := &http.Server{Handler: sh, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		fmt.Fprintf(stderr, "minihost shell: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	// Event streams never end on their own: Close the shell (which ends
	// them) while the server shuts down.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shellGrace)
	defer cancel()
	go sh.Close(sctx)
	srv.Shutdown(sctx)
	<-done
	return 0
}

// loopbackAddr refuses an address other than a loopback one: the shell
// holds a home's apps and storage and has no login.
func loopbackAddr(addr string) error {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: %v", addr, err)
	}
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--addr %q: the shell listens on loopback only (127.0.0.1, ::1, localhost)", addr)
	}
	return nil
}
