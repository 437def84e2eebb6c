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
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
)

// Defaults for UpdateConfig.
const (
	// DefaultRetryMin and DefaultRetryMax bound the capped exponential
	// backoff of a blocked launch and of background downloads.
	DefaultRetryMin = 500 * time.Millisecond
	DefaultRetryMax = 30 * time.Second
	// DefaultBackgroundTimeout bounds one background check or download
	// attempt.
	DefaultBackgroundTimeout = 2 * time.Minute
	// DefaultBackgroundAttempts is how many times a background download is
	// tried before onUpdateFailed.
	DefaultBackgroundAttempts = 3
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
	// Policy configures the launch policy (sync timeout, long-unused
	// threshold, recent window, periodic interval).
	Policy updater.PolicyConfig
	// Clock is the launch policy's clock (last use, long-unused, recent
	// window, periodic checks). Nil: the system clock. Signatures and
	// expiry always use Now.
	Clock updater.Clock
	// Now is the real clock documents expire against. Nil: time.Now.
	Now func() time.Time
	// HTTPClient makes the requests. Nil: one of the host's own.
	HTTPClient *http.Client
	// RetryMin and RetryMax bound retry backoff.
	RetryMin, RetryMax time.Duration
	// Periodic starts the periodic checker with the host.
	Periodic bool
}

// updates is the host's update machinery, present when Config.Updates is set.
type updates struct {
	cfg      UpdateConfig
	store    *updater.Store
	client   *updater.Client
	clientID string
	clock    updater.Clock

	mu        sync.Mutex
	downloads map[string]*download // by app id + version
	progress  map[string]func(done, total int64)
	lastStep  map[string]int64
}

func (h *Host) initUpdates(cfg UpdateConfig) error {
	if err := cfg.Policy.Validate(); err != nil {
		return err
	}
	cfg.Policy = cfg.Policy.WithDefaults()
	if cfg.Clock == nil {
		cfg.Clock = updater.SystemClock{}
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
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
	u := &updates{cfg: cfg, store: store, clientID: id, clock: cfg.Clock,
		downloads: map[string]*download{}, progress: map[string]func(int64, int64){}, lastStep: map[string]int64{}}
	u.client, err = updater.NewClient(updater.ClientConfig{
		BaseURL:    cfg.Server,
		PublicKey:  cfg.PublicKey,
		HTTPClient: cfg.HTTPClient,
		ClientID:   id,
		Now:        cfg.Now,
		Fs:         h.cfg.Fs,
		Progress:   u.onProgress,
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
	if err := mpk.WriteFileAtomic(h.cfg.Fs, path, []byte(id+"\n"), 0o644); err != nil {
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

// ErrNoUpdates reports Launch on a host without Config.Updates.
var ErrNoUpdates = errors.New("updates are not configured (Config.Updates)")

// Launch opens the app appID the way the WeChat client does (the rule
// table updater.Rules): it decides sync or async, checks the release server,
// downloads and verifies when the policy says so, and opens the version
// the policy allows, recording why in App.Decision. A sync launch may block
// up to the sync timeout, or, when nothing may open (first install, below
// the minimum version, revoked), until the new version is installed or ctx
// ends; progress arrives as EventBlocked.
func (h *Host) Launch(ctx context.Context, appID string, opts LaunchOptions) (*App, error) {
	if h.upd == nil {
		return nil, ErrNoUpdates
	}
	u := h.upd
	began := time.Now()
	st, err := u.store.Load(appID)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", appID, err)
	}
	last := h.lastDocument(appID, st)
	plan := updater.Decide(st.Local(), last, u.cfg.Policy, u.clock.Now())
	d := &Decision{Mode: string(plan.Mode), Rules: plan.Rules, Reason: plan.Reason, Local: plan.Local}

	var (
		open       string
		hasUpdate  bool
		background *download // still running when the app opens
		after      func(*App)
	)
	if plan.Mode == updater.ModeAsync && plan.LocalOpenable {
		open = plan.Local
		after = func(a *App) { h.checkInBackground(a, plan) }
	} else {
		open, hasUpdate, background, err = h.syncLaunch(ctx, appID, plan, st, d)
		if err != nil {
			h.emitFor(appID, "", Event{Event: EventDecision, Decision: d, Message: err.Error()})
			return nil, fmt.Errorf("launch %s: %w", appID, err)
		}
	}
	d.Opened, d.Duration = open, time.Since(began)
	h.emitFor(appID, open, Event{Event: EventDecision, Decision: d})

	a, err := h.openVersion(ctx, appID, open, opts)
	if err != nil {
		return nil, err
	}
	if why := h.crashLoop(appID, open, a.launchErr); why != "" {
		// The version crashed on launch K times in a row: it is marked bad
		// and the launch starts over, opening the rollback target (or
		// blocking until a newer version is published).
		h.emitFor(appID, open, Event{Event: EventRollback, Message: why})
		a.Close(context.WithoutCancel(ctx))
		next, err := h.Launch(ctx, appID, opts)
		if next != nil && next.decision != nil {
			next.decision.Rollback = why
		}
		return next, err
	}
	a.decision = d
	if after != nil {
		after(a)
	} else {
		a.reportCheck(hasUpdate)
		if background != nil {
			a.goWork(func(ctx context.Context) { h.finishDownload(ctx, a, background, false) })
		}
	}
	return a, nil
}

// DefaultCrashLoopLimit is how many cold starts in a row a version's
// onLaunch may trap or time out before it is marked bad and rolled back.
const DefaultCrashLoopLimit = 2

// crashLoop counts consecutive launch crashes of v (a swap by applyUpdate
// never comes here) and returns why v is now marked bad, or "".
func (h *Host) crashLoop(appID, v string, launchErr error) string {
	crashed := false
	switch errorReason(launchErr) {
	case ErrorTimeout, ErrorTrap, ErrorMemory, ErrorExit:
		crashed = launchErr != nil
	}
	var why string
	err := h.upd.store.Update(appID, func(s *updater.AppState) error {
		switch {
		case !crashed:
			if s.FailingVersion == v {
				s.FailingVersion, s.LaunchFailures = "", 0
			}
		case s.FailingVersion == v:
			s.LaunchFailures++
		default:
			s.FailingVersion, s.LaunchFailures = v, 1
		}
		if crashed && s.LaunchFailures >= DefaultCrashLoopLimit {
			why = fmt.Sprintf("%s crashed in onLaunch %d times in a row (last: %v): marked bad, rolling back", v, s.LaunchFailures, launchErr)
			s.Bad = append(s.Bad, v)
			s.FailingVersion, s.LaunchFailures = "", 0
		}
		return nil
	})
	if err != nil {
		h.log.Warn("record launch result", "app", appID, "err", err)
		return ""
	}
	return why
}

// Decision returns the record of why this version opened (nil for apps
// launched without updates).
func (a *App) Decision() *Decision { return a.decision }

// lastDocument re-verifies the saved release document (signature and app
// id; its expiry does not matter: the minimum version it names still
// counts offline).
func (h *Host) lastDocument(appID string, st updater.AppState) *updater.Document {
	if len(st.LastDocument) == 0 {
		return nil
	}
	doc, err := updater.VerifyDocument(st.LastDocument, h.upd.cfg.PublicKey, appID, 0, time.Time{})
	if err != nil {
		h.log.Warn("saved release document does not verify; ignoring it", "app", appID, "err", err)
		return nil
	}
	return doc
}

// check fetches and verifies the release document and saves it.
func (h *Host) check(ctx context.Context, appID string, rec **CheckRecord) updater.CheckResult {
	u := h.upd
	began := time.Now()
	st, _ := u.store.Load(appID)
	doc, env, err := u.client.FetchDocument(ctx, appID, st.LastSequence)
	r := &CheckRecord{Duration: time.Since(began), Result: "ok"}
	if rec != nil {
		*rec = r
	}
	if err != nil {
		r.Result, r.Error = "failed", err.Error()
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			r.Result = "timeout"
		}
		return updater.CheckResult{Err: err, ClientID: u.clientID}
	}
	r.Sequence = doc.Sequence
	if rel := doc.LatestFor(u.clientID); rel != nil {
		r.Latest = rel.Version
	}
	if err := u.store.Update(appID, func(s *updater.AppState) error {
		if doc.Sequence >= s.LastSequence {
			s.LastDocument, s.LastSequence = env, doc.Sequence
		}
		return nil
	}); err != nil {
		h.log.Warn("save release document", "app", appID, "err", err)
	}
	return updater.CheckResult{Doc: doc, ClientID: u.clientID}
}

// applyPending stores the outcome's pending flag (rule S6).
func (h *Host) applyPending(appID string, out updater.Outcome) {
	if out.SetPending || out.ClearPending {
		if err := h.upd.store.SetPending(appID, out.SetPending); err != nil {
			h.log.Warn("set pending", "app", appID, "err", err)
		}
	}
}

func (d *Decision) noteOutcome(out updater.Outcome) {
	d.Action, d.OutcomeRules, d.OutcomeReason = string(out.Action), out.Rules, out.Reason
}

// syncLaunch runs the sync table: the check and a download within the
// sync timeout, or a blocked wait. It returns the version to open,
// hasUpdate for onCheckForUpdate, and a download still running.
func (h *Host) syncLaunch(ctx context.Context, appID string, plan updater.Plan, st updater.AppState, d *Decision) (string, bool, *download, error) {
	timeout := plan.Timeout
	if timeout <= 0 {
		timeout = h.upd.cfg.Policy.SyncTimeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := h.check(sctx, appID, &d.Check)
	out := updater.DecideSync(plan, st.Local(), res)
	if plan.Mode == updater.ModeAsync {
		out = updater.DecideAsync(plan, st.Local(), res)
	}
	d.noteOutcome(out)
	h.applyPending(appID, out)
	switch out.Action {
	case updater.ActionOpenLocal:
		if res.Err != nil {
			d.Fallback = "check " + d.Check.Result + ": " + d.Check.Error
		}
		return out.Open, false, nil, nil
	case updater.ActionOpenLocalDownloadBackground:
		d.Fallback = out.Reason
		return out.Open, true, h.download(appID, out.Download), nil
	case updater.ActionDownloadThenOpen:
		dl := h.download(appID, out.Download)
		select {
		case <-dl.done:
			d.Download = dl.record("")
			if dl.err == nil {
				h.applyPending(appID, updater.Outcome{ClearPending: true})
				return dl.rel.Version, false, nil, nil
			}
			next := updater.AfterDownloadFailure(out, dl.err)
			d.noteOutcome(next)
			d.Fallback = next.Reason
			return next.Open, true, dl, nil
		case <-sctx.Done():
			d.Download = dl.record("timeout")
			next := updater.AfterDownloadFailure(out, context.DeadlineExceeded)
			d.noteOutcome(next)
			d.Fallback = next.Reason
			return next.Open, true, dl, nil
		}
	case updater.ActionBlocked:
		v, err := h.waitBlocked(ctx, appID, out, d)
		if err != nil {
			return "", false, nil, err
		}
		h.applyPending(appID, updater.Outcome{ClearPending: true})
		return v, false, nil, nil
	}
	return "", false, nil, fmt.Errorf("unexpected launch action %q", out.Action)
}

// waitBlocked retries, with capped backoff and jitter, until a version may
// open: it downloads the release the policy names, or checks again.
func (h *Host) waitBlocked(ctx context.Context, appID string, out updater.Outcome, d *Decision) (string, error) {
	u := h.upd
	backoff := u.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		d.BlockedAttempts = attempt
		h.emitFor(appID, "", Event{Event: EventBlocked, Attempt: attempt, Message: out.Reason})
		if out.Download != nil {
			dl := h.download(appID, out.Download)
			key := appID
			h.setProgress(key, func(done, total int64) {
				h.emitFor(appID, "", Event{Event: EventBlocked, Attempt: attempt, Bytes: done, Total: total, Message: "downloading " + dl.rel.Version})
			})
			select {
			case <-dl.done:
			case <-ctx.Done():
			}
			h.setProgress(key, nil)
			if ctx.Err() != nil {
				return "", fmt.Errorf("blocked: %s: %w", out.Reason, ctx.Err())
			}
			d.Download = dl.record("")
			if dl.err == nil {
				return dl.rel.Version, nil
			}
			h.emitFor(appID, "", Event{Event: EventBlocked, Attempt: attempt, Message: "download failed: " + dl.err.Error()})
		}
		if err := sleepCtx(ctx, jitter(backoff)); err != nil {
			return "", fmt.Errorf("blocked: %s: %w", out.Reason, err)
		}
		backoff = min(2*backoff, u.cfg.RetryMax)
		st, err := u.store.Load(appID)
		if err != nil {
			return "", err
		}
		cctx, cancel := context.WithTimeout(ctx, DefaultBackgroundTimeout)
		res := h.check(cctx, appID, &d.Check)
		cancel()
		plan := updater.Decide(st.Local(), h.lastDocument(appID, st), u.cfg.Policy, u.clock.Now())
		out = updater.DecideSync(plan, st.Local(), res)
		d.noteOutcome(out)
		h.applyPending(appID, out)
		switch out.Action {
		case updater.ActionOpenLocal, updater.ActionOpenLocalDownloadBackground:
			return out.Open, nil
		case updater.ActionDownloadThenOpen:
			// Something may open now; still fetch the newer one first.
			out.Action, out.Blocked = updater.ActionBlocked, false
		}
	}
}

// jitter spreads d by up to ±20% so that many clients do not retry in step.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*mrand.Float64()))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// checkInBackground is the async launch's check (rules A1, A2).
func (h *Host) checkInBackground(a *App, plan updater.Plan) {
	a.goWork(func(ctx context.Context) {
		cctx, cancel := context.WithTimeout(ctx, DefaultBackgroundTimeout)
		res := h.check(cctx, a.id, nil)
		cancel()
		st, _ := h.upd.store.Load(a.id)
		out := updater.DecideAsync(plan, st.Local(), res)
		h.applyPending(a.id, out)
		a.reportCheck(out.HasUpdate)
		switch out.Action {
		case updater.ActionDownloadBackground:
			h.finishDownload(ctx, a, h.download(a.id, out.Download), out.Prompt)
		case updater.ActionSwitchOnRestart:
			h.prepareInstalled(ctx, a, out.Switch, true)
		}
	})
}

// finishDownload waits for dl (retrying a failed background download),
// then compiles it in the app's sandbox: ready or failed. prompt asks the
// user to restart once ready (the running version may not be used: M2, R1).
func (h *Host) finishDownload(ctx context.Context, a *App, dl *download, prompt bool) {
	backoff := h.upd.cfg.RetryMin
	for attempt := 1; ; attempt++ {
		select {
		case <-dl.done:
		case <-ctx.Done():
			return
		case <-a.done:
			return
		}
		if dl.err == nil {
			break
		}
		if attempt >= DefaultBackgroundAttempts {
			a.reportFailed(fmt.Sprintf("download %s: %v", dl.rel.Version, dl.err))
			return
		}
		if sleepCtx(ctx, jitter(backoff)) != nil {
			return
		}
		backoff = min(2*backoff, h.upd.cfg.RetryMax)
		dl = h.download(a.id, dl.rel)
	}
	h.prepareInstalled(ctx, a, dl.rel.Version, prompt)
}

// prepareInstalled compiles an installed version for applyUpdate.
func (h *Host) prepareInstalled(ctx context.Context, a *App, v string, prompt bool) {
	ver, err := h.readVersion(a.id, v)
	if err != nil {
		a.reportFailed(err.Error())
		return
	}
	a.reportReady(ctx, ver)
	if prompt {
		a.enqueue(func(context.Context) {
			if a.upd.ready == nil || a.upd.ready.ver.v != v {
				return
			}
			a.emit(Event{Event: EventModal, Message: "restart to update"})
			a.uiWG.Add(1)
			go func() {
				defer a.uiWG.Done()
				h.cfg.UI.ShowModal(a.id, restartModal(v), func(confirm bool) {
					if confirm {
						a.requestRestart()
					}
					// Declining leaves pending set: the next cold start is sync.
				})
			}()
		})
	}
}

// openVersion launches an installed version and records it as used.
func (h *Host) openVersion(ctx context.Context, appID, v string, opts LaunchOptions) (*App, error) {
	ver, err := h.readVersion(appID, v)
	if err != nil {
		return nil, err
	}
	a, err := h.newApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	a.upd.enabled = true
	a.onSwap = func(nv string) { h.activated(appID, nv) }
	reason := opts.Reason
	if reason == "" {
		reason = "launch"
	}
	if err := a.start(ctx, ver, reason); err != nil {
		// When ctx has ended, Close aborts the callback still running.
		a.Close(ctx)
		return nil, err
	}
	h.activated(appID, v)
	return a, nil
}

// activated records v as the active, just used version; pending clears
// when the active version reaches the latest known one.
func (h *Host) activated(appID, v string) {
	u := h.upd
	now := u.clock.Now()
	var last *updater.Document
	err := u.store.Update(appID, func(s *updater.AppState) error {
		s.Active, s.LastUsed = v, now
		if doc := h.lastDocument(appID, *s); doc != nil {
			last = doc
			if rel := doc.LatestFor(u.clientID); rel != nil && rel.Version == v {
				s.Pending = false
			}
		}
		return nil
	})
	if err != nil {
		h.log.Warn("record launch", "app", appID, "err", err)
		return
	}
	if err := u.store.Prune(appID, last, v); err != nil {
		h.log.Warn("prune old versions", "app", appID, "err", err)
	}
}

// readVersion loads an installed version's manifest and entry module.
func (h *Host) readVersion(appID, v string) (version, error) {
	dir := h.upd.store.PackageDir(appID, v)
	b, err := h.readBounded(filepath.Join(dir, mpk.ManifestName), 1<<20)
	if err != nil {
		return version{}, fmt.Errorf("open %s %s: %w", appID, v, err)
	}
	m, err := mpk.ParseManifest(b)
	if err != nil {
		return version{}, fmt.Errorf("open %s %s: %w", appID, v, err)
	}
	if m.AppID != appID || m.Version != v {
		return version{}, fmt.Errorf("open %s %s: installed package says %s %s", appID, v, m.AppID, m.Version)
	}
	wasm, err := h.readBounded(filepath.Join(dir, filepath.FromSlash(m.Entry)), mpk.DefaultMaxFileSize)
	if err != nil {
		return version{}, fmt.Errorf("open %s %s: %w", appID, v, err)
	}
	return version{v: v, dir: dir, wasm: wasm}, nil
}

func restartModal(v string) runtime.Modal {
	return runtime.Modal{Title: "Update", Content: "Version " + v + " is ready and the version running can no longer be used. Restart now?", ShowCancel: true, ConfirmText: "Restart", CancelText: "Later"}
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

// download is one package download and install, shared by everyone who
// asks for the same app and version meanwhile.
type download struct {
	rel   *updater.Release
	done  chan struct{}
	began time.Time
	took  time.Duration
	bytes int64
	err   error
}

func (dl *download) record(result string) *DownloadRecord {
	r := &DownloadRecord{Version: dl.rel.Version, Result: result}
	select {
	case <-dl.done:
		r.Bytes, r.Duration = dl.bytes, dl.took
		if r.Result == "" {
			r.Result = "ok"
		}
		if dl.err != nil {
			r.Result, r.Error = "failed", dl.err.Error()
		}
	default:
		r.Duration = time.Since(dl.began)
	}
	return r
}

// download starts (or joins) the download and install of rel. It runs on
// a host goroutine and carries on when the caller stops waiting.
func (h *Host) download(appID string, rel *updater.Release) *download {
	u := h.upd
	key := appID + "@" + rel.Version
	u.mu.Lock()
	if dl, ok := u.downloads[key]; ok {
		u.mu.Unlock()
		return dl
	}
	dl := &download{rel: rel, done: make(chan struct{}), began: time.Now()}
	u.downloads[key] = dl
	u.mu.Unlock()
	finish := func() {
		dl.took = time.Since(dl.began)
		u.mu.Lock()
		delete(u.downloads, key)
		u.mu.Unlock()
		close(dl.done)
	}
	started := h.goBackground(func(ctx context.Context) {
		defer finish()
		dl.bytes, dl.err = h.downloadAndInstall(ctx, appID, rel)
	})
	if !started {
		dl.err = fmt.Errorf("download %s %s: host is closed", appID, rel.Version)
		finish()
	}
	return dl
}

func (h *Host) downloadAndInstall(ctx context.Context, appID string, rel *updater.Release) (int64, error) {
	u := h.upd
	if st, err := u.store.Load(appID); err == nil {
		for _, iv := range st.Installed {
			if iv.Version == rel.Version && iv.Verified {
				return 0, nil // prefetched already
			}
		}
	}
	dir := filepath.Join(h.cfg.Home, "downloads", appID)
	if err := h.cfg.Fs.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("download %s %s: %w", appID, rel.Version, err)
	}
	path := filepath.Join(dir, rel.Version+mpk.Ext+".part")
	cctx, cancel := context.WithTimeout(ctx, DefaultBackgroundTimeout)
	defer cancel()
	n, err := u.client.Download(cctx, rel, path)
	if err != nil {
		return n, err
	}
	err = u.store.Install(appID, rel.Version, path, rel.SHA256, func(dst string) error {
		f, err := h.cfg.Fs.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		p, err := mpk.Open(f, rel.Size, mpk.Limits{})
		if err != nil {
			return err
		}
		defer p.Close()
		if p.Manifest.AppID != appID || p.Manifest.Version != rel.Version {
			return fmt.Errorf("package says %s %s, release document says %s %s", p.Manifest.AppID, p.Manifest.Version, appID, rel.Version)
		}
		return p.Extract(h.cfg.Fs, dst)
	})
	if rerr := h.cfg.Fs.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		h.log.Warn("remove downloaded package", "path", path, "err", rerr)
	}
	return n, err
}

func (u *updates) setProgress(key string, fn func(done, total int64)) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if fn == nil {
		delete(u.progress, key)
	} else {
		u.progress[key] = fn
	}
}

func (h *Host) setProgress(key string, fn func(done, total int64)) { h.upd.setProgress(key, fn) }

// onProgress forwards download progress to a blocked launch of the app,
// at most every 5% of the package.
func (u *updates) onProgress(rel *updater.Release, done, total int64) {
	appID := appOfPath(rel.Path)
	step := done * 20 / max(total, 1)
	u.mu.Lock()
	fn := u.progress[appID]
	report := fn != nil && step != u.lastStep[appID]
	u.lastStep[appID] = step
	u.mu.Unlock()
	if report {
		fn(done, total)
	}
}

// appOfPath extracts the app id from a package path
// "apps/<app>/packages/<v>.mpk".
func appOfPath(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) >= 2 && parts[0] == "apps" {
		return parts[1]
	}
	return ""
}
