package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/updater"
)

// doctorHome makes a home folder with demo.app 1.0.0 and 1.1.0 installed
// (real packages, through Store.InstallRelease), 1.1.0 opened last.
func doctorHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	s, err := updater.OpenStore(updater.StoreConfig{Dir: home})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		src := t.TempDir()
		writeFiles(t, src, map[string]string{
			"app.json": `{"appId": "demo.app", "version": "` + v + `", "abi": 1, "entry": "app.wasm"}`,
			"app.wasm": "\x00asm\x01\x00\x00\x00",
		})
		pkg := filepath.Join(t.TempDir(), v+mpk.Ext)
		if err := mpk.Pack(t.Context(), src, pkg); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(pkg)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		rel := &updater.Release{Version: v, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
			Path: "apps/demo.app/packages/" + v + ".mpk"}
		if err := s.InstallRelease(t.Context(), "demo.app", rel, pkg); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordOpen(t.Context(), "demo.app", "1.1.0", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil); err != nil {
		t.Fatal(err)
	}
	return home
}

func TestDoctorCommand(t *testing.T) {
	useTestCompileCache(t)
	home := doctorHome(t)
	code, stdout, stderr := relRun(t, "doctor", "--home", home)
	if code != 0 || !strings.Contains(stdout, "demo.app: ok (active 1.1.0; complete versions: 1.0.0 1.1.0)") {
		t.Fatalf("clean store: exit %d\n%s%s", code, stdout, stderr)
	}

	// A crash leftover and a damaged active version.
	vdir := filepath.Join(home, "apps", "demo.app", "versions")
	if err := os.MkdirAll(filepath.Join(vdir, ".install-1.2.0-7", "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(vdir, "1.1.0", "app.wasm"), 2); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = relRun(t, "doctor", "--home", home, "demo.app")
	for _, want := range []string{"demo.app: PROBLEMS", "temp-file", "incomplete-version 1.1.0", "app.wasm: 2 bytes, want 8", "active-not-installed", "--repair"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, stdout)
		}
	}
	if code != 1 {
		t.Errorf("doctor with problems: exit %d, want 1", code)
	}
	if _, err := os.Stat(filepath.Join(vdir, ".install-1.2.0-7")); err != nil {
		t.Errorf("doctor without --repair changed the store: %v", err)
	}

	code, stdout, _ = relRun(t, "doctor", "--home", home, "--repair")
	if code != 0 || !strings.Contains(stdout, "demo.app: repaired (active 1.0.0; complete versions: 1.0.0)") ||
		!strings.Contains(stdout, "(repaired)") {
		t.Fatalf("doctor --repair: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = relRun(t, "doctor", "--home", home)
	if code != 0 || !strings.Contains(stdout, "demo.app: ok (active 1.0.0") {
		t.Fatalf("doctor after repair: exit %d\n%s", code, stdout)
	}
	entries, _ := os.ReadDir(vdir)
	if len(entries) != 1 || entries[0].Name() != "1.0.0" {
		t.Errorf("versions after repair: %v, want just 1.0.0", entries)
	}
}

func TestDoctorCommandUsage(t *testing.T) {
	if code, _, _ := relRun(t, "doctor", "--bogus"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, _, stderr := relRun(t, "doctor", "--home", t.TempDir(), "../evil"); code != 1 || !strings.Contains(stderr, "evil") {
		t.Errorf("bad app id: exit %d, %q", code, stderr)
	}
	if code, stdout, _ := relRun(t, "doctor", "--home", t.TempDir()); code != 0 || !strings.Contains(stdout, "no apps") {
		t.Errorf("empty home: exit %d, %q", code, stdout)
	}
}
