package updater

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// ruleCoverage records which tests cover which rules (see covers).
var ruleCoverage = struct {
	sync.Mutex
	byRule map[string][]string
}{byRule: map[string][]string{}}

// covers records that the calling test checks the given rules. Call it
// directly in the Test function (or a t.Run closure inside it): TestMain
// finds the covering tests by looking for these calls.
func covers(t *testing.T, ids ...string) {
	t.Helper()
	ruleCoverage.Lock()
	defer ruleCoverage.Unlock()
	for _, id := range ids {
		if _, ok := ruleByID(id); !ok {
			t.Errorf("covers: no rule %q in Rules", id)
			continue
		}
		ruleCoverage.byRule[id] = append(ruleCoverage.byRule[id], t.Name())
	}
}

func ruleByID(id string) (Rule, bool) {
	for _, r := range Rules() {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// TestMain fails the run when a rule of Rules has no test, unless the rule
// names where it is covered instead. The check runs only when every test
// that calls covers was selected (no -run/-skip filter leaves one out), so
// `go test -run Store` does not fail for want of the policy tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if why, ok := coverageRunComplete(); !ok {
			fmt.Fprintf(os.Stderr, "rule coverage not checked: %s\n", why)
		} else if missing := uncoveredRules(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: rules with no test (add covers(t, ...) to a test, or CoveredElsewhere): %s\n",
				strings.Join(missing, ", "))
			code = 1
		}
	}
	os.Exit(code)
}

func uncoveredRules() []string {
	ruleCoverage.Lock()
	defer ruleCoverage.Unlock()
	var missing []string
	for _, r := range Rules() {
		if r.CoveredElsewhere == "" && len(ruleCoverage.byRule[r.ID]) == 0 {
			missing = append(missing, r.ID+" ("+r.Summary+")")
		}
	}
	return missing
}

// coverageRunComplete reports whether every Test function that calls
// covers ran under the current -run, -skip and -list flags.
func coverageRunComplete() (string, bool) {
	get := func(name string) string {
		if f := flag.Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	if get("test.list") != "" {
		return "-list given", false
	}
	run, skip := get("test.run"), get("test.skip")
	if strings.Contains(run, "/") || strings.Contains(skip, "/") {
		return "-run or -skip selects subtests", false
	}
	names, err := coveringTests(".")
	if err != nil {
		return err.Error(), false
	}
	runRE, err := regexp.Compile(run)
	if err != nil {
		return err.Error(), false
	}
	var skipRE *regexp.Regexp
	if skip != "" {
		if skipRE, err = regexp.Compile(skip); err != nil {
			return err.Error(), false
		}
	}
	for _, n := range names {
		if !runRE.MatchString(n) || (skipRE != nil && skipRE.MatchString(n)) {
			return n + " was not selected", false
		}
	}
	return "", true
}

// coveringTests returns the Test functions in dir's _test.go files whose
// bodies call covers.
func coveringTests(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var names []string
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Body == nil {
				continue
			}
			found := false
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "covers" {
						found = true
					}
				}
				return !found
			})
			if found {
				names = append(names, fn.Name.Name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

func TestRuleTable(t *testing.T) {
	idRE := regexp.MustCompile(`^[A-Z][0-9]+$`)
	seen := map[string]bool{}
	elsewhere := 0
	for _, r := range Rules() {
		if !idRE.MatchString(r.ID) {
			t.Errorf("rule ID %q is not a letter and a number", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("rule ID %s appears twice", r.ID)
		}
		seen[r.ID] = true
		if r.Summary == "" {
			t.Errorf("rule %s has no Summary", r.ID)
		}
		if !strings.HasPrefix(r.Source, "seed: ") && !strings.HasPrefix(r.Source, "DESIGN: ") && !strings.HasPrefix(r.Source, "RATIONALE: ") {
			t.Errorf("rule %s: Source %q does not start with \"seed: \", \"DESIGN: \" or \"RATIONALE: \"", r.ID, r.Source)
		}
		if r.CoveredElsewhere != "" {
			elsewhere++
		}
	}
	// The exceptions are the guest-facing events and the population
	// simulation; anything more means tests are missing here.
	if elsewhere > 6 {
		t.Errorf("%d rules are covered elsewhere; keep the exception list small", elsewhere)
	}
	for _, id := range []string{"S1", "S2", "S3", "S4", "S5", "A1", "A2", "P1", "M1", "M2", "N1", "N2", "R1", "F1"} {
		if !seen[id] {
			t.Errorf("rule %s is missing from Rules", id)
		}
	}
}

func TestRulesReturnsACopy(t *testing.T) {
	r := Rules()
	r[0].ID, r[0].Summary = "X9", "changed"
	if got := Rules()[0]; got.ID == "X9" || got.Summary == "changed" {
		t.Errorf("Rules()[0] = %+v after changing an earlier result", got)
	}
}

func TestRuleCoveringTestsFound(t *testing.T) {
	names, err := coveringTests(".")
	if err != nil {
		t.Fatal(err)
	}
	// This file's own helpers must not count, and the policy tests must.
	for _, want := range []string{"TestDecideMode", "TestDecideSync"} {
		if !slices.Contains(names, want) {
			t.Errorf("coveringTests = %v, missing %s", names, want)
		}
	}
	if slices.Contains(names, "TestRuleTable") {
		t.Errorf("coveringTests counts TestRuleTable, which does not call covers")
	}
}
