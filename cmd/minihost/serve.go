package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
)

const serveSynopsis = `--data DIR --key KEYFILE [--addr HOST:PORT] [--token T]

Runs a release server: it stores published packages in DIR and serves each
app's signed release document and packages. Uploads are compiled before
they are published, so a module no host can run is refused. The admin API
(publish, settings, revert, versions) needs a bearer token: --token, or
MINIHOST_TOKEN (several tokens, comma-separated, for rotation). Without one
the admin API is disabled. The same token logs in to the dashboard at
/dashboard/ (apps, versions, rollout, settings, revert, and the adoption the
server saw). Stops gracefully on Ctrl-C.`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", serveSynopsis,
		"openssl rand -hex 16 >admin.token && minihost keygen -o release.key && MINIHOST_TOKEN=$(cat admin.token) minihost serve --data releases --key release.key", stderr)
	data := fs.String("data", "", "data folder (created if missing)")
	addr := fs.String("addr", "127.0.0.1:8700", "address to listen on")
	keyFile := fs.String("key", "", "private key file written by minihost keygen (not its .pub)")
	token := fs.String("token", "", "admin bearer token(s), comma-separated (default $MINIHOST_TOKEN)")
	lifetime := fs.Duration("lifetime", updater.DefaultDocumentLifetime, "validity of signed release documents")
	quiet := fs.Bool("quiet", false, "log warnings and errors only")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(fs, stderr, "takes no arguments")
	}
	if *data == "" || *keyFile == "" {
		return usageError(fs, stderr, "--data and --key are required")
	}
	key, err := release.LoadPrivateKey(*keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "minihost serve: %v\n", err)
		return 1
	}
	tokens := splitTokens(*token)
	if len(tokens) == 0 {
		tokens = splitTokens(os.Getenv("MINIHOST_TOKEN"))
	}
	level := slog.LevelInfo
	if *quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	val, err := newRuntimeValidator(runtime.Config{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "minihost serve: %v\n", err)
		return 1
	}
	defer closeWithin(val.Close)
	srv, err := release.New(release.Config{
		DataDir:          *data,
		Key:              key,
		Validator:        val,
		Tokens:           tokens,
		DocumentLifetime: *lifetime,
		Logger:           log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "minihost serve: %v\n", err)
		return 1
	}
	defer closeWithin(srv.Close)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "minihost serve: %v\n", err)
		return 1
	}
	pub := srv.PublicKey()
	fmt.Fprintf(stdout, "minihost: serving releases at http://%s/ (data %s)\n", ln.Addr(), *data)
	fmt.Fprintf(stdout, "public key (key id %s): %s\n", updater.KeyID(pub), updater.EncodePublicKey(pub))
	if len(tokens) == 0 {
		fmt.Fprintln(stdout, "admin API and dashboard disabled: no token (set MINIHOST_TOKEN or --token)")
	} else {
		fmt.Fprintf(stdout, "dashboard: http://%s/dashboard/ (log in with the admin token)\n", ln.Addr())
	}
	if err := srv.Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "minihost serve: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "minihost: release server stopped")
	return 0
}

// splitTokens splits a comma-separated token list, dropping blanks.
func splitTokens(s string) []string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
