package mpk_test

import (
	"encoding/json"
	"strings"
	"testing"

	version "github.com/hashicorp/go-version"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/samples/wx/abi"
)

// FuzzParseVersion checks the package version rules against go-version,
// which every version comparison (newer than, minimum, revoked) goes
// through: a version has one spelling, the manifest accepts exactly what
// ParseVersion accepts, and the order is a total order (antisymmetric,
// transitive) in which two spellings are equal only when they differ in
// build metadata alone.
//
//	go test -run '^$' -fuzz '^FuzzParseVersion$' -fuzztime 30s ./runtime/mpk/
func FuzzParseVersion(f *testing.F) {
	for _, s := range [][3]string{
		{"1.0.0", "1.0.1", "2.0.0"},
		{"1.2.3-rc.1", "1.2.3-rc.2", "1.2.3"},
		{"1.2.3-alpha", "1.2.3-alpha.1", "1.2.3-beta"},
		{"1.2.3+build.5", "1.2.3+build.6", "1.2.3-0"},
		{"0.0.0", "10.20.30", "18446744073709551615.0.0"},
		{"v1.0.0", "1.0", "1.0.0.0"},
		{"01.0.0", "1.0.0-01", "1.0.0-1"},
		{"1.0.0-", "1.0.0+", "1.0.0-a..b"},
		{" 1.0.0", "1.0.0\n", "1.0.0-\u00e9"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var vs []*version.Version
		var texts []string
		for _, s := range []string{a, b, c} {
			v, err := mpk.ParseVersion(s)
			if err != nil {
				if v != nil {
					t.Fatalf("ParseVersion(%q) returned %v and %v", s, v, err)
				}
				checkManifestVersion(t, s, false)
				continue
			}
			if v.String() != s || v.Original() != s {
				t.Fatalf("ParseVersion(%q) accepted a spelling it prints as %q", s, v.String())
			}
			if len(v.Segments64()) != 3 {
				t.Fatalf("ParseVersion(%q) has segments %v", s, v.Segments64())
			}
			again, err := mpk.ParseVersion(v.String())
			if err != nil || !again.Equal(v) {
				t.Fatalf("ParseVersion(%q) does not round-trip: %v, %v", s, again, err)
			}
			checkManifestVersion(t, s, true)
			vs, texts = append(vs, v), append(texts, s)
		}
		for i := range vs {
			for j := range vs {
				x, y := vs[i], vs[j]
				if cx, cy := x.Compare(y), y.Compare(x); cx != -cy {
					t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", texts[i], texts[j], cx, texts[j], texts[i], cy)
				}
				if x.Equal(y) != (x.Compare(y) == 0) || x.LessThan(y) != (x.Compare(y) < 0) || x.GreaterThan(y) != (x.Compare(y) > 0) {
					t.Fatalf("Equal/LessThan/GreaterThan disagree with Compare for %q, %q", texts[i], texts[j])
				}
				if x.Equal(y) && withoutBuild(texts[i]) != withoutBuild(texts[j]) {
					t.Fatalf("%q and %q are different versions that compare equal", texts[i], texts[j])
				}
				for k := range vs {
					z := vs[k]
					if x.LessThan(y) && y.LessThan(z) && !x.LessThan(z) {
						t.Fatalf("order is not transitive: %q < %q < %q but not %q < %q", texts[i], texts[j], texts[k], texts[i], texts[k])
					}
				}
			}
		}
	})
}

func withoutBuild(s string) string {
	s, _, _ = strings.Cut(s, "+")
	return s
}

// checkManifestVersion checks that an app.json with version s parses
// exactly when ParseVersion accepts s.
func checkManifestVersion(t *testing.T, s string, ok bool) {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"appId": "demo.fuzz", "version": s, "abi": abi.Version, "entry": "app.wasm"})
	if err != nil {
		return // not representable in JSON (invalid UTF-8 is replaced): nothing to compare
	}
	m, err := mpk.ParseManifest(raw)
	if ok != (err == nil) {
		t.Fatalf("ParseVersion(%q) ok=%v but ParseManifest: %v", s, ok, err)
	}
	if err == nil && m.Version != s {
		t.Fatalf("manifest version %q read as %q", s, m.Version)
	}
}

// TestParseVersionLeadingZeros: SemVer 2.0.0 forbids leading zeros in
// numeric identifiers, pre-release ones included, and go-version orders
// them inconsistently ("1.0.0-01" and "1.0.0-1" are each below the other),
// so a package version must not have them.
func TestParseVersionLeadingZeros(t *testing.T) {
	for _, tt := range []struct {
		v  string
		ok bool
	}{
		{"1.0.0-0", true},
		{"1.0.0-10", true},
		{"1.0.0-0a", true},
		{"1.0.0-rc.0", true},
		{"1.0.0+001", true}, // build metadata is not compared
		{"01.0.0", false},
		{"1.0.0-01", false},
		{"1.0.0-rc.01", false},
		{"1.0.0-00", false},
	} {
		_, err := mpk.ParseVersion(tt.v)
		if (err == nil) != tt.ok {
			t.Errorf("ParseVersion(%q) = %v, want ok=%v", tt.v, err, tt.ok)
		}
	}
}
