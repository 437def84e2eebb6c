package hosttest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/afero"

	"github.com/minihost/minihost/runtime/mpk"
)

// samplePrefix is the import path of this module's sample mini programs.
const samplePrefix = "github.com/minihost/minihost/samples/"

// built is one (sample, version) package, built once per process.
type built struct {
	once  sync.Once
	appID string
	js    bool // a package of JavaScript: it needs the base library
	data  []byte
	err   error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*built{}
)

// buildSample builds sample at version (empty: its app.json's) once per
// process and returns it. Later calls wait for the first one.
func buildSample(ctx context.Context, scratch, sample, version string) (*built, error) {
	key := sample + "@" + version
	buildsMu.Lock()
	b := builds[key]
	if b == nil {
		b = &built{}
		builds[key] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.appID, b.js, b.data, b.err = build(ctx, scratch, sample, version) })
	if b.err != nil {
		// A failed build (a cancelled ctx, a typo) is not cached.
		buildsMu.Lock()
		if builds[key] == b {
			delete(builds, key)
		}
		buildsMu.Unlock()
		return nil, b.err
	}
	return b, nil
}

func build(ctx context.Context, scratch, sample, version string) (appID string, js bool, data []byte, err error) {
	dir, err := sourceDir(ctx, sample)
	if err != nil {
		return "", false, nil, err
	}
	out := filepath.Join(scratch, "build-"+filepath.Base(dir)+"-"+version+".mpk")
	if err := mpk.Build(ctx, dir, out, mpk.BuildOptions{Version: version}); err != nil {
		return "", false, nil, err
	}
	defer os.Remove(out)
	p, err := mpk.OpenFile(out, mpk.Limits{})
	if err != nil {
		return "", false, nil, fmt.Errorf("build %s: %w", sample, err)
	}
	appID, js = p.Manifest.AppID, p.Manifest.Runtime == mpk.RuntimeJS
	p.Close()
	if data, err = os.ReadFile(out); err != nil {
		return "", false, nil, fmt.Errorf("build %s: %w", sample, err)
	}
	return appID, js, data, nil
}

// baseLibrary builds samples/jsbase (once per process) and extracts it
// into dir/jsbase, once per Kit: the base library the Kit's hosts run JS
// packages on (host.Config.BaseLibrary).
func (k *Kit) baseLibrary(ctx context.Context) error {
	if k.base != "" {
		return nil
	}
	b, err := buildSample(ctx, k.dir, "jsbase", "")
	if err != nil {
		return err
	}
	p, err := mpk.Open(bytes.NewReader(b.data), int64(len(b.data)), mpk.Limits{})
	if err != nil {
		return fmt.Errorf("open base library: %w", err)
	}
	defer p.Close()
	dir := filepath.Join(k.dir, "jsbase")
	if err := p.Extract(ctx, afero.NewOsFs(), dir); err != nil {
		return fmt.Errorf("extract base library: %w", err)
	}
	k.base = dir
	return nil
}

// sourceDir resolves a sample name ("counter"), an import path or a
// folder to the folder of its sources, with `go list`, which finds this
// module's samples from any module that requires it (in the module
// cache, a vendor folder or a replace target).
func sourceDir(ctx context.Context, sample string) (string, error) {
	pkg := sample
	if !strings.ContainsAny(sample, `/\.`) {
		pkg = samplePrefix + sample
	} else if fi, err := os.Stat(sample); err == nil && fi.IsDir() {
		return sample, nil
	}
	dir, err := goList(ctx, pkg)
	if err == nil || pkg == sample {
		return dir, err
	}
	// A sample of JavaScript (seed-js) is no Go package: find it in the
	// module's folder.
	mod, merr := goList(ctx, "-m", strings.TrimSuffix(samplePrefix, "/samples/"))
	if merr == nil {
		js := filepath.Join(mod, "samples", sample)
		if _, serr := os.Stat(filepath.Join(js, mpk.ManifestName)); serr == nil {
			return js, nil
		}
	}
	return "", err
}

// goList runs `go list -f {{.Dir}}` with args, for wasip1.
func goList(ctx context.Context, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", append([]string{"list", "-f", "{{.Dir}}"}, args...)...)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("find sample: go list %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
