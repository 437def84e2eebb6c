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

	"github.com/minihost/minihost/runtime/mpk"
)

// samplePrefix is the import path of this module's sample mini programs.
const samplePrefix = "github.com/minihost/minihost/samples/"

// built is one (sample, version) package, built once per process.
type built struct {
	once  sync.Once
	appID string
	data  []byte
	err   error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*built{}
)

// buildSample builds sample at version once per process and returns its
// app id and package bytes. Later calls wait for the first one.
func buildSample(ctx context.Context, scratch, sample, version string) (string, []byte, error) {
	key := sample + "@" + version
	buildsMu.Lock()
	b := builds[key]
	if b == nil {
		b = &built{}
		builds[key] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.appID, b.data, b.err = build(ctx, scratch, sample, version) })
	if b.err != nil {
		// A failed build (a cancelled ctx, a typo) is not cached.
		buildsMu.Lock()
		if builds[key] == b {
			delete(builds, key)
		}
		buildsMu.Unlock()
	}
	return b.appID, b.data, b.err
}

func build(ctx context.Context, scratch, sample, version string) (string, []byte, error) {
	dir, err := sourceDir(ctx, sample)
	if err != nil {
		return "", nil, err
	}
	out := filepath.Join(scratch, "build-"+filepath.Base(dir)+"-"+version+".mpk")
	if err := mpk.Build(ctx, dir, out, mpk.BuildOptions{Version: version}); err != nil {
		return "", nil, err
	}
	defer os.Remove(out)
	p, err := mpk.OpenFile(out, mpk.Limits{})
	if err != nil {
		return "", nil, fmt.Errorf("build %s: %w", sample, err)
	}
	appID := p.Manifest.AppID
	p.Close()
	data, err := os.ReadFile(out)
	if err != nil {
		return "", nil, fmt.Errorf("build %s: %w", sample, err)
	}
	return appID, data, nil
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
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.Dir}}", pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("find sample %s: go list %s: %w: %s", sample, pkg, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}
