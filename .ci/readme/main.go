// Command readme runs README.md's shell blocks as written, in order, so the
// README cannot rot. All blocks run in one "bash -e", as a reader's one
// terminal would (a variable, a key or a background server of one block
// serves the next); each block starts in the root of a copy of the
// checkout. The machine looks fresh to minihost: a temporary HOME (so
// fresh minihost homes and caches), GOPATH and umask 077, and no minihost
// on PATH; GOCACHE and GOMODCACHE stay shared so Go does not rebuild the
// world. Then the README's nginx blocks are checked with "nginx -t", and
// served on loopback over the tree the blocks exported, and the app is
// opened through each.
//
//	go run ./.ci/readme [-readme README.md] [-timeout 5m] [-keep]
//
// Markers, an HTML comment on the line before a block's fence:
//
//	<!-- ci: timeout 3s -->     each minihost command of the block that is
//	                            still running after 3s is stopped with
//	                            SIGTERM (as Ctrl-C would) and counts as done
//	<!-- ci: skip (why) -->     the block only gets "bash -n"
//
// A block that runs "go test" is the test command, which CI runs anyway:
// it is skipped. The runner exits 1 naming the block that failed, with its
// output; every process the blocks started is stopped at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	readme := flag.String("readme", "README.md", "the README, in the root of the checkout")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound of the whole run")
	keep := flag.Bool("keep", false, "keep the temporary folder")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *readme, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "readme: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, readme string, keep bool) error {
	start := time.Now()
	text, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	shell, nginx, err := parseBlocks(string(text))
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "minihost-readme-*")
	if err != nil {
		return err
	}
	if keep {
		fmt.Printf("readme: working in %s (kept)\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	// A web server running as another user must get to the exported tree.
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	clone := filepath.Join(work, "minihost")
	if err := copyCheckout(filepath.Dir(readme), clone); err != nil {
		return fmt.Errorf("copy the checkout: %w", err)
	}
	env, err := freshEnv(work)
	if err != nil {
		return err
	}
	for _, b := range shell {
		if b.skip == "" {
			continue
		}
		if out, err := exec.CommandContext(ctx, "bash", "-n", "-c", b.text).CombinedOutput(); err != nil {
			return fmt.Errorf("%v (skipped: %s) is not valid bash: %v\n%s", b, b.skip, err, out)
		}
		fmt.Printf("readme: %v skipped: %s\n", b, b.skip)
	}
	if err := runShell(ctx, shell, clone, env, work); err != nil {
		return err
	}
	fmt.Printf("readme: %d shell blocks ran in %v\n", countRun(shell), time.Since(start).Round(100*time.Millisecond))
	if err := checkNginx(ctx, nginx, work, clone, env); err != nil {
		return err
	}
	fmt.Printf("readme: done in %v\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func countRun(bs []block) int {
	n := 0
	for _, b := range bs {
		if b.skip == "" {
			n++
		}
	}
	return n
}

// copyCheckout copies the files git knows (tracked, or untracked and not
// ignored) to dst, as a fresh clone would hold them.
func copyCheckout(root, dst string) error {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, name)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or not a plain file
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		p := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, fi.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// freshEnv is this process's environment as a fresh machine would have it
// for minihost: HOME, GOPATH in work, no MINIHOST_* or XDG_* variable, no
// minihost on PATH, and Go's own settings passed explicitly (a new HOME
// loses the go env file).
func freshEnv(work string) ([]string, error) {
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOSUMDB", "GOTOOLCHAIN", "GOFLAGS").Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	vals := strings.Split(string(goenv), "\n")
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "MINIHOST_") || strings.HasPrefix(k, "XDG_") || strings.HasPrefix(k, "GO") ||
			k == "HOME" || k == "PATH" || k == "TERM" {
			continue
		}
		env = append(env, kv)
	}
	for i, k := range []string{"GOCACHE", "GOMODCACHE", "GOPROXY", "GOSUMDB", "GOTOOLCHAIN", "GOFLAGS"} {
		if i < len(vals) && vals[i] != "" {
			env = append(env, k+"="+vals[i])
		}
	}
	path := []string{filepath.Dir(goBin)}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "minihost")); err == nil || dir == "" {
			continue // a fresh machine has no minihost
		}
		path = append(path, dir)
	}
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	return append(env, "HOME="+home, "GOPATH="+filepath.Join(work, "gopath"), "PATH="+strings.Join(path, string(os.PathListSeparator))), nil
}

// stopGroup stops every process of the process group pgid: SIGTERM, then
// SIGKILL for what is still there after a grace.
func stopGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return // gone already
	}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}
