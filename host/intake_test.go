package host_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/runtimetest"
)

var extractionName = regexp.MustCompile(`^(\d+\.\d+\.\d+)-[0-9a-f]{12}$`)

// extractedVersions returns the versions extracted in appDir, sorted.
func extractedVersions(t *testing.T, appDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(appDir)
	require.NoError(t, err)
	var vs []string
	for _, e := range entries {
		if m := extractionName.FindStringSubmatch(e.Name()); m != nil && e.IsDir() {
			vs = append(vs, m[1])
		}
	}
	sort.Strings(vs)
	return vs
}

// extractionOf returns the extraction folder of version v in appDir.
func extractionOf(t *testing.T, appDir, v string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(appDir, v+"-*"))
	require.NoError(t, err)
	require.Len(t, matches, 1, "extractions of %s", v)
	return matches[0]
}

func setAge(t *testing.T, path string, age time.Duration) {
	t.Helper()
	when := time.Now().Add(-age)
	require.NoError(t, os.Chtimes(path, when, when))
}

// TestIntakeLaunchPackagePrunesExtractions: packages run from a file were
// extracted into home/packages/APPID/VERSION-HASH and never removed.
// LaunchPackage keeps the 3 most recently launched extractions of the app,
// and any a running app uses however old, and removes the others and the
// leftovers of interrupted extractions and removals; other entries stay.
func TestIntakeLaunchPackagePrunesExtractions(t *testing.T) {
	home := t.TempDir()
	h, _ := newHost(t, home, host.Config{})
	appDir := filepath.Join(home, "packages", "demo.hello")
	pkgs := map[string]string{}
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3"} {
		pkgs[v] = runtimetest.BuildPackage(t, "samples/hello", v)
	}
	launch := func(t *testing.T, v string) *host.App {
		t.Helper()
		a, err := h.LaunchPackage(t.Context(), pkgs[v])
		require.NoError(t, err)
		return a
	}

	// Extractions of earlier runs, older the higher their patch number,
	// and entries pruning must leave or remove.
	for i := range 4 {
		dir := filepath.Join(appDir, fmt.Sprintf("0.1.%d-%012x", i, i))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "assets"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "app.json"), []byte("{}"), 0o644))
		setAge(t, dir, time.Duration(10+i)*time.Hour)
	}
	leftovers := map[string]bool{ // name: removed
		".0.1.9-000000000009.tmp-123":            true,  // an extraction interrupted 2 hours ago
		".0.1.8-000000000008.tmp-456":            false, // an extraction possibly in progress elsewhere
		".0.1.7-000000000007.prune-0123456789ab": true,  // a removal interrupted
		"notes":                                  false, // not an extraction
		"9.9.9-not-hex":                          false,
	}
	for name := range leftovers {
		require.NoError(t, os.MkdirAll(filepath.Join(appDir, name, "x"), 0o755))
	}
	setAge(t, filepath.Join(appDir, ".0.1.9-000000000009.tmp-123"), 2*time.Hour)

	var first *host.App // runs from 1.0.0 until the last step
	steps := []struct {
		name string
		do   func(t *testing.T)
		want []string // extracted versions after the step
	}{
		{name: "the first launch keeps the two newest earlier ones", do: func(t *testing.T) {
			first = launch(t, "1.0.0")
			for name, removed := range leftovers {
				_, err := os.Stat(filepath.Join(appDir, name))
				require.Equal(t, removed, os.IsNotExist(err), "%s: want removed %v, stat says %v", name, removed, err)
			}
			setAge(t, extractionOf(t, appDir, "1.0.0"), 100*time.Hour) // now the oldest
		}, want: []string{"0.1.0", "0.1.1", "1.0.0"}},
		{name: "the oldest stays while an app runs from it", do: func(t *testing.T) {
			for _, v := range []string{"1.0.1", "1.0.2", "1.0.3"} {
				require.NoError(t, launch(t, v).Close(t.Context()))
			}
			require.NoError(t, first.Hide(t.Context()))
			require.NoError(t, first.Show(t.Context()), "the running app lost its folder")
		}, want: []string{"1.0.0", "1.0.1", "1.0.2", "1.0.3"}},
		{name: "once that app closes, the next launch removes it", do: func(t *testing.T) {
			require.NoError(t, first.Close(t.Context()))
			require.NoError(t, launch(t, "1.0.1").Close(t.Context())) // extracted already: reused, marked newest
		}, want: []string{"1.0.1", "1.0.2", "1.0.3"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			require.Equal(t, st.want, extractedVersions(t, appDir))
		})
	}
	// Pruning removed whole folders, and nothing else.
	entries, err := os.ReadDir(appDir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Len(t, names, 3+3, "entries left: %v", names) // 3 extractions, 3 leftovers kept
	for name, removed := range leftovers {
		require.Equal(t, !removed, slices.Contains(names, name), "%s in %v", name, names)
	}
}
