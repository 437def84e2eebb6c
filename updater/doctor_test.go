package updater

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// installValid installs real packages of the versions of appID (a valid
// app.json, an entry module and an asset) with InstallRelease.
func installValid(t *testing.T, s *Store, appID string, versions ...string) {
	t.Helper()
	installReleases(t, s, appID, versions...)
}

// checkOne runs Store.Check on appID alone and returns its report.
func checkOne(t *testing.T, s *Store, appID string, repair bool) (*CheckReport, error) {
	t.Helper()
	reps, err := s.Check(t.Context(), repair, appID)
	if len(reps) != 1 {
		t.Fatalf("Check(%s) returned %d reports (%v)", appID, len(reps), err)
	}
	return reps[0], err
}

func TestDoctorCheck(t *testing.T) {
	const app = "demo.app"
	mkdir := func(t *testing.T, p string) {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(t *testing.T, p, data string) {
		mkdir(t, filepath.Dir(p))
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		damage     func(t *testing.T, appDir string)
		want       []string
		wantActive string // after repair
		wantKept   []string
	}{
		{name: "clean", damage: func(*testing.T, string) {}, wantActive: "1.1.0", wantKept: []string{"1.0.0", "1.1.0"}},
		{
			name: "leftovers",
			damage: func(t *testing.T, appDir string) {
				write(t, filepath.Join(appDir, ".state.json.tmp-123"), "{")
				write(t, filepath.Join(appDir, "versions", ".install-1.2.0-9", "pkg", "app.json"), "{")
				write(t, filepath.Join(appDir, "versions", "2.0.0", "app.json"), "{}")
				write(t, filepath.Join(appDir, "files", "3.0.0.json"), "{}")
				write(t, filepath.Join(appDir, "files", ".1.1.0.json.tmp-4"), "")
			},
			want:       []string{problemTempFile, problemTempFile, problemOrphanVersion, problemTempFile, problemOrphanFileList},
			wantActive: "1.1.0", wantKept: []string{"1.0.0", "1.1.0"},
		},
		{
			name: "missing old version",
			damage: func(t *testing.T, appDir string) {
				os.RemoveAll(filepath.Join(appDir, "versions", "1.0.0"))
			},
			want:       []string{problemMissingVersion},
			wantActive: "1.1.0", wantKept: []string{"1.1.0"},
		},
		{
			name: "active version damaged",
			damage: func(t *testing.T, appDir string) {
				write(t, filepath.Join(appDir, "versions", "1.1.0", "app.wasm"), "\x00asm")
			},
			want:       []string{problemIncompleteVersion, problemActiveNotInstalled},
			wantActive: "1.0.0", wantKept: []string{"1.0.0"},
		},
		{
			name: "active version has an extra file",
			damage: func(t *testing.T, appDir string) {
				write(t, filepath.Join(appDir, "versions", "1.1.0", "extra"), "x")
			},
			want:       []string{problemIncompleteVersion, problemActiveNotInstalled},
			wantActive: "1.0.0", wantKept: []string{"1.0.0"},
		},
		{
			name: "no file list, folder checks out",
			damage: func(t *testing.T, appDir string) {
				os.Remove(filepath.Join(appDir, "files", "1.0.0.json"))
			},
			want:       []string{problemNoFileList},
			wantActive: "1.1.0", wantKept: []string{"1.0.0", "1.1.0"},
		},
		{
			name: "no file list, app.json lost",
			damage: func(t *testing.T, appDir string) {
				os.Remove(filepath.Join(appDir, "files", "1.1.0.json"))
				os.Remove(filepath.Join(appDir, "versions", "1.1.0", "app.json"))
			},
			want:       []string{problemIncompleteVersion, problemActiveNotInstalled},
			wantActive: "1.0.0", wantKept: []string{"1.0.0"},
		},
		{
			name: "state does not parse",
			damage: func(t *testing.T, appDir string) {
				write(t, filepath.Join(appDir, "state.json"), `{"appId": "demo.app", "installed": [`)
			},
			want:       []string{problemBadState},
			wantActive: "1.1.0", wantKept: []string{"1.0.0", "1.1.0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := newTestStore(t)
			installValid(t, s, app, "1.0.0", "1.1.0")
			if err := s.RecordOpen(t.Context(), app, "1.1.0", time.Unix(1, 0), nil, "1.0.0"); err != nil {
				t.Fatal(err)
			}
			appDir := filepath.Join(dir, "apps", app)
			tt.damage(t, appDir)

			rep, err := checkOne(t, s, app, false)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, p := range rep.Problems {
				kinds = append(kinds, p.Kind)
				if p.Repaired {
					t.Errorf("%v repaired without repair", p)
				}
			}
			if !slices.Equal(kinds, tt.want) {
				t.Fatalf("problems %v, want kinds %v", rep.Problems, tt.want)
			}
			if rep.OK() != (len(tt.want) == 0) {
				t.Errorf("OK() = %t with problems %v", rep.OK(), rep.Problems)
			}

			rep, err = checkOne(t, s, app, true)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() || rep.Active != tt.wantActive {
				t.Errorf("repair: active %q, problems %v; want active %s, all repaired", rep.Active, rep.Problems, tt.wantActive)
			}
			rep, err = checkOne(t, s, app, false)
			if err != nil || len(rep.Problems) != 0 {
				t.Fatalf("after repair: %v, %v", rep.Problems, err)
			}
			st, err := s.Load(app)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, iv := range st.Installed {
				kept = append(kept, iv.Version)
			}
			slices.Sort(kept)
			if st.Active != tt.wantActive || !slices.Equal(kept, tt.wantKept) || !slices.Equal(rep.Verified, tt.wantKept) {
				t.Errorf("state after repair: active %q, installed %v, verified %v; want %s, %v", st.Active, kept, rep.Verified, tt.wantActive, tt.wantKept)
			}
			// Nothing but the kept versions stays on disk.
			entries, _ := os.ReadDir(filepath.Join(appDir, "versions"))
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, tt.wantKept) {
				t.Errorf("version folders %v, want %v", names, tt.wantKept)
			}
		})
	}
}

func TestDoctorCheckAllApps(t *testing.T) {
	s, dir := newTestStore(t)
	installValid(t, s, "a.one", "1.0.0")
	installValid(t, s, "b.two", "2.0.0")
	// An app folder without state.json: a first install cut short.
	if err := os.MkdirAll(filepath.Join(dir, "apps", "c.three", "versions", ".install-1.0.0-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	reps, err := s.Check(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range reps {
		ids = append(ids, r.AppID)
	}
	if !slices.Equal(ids, []string{"a.one", "b.two", "c.three"}) || !reps[0].OK() || !reps[1].OK() || reps[2].OK() {
		t.Fatalf("reports %v: %+v", ids, reps)
	}
	reps, err = s.Check(t.Context(), false, "../x", "a.one")
	if err == nil || len(reps) != 1 || reps[0].AppID != "a.one" {
		t.Errorf("Check with a bad app id: %v, %+v; want an error and a.one's report", err, reps)
	}
}
