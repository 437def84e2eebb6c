// Package shell is minihost's desktop shell as a local web UI: an
// http.Handler that lists apps and opens them, shows each app's pages
// (rendered by the host from its templates and the data the guest set),
// its decision trace ("why this version opened"), its update events and
// logs, turns modals into dialogs whose answers go back to the guest, and
// offers "restart to update" (host.App.ApplyUpdate). As in WeChat, an app
// the person leaves (selecting another app, or hiding the shell's browser
// tab) gets onHide and the one they come back to gets onShow
// (host.App.Hide and Show), once per change. Live changes reach
// the browser as server-sent events. `minihost shell` serves it on
// loopback; an embedding shell can mount it. RATIONALE.md (host/shell)
// gives the threat model: pages are rendered in a sandbox without script
// or network, and every action is a POST carrying a token header that
// page content cannot send.
package shell

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/samples/wx/abi"
)

// Bounds of what the shell keeps and serves.
const (
	// maxEvents bounds the events (logs included) kept per app.
	maxEvents = 200
	// maxStreams bounds the live event streams open at once.
	maxStreams = 16
	// streamBuffer bounds the messages queued for one stream; a stream
	// that falls behind is closed, and its browser reconnects and reads
	// the state afresh.
	streamBuffer = 256
)

// Config configures New.
type Config struct {
	// Host configures the host the shell runs and closes. Its UI is the
	// shell's (dialogs in the browser); its OnEvent, when set, still
	// receives every event, after the shell.
	Host host.Config
	// Packages are local packages (.mpk files or extracted folders) the
	// shell lists and opens without updates (host.Host.LaunchPackage).
	Packages []string
	// Apps are app ids the shell offers from the release server
	// (Host.Updates), besides those already installed.
	Apps []string
}

// Shell is the web UI of one host. Create it with New, serve it as an
// http.Handler (goroutine-safe), and Close it when done: Close ends the
// live event streams and closes the host and its apps.
type Shell struct {
	h     *host.Host
	token string
	mux   *http.ServeMux
	local map[string]string // app id: local package path

	ctx    context.Context // cancelled by Close: ends streams and watchers
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	apps   map[string]*appState
	subs   map[chan []byte]struct{}
	seq    uint64 // modal ids, across apps
	closed bool
}

// appState is what the shell shows of one app. Guarded by Shell.mu.
type appState struct {
	app     *host.App // nil when not running
	opening bool
	events  []host.Event
	pages   []string
	modals  []*modal
	ready   bool // an update is ready: offer "restart to update"
	// hidden: of onShow and onHide, the host last delivered onHide
	// (EventShow, EventHide), so the list shows the app in the background.
	// It follows the host's events, for display only: the host owns the
	// state and delivers each callback only on a change.
	hidden bool
}

// modal is a dialog waiting for the person.
type modal struct {
	ID     uint64    `json:"id"`
	Modal  abi.Modal `json:"modal"`
	answer func(confirm bool)
}

// New creates the shell and its host. Local packages are read for their
// app ids now, so a bad path fails here.
func New(cfg Config) (*Shell, error) {
	s := &Shell{local: map[string]string{}, apps: map[string]*appState{}, subs: map[chan []byte]struct{}{}}
	for _, p := range cfg.Packages {
		id, err := packageAppID(p)
		if err != nil {
			return nil, fmt.Errorf("new shell: %w", err)
		}
		s.local[id] = p
		s.state(id)
	}
	for _, id := range cfg.Apps {
		s.state(id)
	}
	var tok [32]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return nil, fmt.Errorf("new shell: token: %w", err)
	}
	s.token = hex.EncodeToString(tok[:])
	next := cfg.Host.OnEvent
	hc := cfg.Host
	hc.UI = (*shellUI)(s)
	hc.OnEvent = func(ev host.Event) {
		s.onEvent(ev)
		if next != nil {
			next(ev)
		}
	}
	h, err := host.New(hc)
	if err != nil {
		return nil, fmt.Errorf("new shell: %w", err)
	}
	s.h = h
	if st := h.Store(); st != nil {
		ids, err := st.Apps()
		if err != nil {
			h.Close(context.Background())
			return nil, fmt.Errorf("new shell: list installed apps: %w", err)
		}
		for _, id := range ids {
			s.state(id)
		}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mux = s.routes()
	return s, nil
}

// maxManifestBytes bounds the app.json of a local folder.
const maxManifestBytes = 64 << 10

// packageAppID reads the app id of a local package file or folder.
func packageAppID(path string) (string, error) {
	if isDir(path) {
		f, err := os.Open(filepath.Join(path, mpk.ManifestName))
		if err != nil {
			return "", fmt.Errorf("read package folder %s: %w", path, err)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxManifestBytes))
		if err != nil {
			return "", fmt.Errorf("read package folder %s: %w", path, err)
		}
		m, err := mpk.ParseManifest(data)
		if err != nil {
			return "", fmt.Errorf("read package folder %s: %w", path, err)
		}
		return m.AppID, nil
	}
	p, err := mpk.OpenFile(path, mpk.Limits{})
	if err != nil {
		return "", fmt.Errorf("read package %s: %w", path, err)
	}
	defer p.Close()
	return p.Manifest.AppID, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// Close ends the live event streams, answers waiting dialogs with cancel,
// and closes the host with its apps. It is safe to call more than once.
func (s *Shell) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var waiting []*modal
	for _, st := range s.apps {
		waiting = append(waiting, st.modals...)
		st.modals = nil
	}
	s.mu.Unlock()
	s.cancel()
	for _, m := range waiting {
		m.answer(false)
	}
	s.wg.Wait()
	return s.h.Close(ctx)
}

// state returns the app's state, adding it. The caller holds s.mu or
// owns s (New).
func (s *Shell) state(id string) *appState {
	st := s.apps[id]
	if st == nil {
		st = &appState{}
		s.apps[id] = st
	}
	return st
}

// errBusy is open's error when the app is being opened already.
var errBusy = errors.New("is opening already")

// open starts a cold start of app id, closing its running instance
// first: the shell's "open" and "restart" both mean a new cold start.
func (s *Shell) open(ctx context.Context, id string) error {
	s.mu.Lock()
	st, ok := s.apps[id]
	if !ok || s.closed {
		s.mu.Unlock()
		return fmt.Errorf("open %s: no such app", id)
	}
	if st.opening {
		s.mu.Unlock()
		return fmt.Errorf("open %s: %w", id, errBusy)
	}
	st.opening, st.ready = true, false
	old := st.app
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		st.opening = false
		s.mu.Unlock()
		s.notify(host.Event{Event: "shell", App: id})
	}()
	if old != nil {
		if err := old.Close(ctx); err != nil {
			return fmt.Errorf("open %s: close the running instance: %w", id, err)
		}
		s.dropDialogs(st)
	}
	var a *host.App
	var err error
	if p, local := s.local[id]; local {
		a, err = s.h.LaunchPackage(ctx, p)
	} else {
		a, err = s.h.Launch(ctx, id)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("open %s: shell is closing", id) // the host closes a
	}
	st.app = a
	s.wg.Add(1) // under s.mu, before Close can wait
	s.mu.Unlock()
	go s.watch(st, a)
	return nil
}

// watch clears st.app when a closes; Close stops it.
func (s *Shell) watch(st *appState, a *host.App) {
	{
		defer s.wg.Done()
		select {
		case <-a.Done():
		case <-s.ctx.Done():
			return
		}
		s.mu.Lock()
		gone := st.app == a
		if gone {
			st.app, st.ready = nil, false
		}
		s.mu.Unlock()
		if gone {
			s.dropDialogs(st)
		}
		s.notify(host.Event{Event: "shell", App: a.ID()})
	}
}

// dropDialogs answers the dialogs of an app that closed with cancel: no
// instance waits for them (the host drops a late answer anyway), and a
// dialog of a closed app must not stay on screen.
func (s *Shell) dropDialogs(st *appState) {
	s.mu.Lock()
	waiting := st.modals
	st.modals = nil
	s.mu.Unlock()
	for _, m := range waiting {
		m.answer(false)
	}
}

// setVisible brings app id to the foreground (App.Show, onShow) or sends
// it to the background (App.Hide, onHide), as WeChat does when the person
// comes back to an app or leaves it. The host delivers nothing when the
// app is in that state already, so repeated or racing requests are
// harmless.
func (s *Shell) setVisible(ctx context.Context, id string, visible bool) error {
	verb := "hide"
	if visible {
		verb = "show"
	}
	s.mu.Lock()
	st, ok := s.apps[id]
	var a *host.App
	if ok {
		a = st.app
	}
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%s %s: no such app", verb, id)
	}
	err := host.ErrClosed // not running; an app that closed before watch saw it go says the same
	switch {
	case a != nil && visible:
		err = a.Show(ctx)
	case a != nil:
		err = a.Hide(ctx)
	}
	switch {
	case errors.Is(err, host.ErrClosed):
		return fmt.Errorf("%s %s: the app is not running", verb, id)
	case err != nil:
		return fmt.Errorf("%s %s: %w", verb, id, err)
	}
	return nil
}

// app returns the running app id, or nil.
func (s *Shell) app(id string) *host.App {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.apps[id]; st != nil {
		return st.app
	}
	return nil
}

// onEvent is the host's OnEvent: it keeps the app's last events, notes
// its pages and a ready update, and tells the browsers.
func (s *Shell) onEvent(ev host.Event) {
	s.mu.Lock()
	st := s.state(ev.App)
	if len(st.events) >= maxEvents {
		st.events = slices.Delete(st.events, 0, len(st.events)-maxEvents+1)
	}
	st.events = append(st.events, ev)
	switch ev.Event {
	case host.EventView:
		if !slices.Contains(st.pages, ev.Page) {
			st.pages = append(st.pages, ev.Page)
		}
	case host.EventUpdateReady:
		st.ready = true
	case host.EventApplyUpdate:
		st.ready = false
	case host.EventShow:
		st.hidden = false
	case host.EventHide:
		st.hidden = true
	}
	s.mu.Unlock()
	s.notify(ev)
}

// shellUI is the host's UI: a modal becomes a dialog in the browser.
type shellUI Shell

func (u *shellUI) ShowModal(app string, m abi.Modal, answer func(confirm bool)) {
	s := (*Shell)(u)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		answer(false)
		return
	}
	s.seq++
	md := &modal{ID: s.seq, Modal: m, answer: answer}
	st := s.state(app)
	st.modals = append(st.modals, md)
	s.mu.Unlock()
	s.notify(host.Event{Event: "dialog", App: app})
}

// answer answers the dialog id of app; false when there is none (answered
// already).
func (s *Shell) answer(app string, id uint64, confirm bool) bool {
	s.mu.Lock()
	st := s.apps[app]
	var md *modal
	if st != nil {
		for i, m := range st.modals {
			if m.ID == id {
				md = m
				st.modals = slices.Delete(st.modals, i, i+1)
				break
			}
		}
	}
	s.mu.Unlock()
	if md == nil {
		return false
	}
	md.answer(confirm)
	s.notify(host.Event{Event: "dialog", App: app})
	return true
}
