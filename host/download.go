package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

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
		dl.bytes, dl.err = m.h.downloadAndInstall(ctx, appID, rel, dl.onProgress)
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
		r.Bytes, r.Duration, r.Result = dl.bytes, dl.took, "ok"
		if dl.err != nil {
			r.Result, r.Error = "failed", dl.err.Error()
		}
	default:
		r.Duration, r.Result = time.Since(dl.began), "timeout"
	}
	return r
}

// downloadAndInstall fetches rel into the downloads folder and installs
// it (updater.Store.InstallRelease), each attempt bounded by the policy's
// background timeout. progress (nil: none) receives the download's
// progress, as for updater.Client.Download.
func (h *Host) downloadAndInstall(ctx context.Context, appID string, rel *updater.Release, progress func(done, total int64)) (int64, error) {
	u := h.upd
	st, err := u.store.Load(appID)
	if err != nil {
		return 0, fmt.Errorf("download %s %s: %w", appID, rel.Version, err)
	}
	for _, iv := range st.Installed {
		if iv.Version == rel.Version && iv.Verified {
			return 0, nil // prefetched already
		}
	}
	dir := filepath.Join(h.cfg.Home, "downloads", appID)
	if err := h.cfg.Fs.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("download %s %s: %w", appID, rel.Version, err)
	}
	path := filepath.Join(dir, rel.Version+mpk.Ext+".part")
	cctx, cancel := context.WithTimeout(ctx, u.cfg.Policy.BackgroundTimeout)
	defer cancel()
	n, err := u.client.Download(cctx, rel, path, progress)
	if err != nil {
		return n, err
	}
	err = u.store.InstallRelease(cctx, appID, rel, path)
	if rerr := h.cfg.Fs.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		h.log.Warn("remove downloaded package", "path", path, "err", rerr)
	}
	return n, err
}
