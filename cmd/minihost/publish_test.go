package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/runtimetest"
)

func TestPublishCommandValidatesLocally(t *testing.T) {
	useTestCompileCache(t)
	t.Setenv("MINIHOST_TOKEN", "tok")
	bad := filepath.Join(t.TempDir(), "bad.mpk")
	os.WriteFile(bad, []byte("not a zip"), 0o644)
	// Port 1 on loopback: nothing listens, so reaching the network would
	// fail differently.
	code, _, stderr := relRun(t, "publish", "--server", "http://127.0.0.1:1", bad)
	if code != 1 || !strings.Contains(stderr, "zip") || strings.Contains(stderr, "connect") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := relRun(t, "publish", "--server", "http://127.0.0.1:1", filepath.Join(t.TempDir(), "none.mpk")); code != 1 || !strings.Contains(stderr, "none.mpk") {
		t.Fatalf("missing file: exit %d, stderr %q", code, stderr)
	}
}

func TestPublishCommandUsage(t *testing.T) {
	pkg := runtimetest.BuildPackage(t, "samples/counter", "1.0.0")
	useTestCompileCache(t) // after runtimetest, whose cache root it moves
	t.Setenv("MINIHOST_TOKEN", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"publish"}, "missing FILE.mpk"},
		{"two files", []string{"publish", pkg, pkg}, "exactly one FILE.mpk"},
		{"rollout out of range", []string{"publish", "--rollout", "120", pkg}, "--rollout 120"},
		{"no token", []string{"publish", pkg}, "MINIHOST_TOKEN"},
		{"bad server URL", []string{"publish", "--token", "t", "--server", "ftp://x", pkg}, "not an http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := relRun(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "usage: minihost publish") {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}

func TestSettingsRevertVersionsCommandUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"settings without changes", []string{"settings", "--token", "t", "demo.counter"}, "nothing to change"},
		{"settings without app", []string{"settings", "--rollout", "5"}, "missing APPID"},
		// Port 1 on loopback: nothing listens, so a request would fail
		// with exit 1 instead.
		{"settings rollout below 0", []string{"settings", "--token", "t", "--server", "http://127.0.0.1:1", "demo.counter", "--rollout", "-1"}, "--rollout -1: want 0 to 100"},
		{"settings rollout above 100", []string{"settings", "--token", "t", "--server", "http://127.0.0.1:1", "demo.counter", "--min-version", "1.0.0", "--rollout", "101"}, "--rollout 101: want 0 to 100"},
		{"revert without --to", []string{"revert", "--token", "t", "demo.counter"}, "--to VERSION"},
		{"versions without app", []string{"versions"}, "missing APPID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := relRun(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "usage: minihost "+tc.args[0]) {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}

// TestSettingsHelpClaimsNoDefault: settings changes only the flags given,
// so its help shows no default for them (a "(default 100)" on --rollout
// read as if leaving it out released the version fully).
func TestSettingsHelpClaimsNoDefault(t *testing.T) {
	code, _, stderr := relRun(t, "settings", "-h")
	if code != 0 {
		t.Fatalf("settings -h: exit %d\n%s", code, stderr)
	}
	for _, tc := range []struct {
		name string
		flag string
	}{
		{"min-version", "-min-version string"},
		{"prefer-local", "-prefer-local string"},
		{"rollout", "-rollout int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, after, ok := strings.Cut(stderr, "  "+tc.flag+"\n")
			if !ok {
				t.Fatalf("no %q in the help:\n%s", tc.flag, stderr)
			}
			if line, _, _ := strings.Cut(after, "\n"); strings.Contains(line, "(default") {
				t.Fatalf("help of %s claims a default: %q", tc.flag, line)
			}
		})
	}
}
