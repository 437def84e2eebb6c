package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minihost/minihost/updater"
)

// doctorHome makes a home folder with demo.app 1.0.0 and 1.1.0 installed,
// 1.1.0 active.
func doctorHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	s, err := updater.OpenStore(updater.StoreConfig{Dir: home})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		pkg := filepath.Join(t.TempDir(), v+".mpk")
		if err := os.WriteFile(pkg, []byte("stand-in "+v), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte("stand-in " + v))
		err := s.Install("demo.app", v, pkg, hex.EncodeToString(sum[:]), func(dir string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			manifest := `{"appId": "demo.app", "version": "` + v + `", "abi": 1, "entry": "app.wasm"}`
			if err := os.WriteFile(filepath.Join(dir, "app.json"), []byte(manifest), 0o644); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "app.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Activate("demo.app", "1.1.0"); err != nil {
		t.Fatal(err)
	}
	return home
}

func TestDoctorCommand(t *testing.T) {
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
