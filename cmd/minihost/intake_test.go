package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/runtimetest"
)

// longVersion returns a valid-looking pre-release version of n bytes.
func longVersion(n int) string { return "1.0.0-" + strings.Repeat("a", n-len("1.0.0-")) }

// TestIntakeBuildRefusesLongVersion: build and pack refuse a version over
// the limit, from -version or from app.json, before compiling anything,
// and write nothing.
func TestIntakeBuildRefusesLongVersion(t *testing.T) {
	long := longVersion(244)
	src := t.TempDir()
	manifest, _ := json.Marshal(map[string]any{"appId": "test.tiny", "version": long, "abi": 1, "entry": "app.wasm"})
	writeFiles(t, src, map[string]string{"app.json": string(manifest), "app.wasm": "\x00asm\x01\x00\x00\x00", "main.go": "package main\n"})
	out := filepath.Join(t.TempDir(), "x.mpk")
	says := []string{`field "version"`, "244 bytes exceeds the limit of 64"}
	checkRefusals(t, out, []refusal{
		{name: "build -version", args: []string{"build", tinyGuest, "-version", long, "-o", out}, code: 2, stderr: []string{"-version \"1.0.0-a", "244 bytes exceeds the limit of 64"}},
		{name: "build, version in app.json", args: []string{"build", src, "-o", out}, code: 1, stderr: says},
		{name: "pack, version in app.json", args: []string{"pack", src, "-o", out}, code: 1, stderr: says},
	})
}

// TestIntakePublishRefusesLongVersion: publish checks the version rule
// before uploading, for a package made without pack (which would refuse
// it): the server never sees it.
func TestIntakePublishRefusesLongVersion(t *testing.T) {
	t.Setenv("MINIHOST_TOKEN", "tok")
	// A real guest: before the rule, publish got as far as uploading.
	wasm := runtimetest.BuildWasm(t, "samples/hello")
	useTestCompileCache(t) // after runtimetest, whose cache root it moves
	for _, n := range []int{244, 300} {
		long := longVersion(n)
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			pkg := filepath.Join(t.TempDir(), "long.mpk")
			if err := os.WriteFile(pkg, zipPackage(t, "test.tiny", long, wasm), 0o644); err != nil {
				t.Fatal(err)
			}
			// Port 1 on loopback: nothing listens, so an upload attempt
			// would fail with a connection error instead.
			code, _, stderr := relRun(t, "publish", "--server", "http://127.0.0.1:1", pkg)
			if code != 1 || strings.Contains(stderr, "connect") {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			for _, want := range []string{pkg, `field "version"`, "bytes exceeds the limit of 64"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not say %q", stderr, want)
				}
			}
		})
	}
}

// TestIntakeDoctorAfterCrashLeftover: a temporary file of an interrupted
// state write made doctor exit 1 until --repair; the store removes it when
// it opens, so doctor reports the app clean.
func TestIntakeDoctorAfterCrashLeftover(t *testing.T) {
	home := doctorHome(t)
	appDir := filepath.Join(home, "apps", "demo.app")
	for _, name := range []string{".state.json.tmp-123", "files/.1.1.0.json.tmp-4"} {
		if err := os.WriteFile(filepath.Join(appDir, filepath.FromSlash(name)), []byte(`{"appId": "demo.app", "ins`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := relRun(t, "doctor", "--home", home)
	if code != 0 || !strings.Contains(stdout, "demo.app: ok (active 1.1.0; complete versions: 1.0.0 1.1.0)") || strings.Contains(stdout, "temp-file") {
		t.Fatalf("doctor after a crash leftover: exit %d\n%s%s", code, stdout, stderr)
	}
}
