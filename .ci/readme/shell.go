package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// blockMark starts a block's output in the log; the run's one shell prints
// it, so the output since the last one is the failing block's.
const blockMark = "\x1eREADME-CI-BLOCK "

// prelude runs before the first block. bounded runs a command under a
// timeout; a command still running then (timeout's status 124) is done.
const prelude = `set -e
umask 077
__ci_root=$PWD
__ci_bounded() {
	local d=$1 rc=0; shift
	timeout -k 2s "$d" "$@" || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 124 ] || return "$rc"
}
`

// script is the one bash script the blocks run as.
func script(blocks []block) string {
	var s strings.Builder
	s.WriteString(prelude)
	for i, b := range blocks {
		if b.skip != "" {
			continue
		}
		fmt.Fprintf(&s, "printf '\\n%s%d\\n'\ncd \"$__ci_root\"\n", blockMark, i)
		if b.timeout > 0 {
			// coreutils timeout takes seconds, not Go's "2m0s".
			fmt.Fprintf(&s, "minihost() { __ci_bounded %gs minihost \"$@\"; }\n", b.timeout.Seconds())
		}
		s.WriteString(b.text)
		if b.timeout > 0 {
			s.WriteString("unset -f minihost\n")
		}
	}
	fmt.Fprintf(&s, "printf '\\n%sdone\\n'\n", blockMark)
	return s.String()
}

// runShell runs the blocks in dir and stops every process they started.
func runShell(ctx context.Context, blocks []block, dir string, env []string, work string) error {
	path := filepath.Join(work, "readme.sh")
	if err := os.WriteFile(path, []byte(script(blocks)), 0o644); err != nil {
		return err
	}
	logPath := filepath.Join(work, "readme.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("bash", path)
	// Output goes to a file: a background server keeps its copy of the
	// descriptor open, and a pipe would never reach EOF.
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var runErr error
	select {
	case runErr = <-done:
	case <-ctx.Done():
		runErr = fmt.Errorf("still running after the runner's -timeout: %w", ctx.Err())
	}
	stopGroup(cmd.Process.Pid)
	if runErr != nil && ctx.Err() != nil {
		<-done
	}
	out, err := os.ReadFile(logPath)
	if err != nil {
		return err
	}
	parts := splitLog(string(out))
	for _, p := range parts {
		if p.idx >= 0 {
			fmt.Printf("readme: ran %v\n", blocks[p.idx])
		}
	}
	last := parts[len(parts)-1]
	if runErr == nil && last.idx == -2 {
		fmt.Printf("readme: shell took %v\n", time.Since(started).Round(100*time.Millisecond))
		return nil
	}
	if runErr == nil {
		runErr = errors.New("the shell stopped before the last block")
	}
	if last.idx < 0 {
		return fmt.Errorf("before the first block: %v\n%s", runErr, last.out)
	}
	b := blocks[last.idx]
	return fmt.Errorf("%v failed: %v\n--- the block\n%s--- its output\n%s", b, runErr, b.text, last.out)
}

type logPart struct {
	idx int // the block's index; -1 before the first, -2 after the last
	out string
}

// splitLog cuts the shell's output at the block marks.
func splitLog(log string) []logPart {
	parts := []logPart{{idx: -1}}
	for _, line := range strings.SplitAfter(log, "\n") {
		if rest, ok := strings.CutPrefix(line, blockMark); ok {
			idx := -2
			if n, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil {
				idx = n
			}
			parts = append(parts, logPart{idx: idx})
			continue
		}
		parts[len(parts)-1].out += line
	}
	return parts
}
