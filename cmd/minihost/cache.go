package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/minihost/minihost/runtime"
)

const cacheSynopsis = `[clean] [--json]

Shows where minihost keeps its caches and how much each holds, or with
"clean" empties them. Every cache lives under one root: $MINIHOST_CACHE,
else "minihost" under the user cache folder. "wazero" holds the modules
this machine compiled (run, dev, serve's upload checks, embedders), at
most runtime.DefaultCacheMaxBytes, least recently used first out; "test"
holds what the project's tests built and compiled. Each is rebuilt on
demand, so cleaning costs only time: the next launch of each app compiles
it again. Go's own build cache ("go env GOCACHE") is not minihost's.`

// cacheInfo is one cache, as cache prints it.
type cacheInfo struct {
	Name     string `json:"name"`
	Dir      string `json:"dir"`
	What     string `json:"what"`
	Entries  int    `json:"entries"`
	Bytes    int64  `json:"bytes"`
	MaxBytes int64  `json:"maxBytes,omitempty"`
}

// cacheReport is what cache prints with --json; clean lists what it
// removed in Caches.
type cacheReport struct {
	Root    string      `json:"root"`
	Cleaned bool        `json:"cleaned"`
	Caches  []cacheInfo `json:"caches"`
}

// knownCaches lists the caches under root. The test ones are
// runtime/runtimetest's (CacheDir and its guest cache), which
// TestCacheKnowsTheTestKit keeps in step. The tests' cache folder from
// before the single root is listed when present and the root is the
// default one, so clean can remove it.
func knownCaches(root string) []cacheInfo {
	caches := []cacheInfo{
		{Name: "compile", Dir: filepath.Join(root, "wazero"), What: "compiled modules", MaxBytes: runtime.DefaultCacheMaxBytes},
		{Name: "test-compile", Dir: filepath.Join(root, "test", "wazero"), What: "modules the tests compiled", MaxBytes: runtime.DefaultCacheMaxBytes},
		{Name: "test-guests", Dir: filepath.Join(root, "test", "guests"), What: "guests the tests built"},
	}
	if base, err := os.UserCacheDir(); err == nil && os.Getenv("MINIHOST_CACHE") == "" {
		old := filepath.Join(base, "minihost-test")
		if st, err := os.Stat(old); err == nil && st.IsDir() {
			caches = append(caches, cacheInfo{Name: "old-test", Dir: old, What: "the tests' caches before they moved under the root"})
		}
	}
	return caches
}

func runCache(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("cache", cacheSynopsis, "minihost cache\n  MINIHOST_CACHE=/tmp/mh minihost cache clean --json", stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	clean := false
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "clean":
		clean = true
	case fs.NArg() > 0:
		return usageError(fs, stderr, fmt.Sprintf("unknown arguments %q; want none or \"clean\"", strings.Join(fs.Args(), " ")))
	}
	rep := cacheReport{Root: runtime.CacheRoot(), Cleaned: clean, Caches: knownCaches(runtime.CacheRoot())}
	var errs []error
	for i := range rep.Caches {
		c := &rep.Caches[i]
		if clean {
			if err := emptyCache(c); err != nil {
				errs = append(errs, fmt.Errorf("clean %s: %w", c.Dir, err))
			}
		} else if err := measureCache(c); err != nil {
			errs = append(errs, fmt.Errorf("measure %s: %w", c.Dir, err))
		}
	}
	if *asJSON {
		if err := printJSON(stdout, rep); err != nil {
			errs = append(errs, err)
		}
	} else {
		printCaches(stdout, rep)
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "minihost cache: %v\n", err)
		return 1
	}
	return 0
}

// printCaches writes rep as text: after clean, what was removed.
func printCaches(w io.Writer, rep cacheReport) {
	fmt.Fprintf(w, "cache root: %s (set $MINIHOST_CACHE to move it)\n", rep.Root)
	verb := ""
	if rep.Cleaned {
		verb = "removed "
	}
	var total int64
	for _, c := range rep.Caches {
		bound := ""
		if c.MaxBytes > 0 && !rep.Cleaned {
			bound = fmt.Sprintf(", bound %s", mib(c.MaxBytes))
		}
		fmt.Fprintf(w, "  %-13s %s%d files, %s%s  %s (%s)\n", c.Name, verb, c.Entries, mib(c.Bytes), bound, c.Dir, c.What)
		total += c.Bytes
	}
	if rep.Cleaned {
		fmt.Fprintf(w, "removed %s in all\n", mib(total))
	} else {
		fmt.Fprintf(w, "%s in all; \"minihost cache clean\" empties every cache\n", mib(total))
	}
}

// mib formats n bytes in MiB, or GiB from 1 GiB on.
func mib(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// measureCache counts c's entries (its visible files: hidden ones are
// bookkeeping) and the size of all its files. A missing folder is empty.
func measureCache(c *cacheInfo) error {
	return walkCache(c.Dir, func(p string, hidden bool, size int64) error {
		if !hidden {
			c.Entries++
		}
		c.Bytes += size
		return nil
	})
}

// emptyCache removes c's files and reports them as its entries and bytes.
// The folders stay: a running host's compile cache writes into its
// version folder (wazero makes it only when the cache opens). The old
// test cache, which nothing uses any more, goes whole.
func emptyCache(c *cacheInfo) error {
	err := walkCache(c.Dir, func(p string, hidden bool, size int64) error {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if !hidden {
			c.Entries++
		}
		c.Bytes += size
		return nil
	})
	if err == nil && c.Name == "old-test" {
		err = os.RemoveAll(c.Dir)
	}
	return err
}

// walkCache calls fn with every regular file under dir, whether it is
// hidden (its name or a folder's below dir starts with a dot) and its size.
func walkCache(dir string, fn func(p string, hidden bool, size int64) error) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile, or never made
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		rel, _ := filepath.Rel(dir, p)
		hidden := strings.Contains("/"+filepath.ToSlash(rel), "/.")
		return fn(p, hidden, info.Size())
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
