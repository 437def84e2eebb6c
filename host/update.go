package host

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/samples/wx/abi"
	"github.com/minihost/minihost/updater"
)

// UpdateConfig turns on updates: Host.Launch opens apps by id from a
// release server (or a static export of one), keeping them up to date as
// the WeChat client does.
type UpdateConfig struct {
	// Server is the base URL of the release server or static export.
	Server string
	// PublicKey verifies release documents. Never fetched from Server.
	PublicKey ed25519.PublicKey
	// ClientID places this installation in staged rollouts. Empty: a
	// random id kept in the home folder.
	ClientID string
	// Policy configures the launch policy and its executor: sync timeout,
	// long-unused threshold, recent window, periodic interval and jitter,
	// retry backoff, background timeout and attempts, crash-loop limit.
	Policy updater.PolicyConfig
	// Clock is the launch policy's clock (last use, long-unused, recent
	// window, periodic checks) and its timers (the sync deadline, the
	// blocked and background backoffs, the periodic rounds). Nil: the
	// system clock. Signatures and expiry always use Now; one check or
	// download attempt is bounded by a context deadline in real time.
	Clock updater.Clock
	// Now is the real clock documents expire against. Nil: time.Now.
	Now func() time.Time
	// HTTPClient makes the requests. Nil: one of the host's own. Deadlines
	// come from contexts; a Timeout of its own must exceed Policy.PushWait,
	// or it cuts every push request.
	HTTPClient *http.Client
	// Periodic starts the periodic checker with the host.
	Periodic bool
}

// updates is the host's update machinery, present when Config.Updates is
// set. Everything in it is set once by initUpdates and goroutine-safe.
type updates struct {
	cfg       UpdateConfig
	exec      *updater.Executor
	store     *updater.Store
	client    *updater.Client
	clientID  string
	clock     updater.Clock
	downloads downloads
	push      pushes
}

func (h *Host) initUpdates(cfg UpdateConfig) error {
	exec, err := updater.NewExecutor(cfg.Policy)
	if err != nil {
		return err
	}
	cfg.Policy = cfg.Policy.WithDefaults() // what exec runs
	if cfg.Clock == nil {
		cfg.Clock = updater.SystemClock()
	}
	store, err := updater.OpenStore(updater.StoreConfig{Fs: h.cfg.Fs, Dir: h.cfg.Home})
	if err != nil {
		return err
	}
	id := cfg.ClientID
	if id == "" {
		if id, err = h.clientID(); err != nil {
			return err
		}
	}
	u := &updates{cfg: cfg, exec: exec, store: store, clientID: id, clock: cfg.Clock}
	u.downloads = downloads{h: h, running: map[string]*download{}}
	u.push.holding = map[string]bool{}
	u.client, err = updater.NewClient(updater.ClientConfig{
		BaseURL:    cfg.Server,
		PublicKey:  cfg.PublicKey,
		HTTPClient: cfg.HTTPClient,
		Now:        cfg.Now,
		Fs:         h.cfg.Fs,
		// The release server counts fetches per running version.
		RunningVersion: func(appID string) string {
			st, err := store.Load(appID)
			if err != nil {
				return ""
			}
			return st.Active
		},
	})
	if err != nil {
		return err
	}
	h.upd = u
	return nil
}

// clientID reads the installation's random id, making it on first use.
func (h *Host) clientID() (string, error) {
	path := filepath.Join(h.cfg.Home, "client-id")
	if b, err := afero.ReadFile(h.cfg.Fs, path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		return strings.TrimSpace(string(b)), nil
	}
	var raw [16]byte
	rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	if err := fsutil.WriteFile(h.cfg.Fs, path, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write client id: %w", err)
	}
	return id, nil
}

// Store returns the local package store, or nil without updates.
func (h *Host) Store() *updater.Store {
	if h.upd == nil {
		return nil
	}
	return h.upd.store
}

// errNoUpdates is Launch's, CheckNow's and WaitUpdate's error without
// updates (Config.Updates, or an app from LaunchPackage): it wraps
// errors.ErrUnsupported, which callers test with errors.Is.
var errNoUpdates = fmt.Errorf("updates are not configured (Config.Updates): %w", errors.ErrUnsupported)

// Launch opens the app appID the way the WeChat client does (the rule
// table updater.Rules): it decides sync or async, checks the release server,
// downloads and verifies when the policy says so, and opens the version
// the policy allows, recording why in App.Decision. A sync launch may block
// up to the sync timeout, or, when nothing may open (first install, below
// the minimum version, revoked), until the new version is installed or ctx
// ends; progress arrives as EventBlocked. When nothing may open, no signed
// document of the app is known and the server has no such app, the launch
// ends at once with an error wrapping updater.ErrUnknownApp (rule F2).
//
// Without Config.Updates it fails with an error wrapping
// errors.ErrUnsupported.
//
// The launch runs updater's executor (updater.Launch): this host only
// carries out what it asks for (launchRun is its updater.Runner). Once
// the app is open, the same run goes on as the app's background work,
// which App.Close cancels and waits for.
func (h *Host) Launch(ctx context.Context, appID string) (*App, error) {
	if h.upd == nil {
		return nil, errNoUpdates
	}
	u := h.upd
	st, err := u.store.Load(appID)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", appID, err)
	}
	r := h.newLaunchRun(appID, h.lastDocument(appID, st))
	r.machine = u.exec.NewLaunch(updater.LaunchInput{State: st, Last: r.last, ClientID: u.clientID, Rand: mrand.Float64})
	a, err := r.untilOpen(ctx)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", appID, err)
	}
	return a, nil
}

// Decision returns the record of why this version opened (nil for apps
// launched without updates).
func (a *App) Decision() *Decision { return a.decision }

// lastDocument re-verifies the saved release document: signature and app
// id. Its expiry is waived on purpose (the minimum version it names still
// counts offline), and so is replay (it is the reference replays are
// measured against).
func (h *Host) lastDocument(appID string, st updater.AppState) *updater.Document {
	if len(st.LastDocument) == 0 {
		return nil
	}
	doc, err := updater.VerifyDocument(st.LastDocument, h.upd.cfg.PublicKey,
		updater.VerifyOptions{AppID: appID, WaiveExpiry: true, WaiveReplay: true})
	if err != nil {
		h.log.Warn("saved release document does not verify; ignoring it", "app", appID, "err", err)
		return nil
	}
	return doc
}

// check fetches and verifies the release document and records it
// (updater.Store.RecordCheck). rec, when not nil, receives the record.
func (h *Host) check(ctx context.Context, appID string, rec **CheckRecord) updater.CheckResult {
	u := h.upd
	began := time.Now()
	r := &CheckRecord{Result: "ok"}
	if rec != nil {
		*rec = r
	}
	res := updater.CheckResult{ClientID: u.clientID}
	st, err := u.store.Load(appID)
	var doc *updater.Document
	var env []byte
	if err == nil {
		doc, env, err = u.client.FetchDocument(ctx, appID, st.LastSequence)
	}
	r.Duration = time.Since(began)
	if err != nil {
		r.Result, r.Error = "failed", err.Error()
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			r.Result = "timeout"
		}
		res.Err = err
		return res
	}
	r.Sequence = doc.Sequence
	if rel := doc.LatestFor(u.clientID); rel != nil {
		r.Latest = rel.Version
	}
	if err := u.store.RecordCheck(context.WithoutCancel(ctx), appID, env, doc.Sequence); err != nil {
		h.log.Warn("save release document", "app", appID, "err", err)
	}
	res.Doc = doc
	return res
}

// readVersion loads an installed version's manifest and entry module.
func (h *Host) readVersion(appID, v string) (version, error) {
	dir := h.upd.store.PackageDir(appID, v)
	m, wasm, err := h.loadDir(dir)
	if err != nil {
		return version{}, fmt.Errorf("open %s %s: %w", appID, v, err)
	}
	if m.AppID != appID || m.Version != v {
		return version{}, fmt.Errorf("open %s %s: installed package says %s %s", appID, v, m.AppID, m.Version)
	}
	return version{v: v, dir: dir, wasm: wasm}, nil
}

func restartModal(v string) abi.Modal {
	return abi.Modal{Title: "Update", Content: "Version " + v + " is ready and the version running can no longer be used. Restart now?", ShowCancel: true, ConfirmText: "Restart", CancelText: "Later"}
}

// emitFor emits an event of an app that may not be running yet.
func (h *Host) emitFor(appID, v string, ev Event) {
	if h.cfg.OnEvent == nil {
		return
	}
	ev.App, ev.Version = appID, v
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	h.cfg.OnEvent(ev)
}

// goBackground runs fn on a goroutine the host owns: Close cancels its
// context and waits for it. It returns false, running nothing, once the
// host is closing.
func (h *Host) goBackground(fn func(ctx context.Context)) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		fn(h.bgCtx)
	}()
	return true
}
