package release

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/internal/safename"
)

// Adoption: what the server can see of which versions clients run. Each
// document fetch carries the client's running version (wire.VersionHeader,
// and nothing that identifies the client: no id, and the address is never
// stored); each package download names its version. The server counts
// them per app, per version, per hour, in bounded memory, written to
// DATA/adoption.json every adoptionFlushEvery and at Close.
//
// Bounds, so that no client can grow the storage: a count is kept only
// for an app the server has published, and only under a version that app
// has published (anything else, garbage included, counts as
// unknownVersion and is never stored raw); at most adoptionMaxVersions
// versions per app (the least recently counted is dropped) and hours of
// the last adoptionDays days.

const (
	adoptionFileName    = "adoption.json"
	adoptionFormat      = 1
	adoptionDays        = 30
	adoptionMaxVersions = 50
	adoptionFlushEvery  = time.Minute
	// unknownVersion is where fetches without a version this server
	// published are counted (no header, malformed, or never published).
	unknownVersion = "unknown"
)

// adoptionKind is what is counted.
type adoptionKind int

const (
	countFetch    adoptionKind = iota // a document fetch, by running version
	countDownload                     // a package download (its first byte range)
	countPatch                        // a patch download (delta updates), by target version
)

// adoptionCounts are the counters of one hour, or a sum of hours.
type adoptionCounts struct {
	Fetches   int64 `json:"fetches,omitempty"`
	Downloads int64 `json:"downloads,omitempty"`
	Patches   int64 `json:"patches,omitempty"`
}

func (c *adoptionCounts) add(k adoptionKind, n int64) {
	switch k {
	case countFetch:
		c.Fetches += n
	case countDownload:
		c.Downloads += n
	case countPatch:
		c.Patches += n
	}
}

func (c *adoptionCounts) sum(o adoptionCounts) {
	c.Fetches += o.Fetches
	c.Downloads += o.Downloads
	c.Patches += o.Patches
}

// adoptionBucket is one hour's counts; Hour is Unix seconds / 3600.
type adoptionBucket struct {
	Hour int64 `json:"hour"`
	adoptionCounts
}

// adoptionFile is adoption.json: app -> version -> hours, ascending.
type adoptionFile struct {
	Format int                                    `json:"format"`
	Apps   map[string]map[string][]adoptionBucket `json:"apps"`
}

// adoption holds the counts in memory; goroutine-safe.
type adoption struct {
	mu    sync.Mutex
	apps  map[string]map[string][]adoptionBucket
	dirty bool
	// saving serializes writes of the file (flush runs on the flusher
	// goroutine and in Close).
	saving sync.Mutex
	// stopped is closed when the Server's flusher goroutine returns.
	stopped chan struct{}
}

func hourOf(t time.Time) int64 { return t.Unix() / 3600 }

// add counts one k for appID's version ver at now.
func (a *adoption) add(appID, ver string, k adoptionKind, now time.Time) {
	h := hourOf(now)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.apps == nil {
		a.apps = map[string]map[string][]adoptionBucket{}
	}
	vs := a.apps[appID]
	if vs == nil {
		vs = map[string][]adoptionBucket{}
		a.apps[appID] = vs
	}
	bs, ok := vs[ver]
	if !ok && len(vs) >= adoptionMaxVersions {
		delete(vs, leastRecent(vs))
	}
	// A clock that steps back counts into the newest hour: hours stay
	// ascending.
	if n := len(bs); n > 0 && bs[n-1].Hour >= h {
		bs[n-1].add(k, 1)
	} else {
		b := adoptionBucket{Hour: h}
		b.add(k, 1)
		bs = append(prune(bs, h), b)
	}
	vs[ver] = bs
	a.dirty = true
}

// leastRecent returns the version whose newest hour is the oldest (ties:
// the lowest name, so the choice does not depend on map order).
func leastRecent(vs map[string][]adoptionBucket) string {
	var out string
	var last int64
	for _, v := range slices.Sorted(maps.Keys(vs)) {
		bs := vs[v]
		h := int64(0)
		if len(bs) > 0 {
			h = bs[len(bs)-1].Hour
		}
		if out == "" || h < last {
			out, last = v, h
		}
	}
	return out
}

// prune drops the hours before the window that ends at hour now.
func prune(bs []adoptionBucket, now int64) []adoptionBucket {
	from := now - adoptionDays*24 + 1
	i := 0
	for i < len(bs) && bs[i].Hour < from {
		i++
	}
	return bs[i:]
}

// appAdoption is what Status and the dashboard read of one app.
type appAdoption struct {
	// total is per version over the window.
	total map[string]adoptionCounts
	// days are per version the window's days, oldest first, each 24
	// hours ending at the current one (the last is the last 24 hours);
	// start is the first day's first hour.
	days  [adoptionDays]map[string]adoptionCounts
	start time.Time
}

// snapshot sums appID's counts as of now.
func (a *adoption) snapshot(appID string, now time.Time) *appAdoption {
	h := hourOf(now)
	first := h - adoptionDays*24 + 1
	out := &appAdoption{total: map[string]adoptionCounts{}}
	out.start = time.Unix(first*3600, 0).UTC()
	for i := range out.days {
		out.days[i] = map[string]adoptionCounts{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for v, bs := range a.apps[appID] {
		for _, b := range bs {
			if b.Hour < first || b.Hour > h {
				continue
			}
			d := (b.Hour - first) / 24
			t, dc := out.total[v], out.days[d][v]
			t.sum(b.adoptionCounts)
			dc.sum(b.adoptionCounts)
			out.total[v], out.days[d][v] = t, dc
		}
	}
	return out
}

func adoptionPath(dataDir string) string { return filepath.Join(dataDir, adoptionFileName) }

// flush writes the counts to adoption.json atomically if they changed.
func (a *adoption) flush(fsys afero.Fs, dataDir string) error {
	a.saving.Lock()
	defer a.saving.Unlock()
	a.mu.Lock()
	if !a.dirty {
		a.mu.Unlock()
		return nil
	}
	data, err := json.Marshal(adoptionFile{Format: adoptionFormat, Apps: a.apps})
	a.dirty = false
	a.mu.Unlock()
	if err == nil {
		err = fsutil.WriteFile(fsys, adoptionPath(dataDir), append(data, '\n'), 0o644)
	}
	if err != nil {
		a.mu.Lock()
		a.dirty = true
		a.mu.Unlock()
		return fmt.Errorf("save adoption counts: %w", err)
	}
	return nil
}

// loadAdoption reads adoption.json. A damaged file is set aside (renamed
// to adoption.json.bad) with a warning, not an error: the counts are
// statistics, and refusing to start would stop a fleet's updates over
// them. state.json, which the updates depend on, is an error instead.
func loadAdoption(fsys afero.Fs, dataDir string, warn func(msg string, args ...any), now time.Time) (*adoption, error) {
	a := &adoption{apps: map[string]map[string][]adoptionBucket{}}
	p := adoptionPath(dataDir)
	data, err := afero.ReadFile(fsys, p)
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load adoption counts: %w", err)
	}
	var f adoptionFile
	err = json.Unmarshal(data, &f)
	if err == nil {
		err = f.check()
	}
	if err != nil {
		bad := p + ".bad"
		warn("adoption counts damaged; set aside, counting from zero", "path", p, "moved to", bad, "err", err)
		if rerr := fsys.Rename(p, bad); rerr != nil {
			return nil, fmt.Errorf("set aside damaged %s: %w", p, rerr)
		}
		return a, nil
	}
	h := hourOf(now)
	for app, vs := range f.Apps {
		for v, bs := range vs {
			if bs = prune(bs, h); len(bs) > 0 {
				vs[v] = bs
			} else {
				delete(vs, v)
			}
		}
		for len(vs) > adoptionMaxVersions {
			delete(vs, leastRecent(vs))
		}
		a.apps[app] = vs
	}
	return a, nil
}

// check validates a file read from disk, naming what is wrong.
func (f *adoptionFile) check() error {
	if f.Format != adoptionFormat {
		return fmt.Errorf("format %d, want %d", f.Format, adoptionFormat)
	}
	for app, vs := range f.Apps {
		if err := safename.AppID(app); err != nil {
			return fmt.Errorf("app %q: %v", app, err)
		}
		if len(vs) > adoptionMaxVersions {
			return fmt.Errorf("app %s: %d versions, limit %d", app, len(vs), adoptionMaxVersions)
		}
		for v, bs := range vs {
			if _, err := mpk.ParseVersion(v); err != nil && v != unknownVersion {
				return fmt.Errorf("app %s: version %q: %v", app, v, err)
			}
			if len(bs) > adoptionDays*24 {
				return fmt.Errorf("app %s version %s: %d hours, limit %d", app, v, len(bs), adoptionDays*24)
			}
			for i, b := range bs {
				if i > 0 && b.Hour <= bs[i-1].Hour {
					return fmt.Errorf("app %s version %s: hours out of order", app, v)
				}
				if b.Fetches < 0 || b.Downloads < 0 || b.Patches < 0 {
					return fmt.Errorf("app %s version %s: negative count", app, v)
				}
			}
		}
	}
	return nil
}
