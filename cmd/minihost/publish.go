package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater/release"
)

const publishSynopsis = `--server URL [--token T] [--rollout PERCENT] [--json] FILE.mpk

Validates FILE.mpk locally, then uploads it to the release server as the
app's latest version (app id and version come from its app.json). With
--rollout below 100 the version starts as a staged rollout. The admin token
comes from --token or MINIHOST_TOKEN.`

func runPublish(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("publish", publishSynopsis, "MINIHOST_TOKEN=$(cat admin.token) minihost publish --server http://127.0.0.1:8700 counter-1.1.0.mpk", stderr)
	server, token := adminFlags(fs)
	rollout := fs.Int("rollout", 100, "share of clients (0-100) that get the new version")
	asJSON := jsonFlag(fs)
	file, code := parseOne(fs, args, stderr, "FILE.mpk")
	if code >= 0 {
		return code
	}
	if *rollout < 0 || *rollout > 100 {
		return usageError(fs, stderr, fmt.Sprintf("--rollout %d: want 0 to 100", *rollout))
	}
	// One open file for the checks and the upload, so that what is
	// uploaded is what was checked; a named pipe is refused, not waited on.
	f, err := mpk.OpenRegular(file)
	if err != nil {
		fmt.Fprintf(stderr, "minihost publish: %v\n", err)
		return 1
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		fmt.Fprintf(stderr, "minihost publish: %v\n", err)
		return 1
	}
	val, err := newRuntimeValidator(runtime.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintf(stderr, "minihost publish: %v\n", err)
		return 1
	}
	defer closeWithin(val.Close)
	m, err := validatePackage(ctx, val, f, st.Size(), file)
	if err != nil {
		fmt.Fprintf(stderr, "minihost publish: %v\n", err)
		return 1
	}
	admin, err := newAdminClient(*server, *token)
	if err != nil {
		return usageError(fs, stderr, err.Error())
	}
	defer admin.Close(ctx)
	// f itself, still at offset 0 (the checks read with ReadAt), so that
	// the admin client sends its length.
	rel, err := admin.Publish(ctx, m.AppID, f, *rollout)
	if err != nil {
		fmt.Fprintf(stderr, "minihost publish: %v\n", err)
		return 1
	}
	res := publishJSON{AppID: m.AppID, Version: rel.Version, Size: rel.Size, SHA256: rel.SHA256,
		Rollout: *rollout, URL: strings.TrimRight(*server, "/") + "/" + strings.TrimLeft(rel.Path, "/")}
	return printResult(stdout, stderr, "publish", *asJSON, res, func(w io.Writer) {
		fmt.Fprintf(w, "published %s %s (%d bytes, sha256 %s, rollout %d%%)\n  %s\n",
			res.AppID, res.Version, res.Size, res.SHA256, res.Rollout, res.URL)
	})
}

// publishJSON is what "publish --json" prints.
type publishJSON struct {
	AppID   string `json:"appId"`
	Version string `json:"version"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Rollout int    `json:"rollout"`
	URL     string `json:"url"` // the package's URL
}

// validatePackage checks the package in r (size bytes, read from path)
// before it is uploaded: the same checks the server makes (zip structure,
// app.json with the version rule of mpk.ParseVersion, paths, sizes, the
// entry is WebAssembly, every file readable), then the entry with v, as
// the server does (serve gives its server the same runtimeValidator). It
// is the hook for further local checks.
func validatePackage(ctx context.Context, v release.Validator, r io.ReaderAt, size int64, path string) (*mpk.Manifest, error) {
	p, err := mpk.Open(r, size, mpk.Limits{})
	if err != nil {
		return nil, fmt.Errorf("open package %s: %w", path, err)
	}
	defer p.Close()
	for _, name := range p.Files() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if _, err := p.ReadFile(name); err != nil {
			return nil, fmt.Errorf("check package %s: %w", path, err)
		}
	}
	// Compile the entry as a host would, so a module that cannot run
	// (not a reactor, not built with the SDK, wrong imports) never ships.
	wasm, err := p.ReadFile(p.Manifest.Entry)
	if err != nil {
		return nil, fmt.Errorf("check package %s: %w", path, err)
	}
	if err := v.Validate(ctx, p.Manifest.AppID, *p.Manifest, wasm); err != nil {
		return nil, fmt.Errorf("check package %s: %w", path, err)
	}
	return p.Manifest, nil
}

// Shared by the admin commands (publish, settings, revert, versions).

// defaultServer is the release server the admin commands talk to unless
// told otherwise: minihost serve's default address.
const defaultServer = "http://127.0.0.1:8700"

// adminFlags defines --server and --token on fs.
func adminFlags(fs *flag.FlagSet) (server, token *string) {
	server = fs.String("server", defaultServer, "release server URL")
	token = fs.String("token", "", "admin bearer token (default $MINIHOST_TOKEN)")
	return server, token
}

// newAdminClient makes an admin client, taking the token from
// MINIHOST_TOKEN when none is given (the first, if it lists several).
func newAdminClient(server, token string) (release.Admin, error) {
	if token == "" {
		if ts := splitTokens(os.Getenv("MINIHOST_TOKEN")); len(ts) > 0 {
			token = ts[0]
		}
	}
	return release.NewAdminClient(release.AdminClientConfig{BaseURL: server, Token: token})
}
