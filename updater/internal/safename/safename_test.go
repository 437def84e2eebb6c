package safename_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/samples/wx/abi"
	"github.com/minihost/minihost/updater/internal/safename"
)

// appIDs pins the one app id rule: 1 to 64 bytes of a-z, 0-9, '.', '-',
// '_', starting with a letter.
var appIDs = []struct {
	id string
	ok bool
}{
	{"demo.counter", true},
	{"minihost.jsbase", true},
	{"a", true},
	{"a_b", true},
	{"a-b", true},
	{"a..b", true},
	{"a.b-c_d9", true},
	{"a" + strings.Repeat("b", 63), true}, // 64 bytes, the limit

	{"", false},
	{"1abc", false},     // a digit first
	{"Demo.App", false}, // upper case: two ids, one folder on a case-insensitive disk
	{"demo.App", false},
	{".demo", false},
	{"..", false},
	{"-a", false},
	{"_a", false},
	{"a/b", false},
	{"a\\b", false},
	{"a b", false},
	{"a+b", false},
	{"a%2F..", false},
	{"a\x00", false},
	{"é", false},
	{"a" + strings.Repeat("b", 64), false}, // 65 bytes
	{strings.Repeat("a", 4000), false},
}

// TestAppID: AppID follows the rule, with its words in the message, and
// quotes a long id shortened.
func TestAppID(t *testing.T) {
	for _, tc := range appIDs {
		err := safename.AppID(tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("AppID(%.30q) = %v, want ok %v", tc.id, err, tc.ok)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), "must be 1 to 64 characters of a-z, 0-9, '.', '-', '_', starting with a letter") {
			t.Errorf("AppID(%.30q) = %v, want the rule in words", tc.id, err)
		}
		if errors.Is(err, mpk.ErrInvalid) {
			t.Errorf("AppID(%.30q) wraps mpk.ErrInvalid: a bad id is a bad argument, not a bad package", tc.id)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("AppID of %d bytes: message of %d bytes, want the id shortened", len(tc.id), len(err.Error()))
		}
	}
}

// TestAppIDRuleAgreesWithPackage: the release side's and client's app id
// check (AppID) and the package check (app.json's appId, in runtime/mpk)
// are one rule with one message: for every id, both accept it or both
// refuse it, and mpk's error holds AppID's message word for word.
func TestAppIDRuleAgreesWithPackage(t *testing.T) {
	for _, tc := range appIDs {
		manifest, err := json.Marshal(map[string]any{"appId": tc.id, "version": "1.0.0", "abi": abi.Version, "entry": "app.wasm"})
		if err != nil {
			t.Fatal(err)
		}
		_, pkgErr := mpk.ParseManifest(manifest)
		nameErr := safename.AppID(tc.id)
		if (pkgErr == nil) != (nameErr == nil) || (pkgErr == nil) != tc.ok {
			t.Errorf("app id %.30q: package check %v, AppID %v; want both ok %v", tc.id, pkgErr, nameErr, tc.ok)
			continue
		}
		if pkgErr == nil {
			continue
		}
		if !errors.Is(pkgErr, mpk.ErrInvalid) || !strings.Contains(pkgErr.Error(), `field "appId"`) {
			t.Errorf("app id %.30q: package check %v, want ErrInvalid naming appId", tc.id, pkgErr)
		}
		if !strings.HasSuffix(pkgErr.Error(), nameErr.Error()) {
			t.Errorf("app id %.30q: messages differ:\n package: %v\n AppID:   %v", tc.id, pkgErr, nameErr)
		}
	}
}
