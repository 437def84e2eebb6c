package host_test

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minihost/minihost/updater"
)

// covered records which seed rules the tests of this package exercise.
var covered = struct {
	sync.Mutex
	ids map[string][]string
}{ids: map[string][]string{}}

// covers records that t exercises the rules ids. TestMain fails a full run
// when a rule that the updater package leaves to host (CoveredElsewhere
// starting with "host") has no test here.
func covers(t *testing.T, ids ...string) {
	t.Helper()
	covered.Lock()
	defer covered.Unlock()
	for _, id := range ids {
		if !slices.ContainsFunc(updater.Rules(), func(r updater.Rule) bool { return r.ID == id }) {
			t.Fatalf("covers: unknown rule %q", id)
		}
		covered.ids[id] = append(covered.ids[id], t.Name())
	}
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	filtered := flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.skip").Value.String() != ""
	if code == 0 && !filtered {
		var missing []string
		for _, r := range updater.Rules() {
			if strings.HasPrefix(r.CoveredElsewhere, "host") && len(covered.ids[r.ID]) == 0 {
				missing = append(missing, r.ID)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "rules left to host with no covering test: %s\n", strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
}
