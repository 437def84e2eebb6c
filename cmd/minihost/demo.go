package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/samples/wx/abi"
)

const demoSynopsis = `[--home DIR]

Tells the whole update story with an embedded release server and the
counter sample: publish 1.0.0, a first launch (sync: it installs 1.0.0),
publish 2.0.0, a cold start (async: onCheckForUpdate, onUpdateReady), the
sample's "restart?" modal, confirmed, applyUpdate, and 2.0.0 running with
the counter carried over. Needs the Go toolchain (it builds the sample).`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", demoSynopsis, "go run ./cmd/minihost demo", stderr)
	home := fs.String("home", "", "host home folder (default: a temporary folder, removed afterwards)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(fs, stderr, "takes no arguments")
	}
	if err := demo(ctx, *home, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "minihost demo: %v\n", err)
		return 1
	}
	return 0
}

// story prints the demo's steps and the events under them.
type story struct {
	w    io.Writer
	step int
}

func (s *story) title(format string, args ...any) {
	s.step++
	fmt.Fprintf(s.w, "\n%d. %s\n", s.step, fmt.Sprintf(format, args...))
}

func (s *story) line(format string, args ...any) {
	fmt.Fprintf(s.w, "   %s\n", fmt.Sprintf(format, args...))
}

// event renders one host event as a line of the story.
func (s *story) event(ev host.Event) {
	switch ev.Event {
	case host.EventLog:
		s.line("guest %s says: %s", ev.Version, ev.Message)
	case host.EventDecision:
		d := ev.Decision
		s.line("host decides: %s launch because %s (rules %s)", d.Mode, d.Reason, strings.Join(d.Rules, " "))
		if d.Check != nil {
			s.line("host checked the release server: %s in %v, latest %s", d.Check.Result, d.Check.Duration.Round(time.Millisecond), d.Check.Latest)
		}
		if d.Download != nil {
			s.line("host downloaded and verified %s: %d bytes in %v", d.Download.Version, d.Download.Bytes, d.Download.Duration.Round(time.Millisecond))
		}
		s.line("host opens %s", d.Opened)
	case host.EventLaunch:
		s.line("onLaunch delivered (reason %s)", ev.Reason)
	case host.EventCheckForUpdate:
		s.line("onCheckForUpdate delivered: hasUpdate=%t", ev.HasUpdate != nil && *ev.HasUpdate)
	case host.EventUpdateReady:
		s.line("onUpdateReady delivered: 2.0.0 is downloaded, verified and compiled")
	case host.EventUpdateFailed:
		s.line("onUpdateFailed delivered: %s", ev.Message)
	case host.EventModal:
		if ev.Modal != nil {
			s.line("the sample shows a modal: %q %q", ev.Modal.Title, ev.Modal.Content)
		}
	case host.EventModalResult:
		s.line("the user confirms (the demo answers for them)")
	case host.EventApplyUpdate:
		s.line("applyUpdate: the host swapped the running module to %s (%s)", ev.Version, ev.Reason)
	case host.EventError:
		s.line("error in %s: %s", ev.Callback, ev.Message)
	}
}

func demo(ctx context.Context, home string, stdout, stderr io.Writer) error {
	s := &story{w: stdout}
	root, err := moduleDir(ctx)
	if err != nil {
		return fmt.Errorf("find samples/counter: %w", err)
	}
	tmp, err := os.MkdirTemp("", "minihost-demo-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if home == "" {
		home = filepath.Join(tmp, "home")
	}

	s.title("Build the counter sample as 1.0.0 and 2.0.0")
	pkgs := map[string]string{}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		pkgs[v] = filepath.Join(tmp, "counter-"+v+mpk.Ext)
		if err := mpk.Build(ctx, filepath.Join(root, "samples", "counter"), pkgs[v], mpk.BuildOptions{Version: v, Stderr: stderr}); err != nil {
			return err
		}
		s.line("built %s", filepath.Base(pkgs[v]))
	}

	s.title("Start a release server on loopback and publish 1.0.0")
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := startLocalServer(filepath.Join(tmp, "releases"), log, nil)
	if err != nil {
		return err
	}
	defer srv.close()
	if err := srv.publishFile(ctx, pkgs["1.0.0"]); err != nil {
		return err
	}
	s.line("release server at %s; published demo.counter 1.0.0, signed with its ed25519 key", srv.URL)

	swapped := make(chan struct{})
	newHost := func() (*host.Host, error) {
		return host.New(host.Config{
			Home:   home,
			UI:     host.AutoAnswer(true),
			Logger: log,
			Updates: &host.UpdateConfig{
				Server: srv.URL, PublicKey: srv.PublicKey, ClientID: "demo",
			},
			OnEvent: func(ev host.Event) {
				s.event(ev)
				if ev.Event == host.EventLaunch && ev.Reason == abi.ReasonUpdate {
					close(swapped)
				}
			},
		})
	}

	s.title("First launch: nothing is installed, so the launch is sync and installs 1.0.0")
	h, err := newHost()
	if err != nil {
		return err
	}
	app, err := h.Launch(ctx, "demo.counter")
	if err != nil {
		h.Close(ctx)
		return err
	}
	app.Close(ctx)
	h.Close(ctx)

	s.title("Publish 2.0.0")
	if err := srv.publishFile(ctx, pkgs["2.0.0"]); err != nil {
		return err
	}
	s.line("published demo.counter 2.0.0")

	s.title("Cold start: 1.0.0 opens at once (async) and 2.0.0 downloads in the background")
	h, err = newHost()
	if err != nil {
		return err
	}
	defer h.Close(context.WithoutCancel(ctx))
	app, err = h.Launch(ctx, "demo.counter")
	if err != nil {
		return err
	}
	select {
	case <-swapped:
	case <-time.After(2 * time.Minute):
		return errors.New("the update was not applied within 2 minutes")
	case <-ctx.Done():
		return ctx.Err()
	}
	if app.Version() != "2.0.0" {
		return fmt.Errorf("running %s after applyUpdate, want 2.0.0", app.Version())
	}
	app.Close(ctx)
	s.title("Done: 2.0.0 runs, and the launch counter carried over through the update")
	return nil
}
