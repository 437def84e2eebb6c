package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// The README's nginx blocks serve this tree, which its shell blocks export
// (to public/) from the counter sample's releases.
const (
	readmeRoot = "/srv/minihost/public"
	readmeApp  = "demo.counter"
)

var (
	listenLine = regexp.MustCompile(`(?m)^(\s*)listen\s+[^;]*;`)
	subPath    = regexp.MustCompile(`^location\s+(?:\^~\s+)?(/\S*)\s*\{`)
)

// checkNginx runs "nginx -t" on each nginx block as written, then serves
// the exported tree through it on loopback: the document and a package
// with the headers the README promises, and the app opened through it by
// a fresh client home. A "server" block is the whole site; a "location"
// block goes into a site whose own regex locations would answer 418 if
// they took its paths.
func checkNginx(ctx context.Context, blocks []block, work, clone string, env []string) error {
	if len(blocks) == 0 {
		return nil
	}
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return errors.New("nginx not found: install it (apt-get install nginx-light) to check the README's nginx blocks")
	}
	public := filepath.Join(clone, "public")
	pkgs, _ := filepath.Glob(filepath.Join(public, "apps", readmeApp, "packages", "*.mpk"))
	if len(pkgs) == 0 {
		return fmt.Errorf("no package of %s in %s: the README's blocks should have exported one", readmeApp, public)
	}
	for _, b := range blocks {
		body, base := b.text, "/"
		if m := subPath.FindStringSubmatch(strings.TrimSpace(body)); m != nil {
			base = m[1]
			body = "server {\n    listen 80;\n    root " + filepath.Join(work, "site") + ";\n" +
				"    location ~ /release\\.json$ { return 418; }\n    location ~ \\.mpk$ { return 418; }\n" + body + "}\n"
		} else if !strings.HasPrefix(strings.TrimSpace(body), "server") {
			return fmt.Errorf("nginx %v: want a server block or a location block", b)
		}
		if !strings.Contains(body, readmeRoot) {
			return fmt.Errorf("nginx %v: does not serve %s, the tree the README exports", b, readmeRoot)
		}
		dir := filepath.Join(work, fmt.Sprintf("nginx-%d", b.n))
		if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
			return err
		}
		test, err := nginxCmd(ctx, bin, dir, body, "-t")
		if err != nil {
			return err
		}
		if out, err := test.CombinedOutput(); err != nil {
			return fmt.Errorf("nginx -t on %v: %v\n%s", b, err, out)
		}
		port, err := freePort()
		if err != nil {
			return err
		}
		live := listenLine.ReplaceAllString(body, fmt.Sprintf("${1}listen 127.0.0.1:%d;", port))
		live = strings.ReplaceAll(live, readmeRoot, public)
		url := fmt.Sprintf("http://127.0.0.1:%d%s", port, base)
		if err := serveAndCheck(ctx, bin, dir, live, url, filepath.Base(pkgs[0]), clone, env); err != nil {
			return fmt.Errorf("nginx %v at %s: %w", b, url, err)
		}
		fmt.Printf("readme: nginx %v: nginx -t ok; served the export at %s and opened %s through it\n", b, url, readmeApp)
	}
	return nil
}

// nginxCmd is nginx on a config holding body, with every path in dir.
func nginxCmd(ctx context.Context, bin, dir, body string, args ...string) (*exec.Cmd, error) {
	conf := filepath.Join(dir, "nginx.conf")
	var temps strings.Builder
	v, _ := exec.Command(bin, "-V").CombinedOutput()
	for _, m := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if m == "client_body" || !strings.Contains(string(v), "--without-http_"+m+"_module") {
			fmt.Fprintf(&temps, "    %s_temp_path %s;\n", m, filepath.Join(dir, "tmp"))
		}
	}
	text := fmt.Sprintf("pid %s;\nerror_log %s;\nevents {}\nhttp {\n    access_log off;\n%s%s}\n",
		filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"), temps.String(), body)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	all := append([]string{"-c", conf, "-p", dir, "-e", filepath.Join(dir, "error.log")}, args...)
	return exec.CommandContext(ctx, bin, all...), nil
}

func serveAndCheck(ctx context.Context, bin, dir, body, url, pkg, clone string, env []string) error {
	srv, err := nginxCmd(ctx, bin, dir, body, "-g", "daemon off;")
	if err != nil {
		return err
	}
	// Its own process group, stopped whole: the workers would outlive a
	// killed master.
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		stopGroup(srv.Process.Pid)
		_ = srv.Wait()
	}()
	doc := url + "apps/" + readmeApp + "/release.json"
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if resp, err = http.Get(doc); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nginx did not answer within 10s: %v", err)
		}
	}
	resp.Body.Close()
	if err := wantHeaders(resp, http.StatusOK, "application/json", "no-cache"); err != nil {
		return fmt.Errorf("GET %s: %w", doc, err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"apps/"+readmeApp+"/packages/"+pkg, nil)
	req.Header.Set("Range", "bytes=0-9")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		return err
	} else if resp.Body.Close(); wantHeaders(resp, http.StatusPartialContent, "application/zip", "immutable") != nil {
		return fmt.Errorf("GET %s with a Range: %w", req.URL, wantHeaders(resp, http.StatusPartialContent, "application/zip", "immutable"))
	}
	runCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(runCtx, filepath.Join(envValue(env, "GOPATH"), "bin", "minihost"), "run", "--home", filepath.Join(dir, "home"), "--server", url,
		"--pubkey", "release.key.pub", "--exit-after", "show", readmeApp)
	cmd.Dir, cmd.Env = clone, env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("a client opening %s through nginx: %v\n%s", readmeApp, err, out)
	}
	return nil
}

func wantHeaders(resp *http.Response, status int, ctype, cache string) error {
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != ctype || !strings.Contains(resp.Header.Get("Cache-Control"), cache) {
		return fmt.Errorf("%s, Content-Type %q, Cache-Control %q; want %d, %q, %q", resp.Status,
			resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), status, ctype, cache)
	}
	return nil
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
