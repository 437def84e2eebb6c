package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	goversion "github.com/hashicorp/go-version"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
)

// downloads runs package downloads and installs, one per app and version
// at a time: everyone who asks for the same one meanwhile joins it. A
// download runs on a host goroutine, outside any launch's deadline, so a
// sync launch that stops waiting lets it finish for the next cold start.
// Goroutine-safe.
type downloads struct {
	h *Host

	mu      sync.Mutex
	running map[string]*download // by app id + "@" + version
}

// download is one package download and install.
type download struct {
	rel   *updater.Release
	done  chan struct{}
	began time.Time

	// Set before done closes.
	took  time.Duration
	bytes int64
	via   string // how it came: "full", "patch from V", "full after patch from V failed"
	err   error

	mu       sync.Mutex
	progress func(done, total int64) // a blocked launch's, or nil
	lastStep int64
}

// start starts (or joins) the download and install of rel for appID.
func (m *downloads) start(appID string, rel *updater.Release) *download {
	key := appID + "@" + rel.Version
	m.mu.Lock()
	if dl, ok := m.running[key]; ok {
		m.mu.Unlock()
		return dl
	}
	dl := &download{rel: rel, done: make(chan struct{}), began: time.Now()}
	m.running[key] = dl
	m.mu.Unlock()
	finish := func() {
		dl.took = time.Since(dl.began)
		m.mu.Lock()
		delete(m.running, key)
		m.mu.Unlock()
		close(dl.done)
	}
	started := m.h.goBackground(func(ctx context.Context) {
		defer finish()
		dl.bytes, dl.via, dl.err = m.h.downloadAndInstall(ctx, appID, rel, dl.onProgress)
	})
	if !started {
		dl.err = fmt.Errorf("download %s %s: host is %w", appID, rel.Version, ErrClosed)
		finish()
	}
	return dl
}

// onProgress forwards the download's progress to its listener, at most
// every 5% of the package. It is the progress callback dl passes to
// updater.Client.Download; safe for concurrent use with listen.
func (dl *download) onProgress(done, total int64) {
	dl.mu.Lock()
	step := done * 20 / max(total, 1)
	fn := dl.progress
	report := fn != nil && step != dl.lastStep
	dl.lastStep = step
	dl.mu.Unlock()
	if report {
		fn(done, total)
	}
}

// listen sets (or, with nil, clears) the download's progress listener.
func (dl *download) listen(fn func(done, total int64)) {
	dl.mu.Lock()
	dl.progress = fn
	dl.mu.Unlock()
}

// record describes dl for the decision trace; a download still running
// is "timeout" (the launch stopped waiting for it).
func (dl *download) record() *DownloadRecord {
	r := &DownloadRecord{Version: dl.rel.Version}
	select {
	case <-dl.done:
		r.Bytes, r.Duration, r.Result, r.Via = dl.bytes, dl.took, "ok", dl.via
		if dl.err != nil {
			r.Result, r.Error = "failed", dl.err.Error()
		}
	default:
		r.Duration, r.Result = time.Since(dl.began), "timeout"
	}
	return r
}

// downloadAndInstall fetches rel into the downloads folder and installs
// it, each attempt bounded by the policy's background timeout: from a
// patch when rel lists one from a version installed here
// (updater.Store.InstallPatch), and else, or when anything about the patch
// fails, from the package (updater.Store.InstallRelease) in the same
// attempt. It returns the bytes on the wire (patch and package) and the
// way it went, for the decision trace. progress (nil: none) receives the
// download's progress, as for updater.Client.Download.
func (h *Host) downloadAndInstall(ctx context.Context, appID string, rel *updater.Release, progress func(done, total int64)) (int64, string, error) {
	u := h.upd
	st, err := u.store.Load(appID)
	if err != nil {
		return 0, "", fmt.Errorf("download %s %s: %w", appID, rel.Version, err)
	}
	for _, iv := range st.Installed {
		if iv.Version == rel.Version && iv.Verified {
			return 0, "", nil // prefetched already
		}
	}
	dir := filepath.Join(h.cfg.Home, "downloads", appID)
	if err := h.cfg.Fs.MkdirAll(dir, 0o755); err != nil {
		return 0, "", fmt.Errorf("download %s %s: %w", appID, rel.Version, err)
	}
	cctx, cancel := context.WithTimeout(ctx, u.cfg.Policy.BackgroundTimeout)
	defer cancel()
	via, n, patchPart := "full", int64(0), ""
	if p := patchFor(st, rel); p != nil {
		patchPart = filepath.Join(dir, rel.Version+".from-"+p.From+".mpd.part")
		pn, err := h.installPatch(cctx, appID, rel, p, patchPart, progress)
		n += pn
		if err == nil {
			return n, "patch from " + p.From, nil
		}
		if cctx.Err() != nil {
			return n, "patch from " + p.From, err
		}
		h.log.Warn("patch failed, downloading the package", "app", appID, "version", rel.Version, "from", p.From, "err", err)
		via = "full after patch from " + p.From + " failed"
	}
	path := filepath.Join(dir, rel.Version+mpk.Ext+".part")
	pn, err := u.client.Download(cctx, rel, path, progress)
	n += pn
	if err != nil {
		return n, via, err
	}
	err = u.store.InstallRelease(cctx, appID, rel, path)
	h.removeDownload(path, err)
	if err == nil && patchPart != "" {
		h.removeDownload(patchPart, nil) // a partial patch kept for a resume nobody needs now
	}
	return n, via, err
}

// patchFor returns the patch of rel from the newest version installed and
// verified in st that is not marked bad, or nil.
func patchFor(st updater.AppState, rel *updater.Release) *updater.Patch {
	var best *updater.Patch
	var bestV *goversion.Version
	for i, p := range rel.Patches {
		v, err := mpk.ParseVersion(p.From)
		if err != nil || slices.Contains(st.Bad, p.From) || !slices.ContainsFunc(st.Installed, func(iv updater.InstalledVersion) bool {
			return iv.Version == p.From && iv.Verified
		}) {
			continue
		}
		if best == nil || v.GreaterThan(bestV) {
			best, bestV = &rel.Patches[i], v
		}
	}
	return best
}

// installPatch downloads p to path (resuming a partial file there) and
// installs rel from it. A patch whose bytes are wrong is removed, so the
// next attempt starts over; a partial one stays for the next to resume.
func (h *Host) installPatch(ctx context.Context, appID string, rel *updater.Release, p *updater.Patch, path string, progress func(done, total int64)) (int64, error) {
	u := h.upd
	// Client.Download fetches any signed file by size, sha256 and path.
	n, err := u.client.Download(ctx, &updater.Release{Version: rel.Version, Size: p.Size, SHA256: p.SHA256, Path: p.Path}, path, progress)
	if err != nil {
		return n, fmt.Errorf("download patch: %w", err)
	}
	err = u.store.InstallPatch(ctx, appID, rel, p.From, path)
	h.removeDownload(path, err)
	return n, err
}

// removeDownload removes a downloaded file once it was installed from or
// refused (installErr is the install's result, for the log only).
func (h *Host) removeDownload(path string, installErr error) {
	if rerr := h.cfg.Fs.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && installErr == nil {
		h.log.Warn("remove downloaded file", "path", path, "err", rerr)
	}
}
