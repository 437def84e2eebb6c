package mpk_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/minihost/minihost/runtime/mpk"
	"github.com/minihost/minihost/samples/wx/abi"
)

// withField returns manifestOK with key set to the raw JSON value (or
// removed when value is "").
func withField(tb testing.TB, key, value string) string {
	tb.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(manifestOK), &m); err != nil {
		tb.Fatal(err)
	}
	if value == "" {
		delete(m, key)
	} else {
		m[key] = json.RawMessage(value)
	}
	data, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

func TestParseManifest(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		field string // the field the error names; "" with want == nil for success
		want  error  // a sentinel the error wraps
		msg   string // a substring of the message
	}{
		{name: "valid", data: manifestOK},
		{name: "valid without name and permissions", data: `{"appId":"a","version":"0.0.1","abi":1,"entry":"a.wasm"}`},
		{name: "valid prerelease and build", data: withField(t, "version", `"1.2.3-beta.1+exp.sha.5114f85"`)},
		{name: "valid entry in folder", data: withField(t, "entry", `"bin/app.wasm"`)},
		{name: "valid app id of 64 chars", data: withField(t, "appId", `"`+"a"+strings.Repeat("b", 63)+`"`)},
		{name: "valid app id with all allowed chars", data: withField(t, "appId", `"a.b-c_d9"`)},
		{name: "valid JS package", data: `{"appId":"a","version":"1.0.0","abi":1,"runtime":"js","entry":"app.js","baseLibrary":"1.2.0"}`},

		{name: "JS package with a wasm entry", data: `{"appId":"a","version":"1.0.0","abi":1,"runtime":"js","entry":"app.wasm"}`, field: "entry", want: mpk.ErrInvalidManifest, msg: `entry "app.wasm" must end in .js`},
		{name: "wasm package with a JS entry", data: withField(t, "entry", `"app.js"`), field: "entry", want: mpk.ErrInvalidManifest, msg: "must end in .wasm"},
		{name: "unknown runtime", data: withField(t, "runtime", `"python"`), field: "runtime", want: mpk.ErrInvalidManifest, msg: `unknown runtime "python"`},
		{name: "base library without JS", data: withField(t, "baseLibrary", `"1.0.0"`), field: "baseLibrary", want: mpk.ErrInvalidManifest, msg: "only a package with runtime"},
		{name: "base library not a version", data: `{"appId":"a","version":"1.0.0","abi":1,"runtime":"js","entry":"app.js","baseLibrary":">=1.2"}`, field: "baseLibrary", want: mpk.ErrInvalidVersion, msg: "minimum base library version"},

		{name: "not JSON", data: `{`, want: mpk.ErrInvalidManifest, msg: "not valid JSON"},
		{name: "not an object", data: `[1]`, want: mpk.ErrInvalidManifest, msg: "not a JSON object"},
		{name: "empty", data: ``, want: mpk.ErrInvalidManifest, msg: "not valid JSON"},
		{name: "trailing data", data: manifestOK + `{}`, want: mpk.ErrInvalidManifest, msg: "data after the JSON object"},
		{name: "invalid UTF-8", data: withField(t, "name", "\"\xff\""), want: mpk.ErrInvalidManifest, msg: "UTF-8"},
		{name: "too large", data: withField(t, "name", `"`+strings.Repeat("x", 70000)+`"`), want: mpk.ErrTooLarge},
		{name: "unknown field", data: withField(t, "color", `"red"`), field: "color", want: mpk.ErrInvalidManifest, msg: "unknown field"},
		{name: "field in other case", data: strings.Replace(manifestOK, `"appId"`, `"AppId"`, 1), field: "AppId", want: mpk.ErrInvalidManifest, msg: "unknown field"},
		{name: "duplicate field", data: strings.Replace(manifestOK, `"name"`, `"version": "2.0.0", "name"`, 1), field: "version", want: mpk.ErrInvalidManifest, msg: "appears twice"},
		{name: "null field", data: withField(t, "permissions", `null`), field: "permissions", want: mpk.ErrInvalidManifest, msg: "null"},

		{name: "appId missing", data: withField(t, "appId", ""), field: "appId", want: mpk.ErrInvalidManifest, msg: "missing"},
		{name: "appId empty", data: withField(t, "appId", `""`), field: "appId", want: mpk.ErrInvalidManifest, msg: "starting with a letter"},
		{name: "appId uppercase", data: withField(t, "appId", `"Demo"`), field: "appId", want: mpk.ErrInvalidManifest, msg: "a-z"},
		{name: "appId starts with digit", data: withField(t, "appId", `"1demo"`), field: "appId", want: mpk.ErrInvalidManifest},
		{name: "appId starts with dot", data: withField(t, "appId", `".demo"`), field: "appId", want: mpk.ErrInvalidManifest},
		{name: "appId with slash", data: withField(t, "appId", `"a/b"`), field: "appId", want: mpk.ErrInvalidManifest},
		{name: "appId with space", data: withField(t, "appId", `"a b"`), field: "appId", want: mpk.ErrInvalidManifest},
		{name: "appId of 65 chars", data: withField(t, "appId", `"`+"a"+strings.Repeat("b", 64)+`"`), field: "appId", want: mpk.ErrInvalidManifest, msg: "1 to 64"},
		{name: "appId a number", data: withField(t, "appId", `7`), field: "appId", want: mpk.ErrInvalidManifest, msg: "wrong type"},

		{name: "version missing", data: withField(t, "version", ""), field: "version", want: mpk.ErrInvalidManifest, msg: "missing"},
		{name: "version garbage", data: withField(t, "version", `"x"`), field: "version", want: mpk.ErrInvalidManifest, msg: `invalid semantic version "x"`},
		{name: "version two parts", data: withField(t, "version", `"1.0"`), field: "version", want: mpk.ErrInvalidManifest, msg: `write "1.0.0"`},
		{name: "version four parts", data: withField(t, "version", `"1.2.3.4"`), field: "version", want: mpk.ErrInvalidManifest, msg: "MAJOR.MINOR.PATCH"},
		{name: "version v prefix", data: withField(t, "version", `"v1.0.0"`), field: "version", want: mpk.ErrInvalidManifest, msg: `write "1.0.0"`},
		{name: "version leading zero", data: withField(t, "version", `"01.0.0"`), field: "version", want: mpk.ErrInvalidManifest, msg: `write "1.0.0"`},
		{name: "version prerelease without hyphen", data: withField(t, "version", `"1.0.0beta"`), field: "version", want: mpk.ErrInvalidManifest, msg: "malformed version"},
		{name: "version with spaces", data: withField(t, "version", `" 1.0.0"`), field: "version", want: mpk.ErrInvalidManifest},
		{name: "version a number", data: withField(t, "version", `1`), field: "version", want: mpk.ErrInvalidManifest, msg: "wrong type"},

		{name: "abi missing", data: withField(t, "abi", ""), field: "abi", want: mpk.ErrInvalidManifest, msg: "missing"},
		{name: "abi 0", data: withField(t, "abi", `0`), field: "abi", want: mpk.ErrInvalidManifest, msg: "ABI version 0 is not supported"},
		{name: "abi 2", data: withField(t, "abi", `2`), field: "abi", want: mpk.ErrInvalidManifest, msg: "ABI version 2"},
		{name: "abi string", data: withField(t, "abi", `"1"`), field: "abi", want: mpk.ErrInvalidManifest, msg: "wrong type"},
		{name: "abi fraction", data: withField(t, "abi", `1.5`), field: "abi", want: mpk.ErrInvalidManifest, msg: "wrong type"},

		{name: "entry missing", data: withField(t, "entry", ""), field: "entry", want: mpk.ErrInvalidManifest, msg: "missing"},
		{name: "entry empty", data: withField(t, "entry", `""`), field: "entry", want: mpk.ErrInvalidManifest, msg: ".wasm"},
		{name: "entry not wasm", data: withField(t, "entry", `"app.js"`), field: "entry", want: mpk.ErrInvalidManifest, msg: "must end in .wasm"},
		{name: "entry only extension", data: withField(t, "entry", `".wasm"`), field: "entry", want: mpk.ErrInvalidManifest, msg: "hidden"},
		{name: "entry hidden in folder", data: withField(t, "entry", `"bin/.app.wasm"`), field: "entry", want: mpk.ErrInvalidManifest, msg: "hidden"},
		{name: "entry in hidden folder", data: withField(t, "entry", `".bin/app.wasm"`), field: "entry", want: mpk.ErrInvalidManifest, msg: "hidden"},
		{name: "entry leaves package", data: withField(t, "entry", `"../app.wasm"`), field: "entry", want: mpk.ErrUnsafePath, msg: "path leaves the package"},
		{name: "entry absolute", data: withField(t, "entry", `"/app.wasm"`), field: "entry", want: mpk.ErrUnsafePath, msg: "absolute"},
		{name: "entry backslash", data: withField(t, "entry", `"bin\\app.wasm"`), field: "entry", want: mpk.ErrUnsafePath, msg: "backslash"},
		{name: "entry drive letter", data: withField(t, "entry", `"C:app.wasm"`), field: "entry", want: mpk.ErrUnsafePath, msg: "':'"},
		{name: "entry not clean", data: withField(t, "entry", `"./app.wasm"`), field: "entry", want: mpk.ErrUnsafePath, msg: "not clean"},
		{name: "entry double slash", data: withField(t, "entry", `"bin//app.wasm"`), field: "entry", want: mpk.ErrUnsafePath, msg: "not clean"},

		{name: "unknown permission", data: withField(t, "permissions", `["camera"]`), field: "permissions", want: mpk.ErrInvalidManifest, msg: `unknown permission "camera"`},
		{name: "permissions not a list", data: withField(t, "permissions", `"camera"`), field: "permissions", want: mpk.ErrInvalidManifest, msg: "wrong type"},
		{name: "name a number", data: withField(t, "name", `1`), field: "name", want: mpk.ErrInvalidManifest, msg: "wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := mpk.ParseManifest([]byte(tt.data))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("ParseManifest: %v", err)
				}
				if v, err := mpk.ParseVersion(m.Version); err != nil || v.String() != m.Version {
					t.Errorf("ParseVersion(%q) = %v, %v", m.Version, v, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseManifest succeeded, want an error wrapping %v", tt.want)
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, mpk.ErrInvalidManifest) {
				t.Errorf("error %q does not wrap %v and ErrInvalidManifest", err, tt.want)
			}
			var merr *mpk.Error
			if !errors.As(err, &merr) {
				t.Fatalf("error %q is not an *mpk.Error", err)
			}
			if merr.File != mpk.ManifestName || merr.Field != tt.field {
				t.Errorf("error names file %q field %q, want %q %q", merr.File, merr.Field, mpk.ManifestName, tt.field)
			}
			if !strings.HasPrefix(err.Error(), "app.json: ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q, want it to start with app.json: and contain %q", err, tt.msg)
			}
			if tt.field != "" && !strings.Contains(err.Error(), `field "`+tt.field+`"`) {
				t.Errorf("message %q does not name field %q", err, tt.field)
			}
		})
	}
}

func TestParseManifestMessage(t *testing.T) {
	_, err := mpk.ParseManifest([]byte(withField(t, "version", `"x"`)))
	want := `app.json: field "version": invalid semantic version "x": malformed version "x"`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestParseManifestKnownPermission(t *testing.T) {
	// The known permissions grow with the ABI; this test adds a name for
	// its duration only (so it must not be parallel).
	mpk.AddKnownPermission(t, "test.perm")
	m, err := mpk.ParseManifest([]byte(withField(t, "permissions", `["test.perm"]`)))
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	if len(m.Permissions) != 1 || m.Permissions[0] != "test.perm" {
		t.Errorf("Permissions = %q", m.Permissions)
	}
	_, err = mpk.ParseManifest([]byte(withField(t, "permissions", `["test.perm", "test.perm"]`)))
	if !errors.Is(err, mpk.ErrInvalidManifest) || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("duplicate permission: error = %v", err)
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"plain", "1.2.3", true},
		{"zero", "0.0.0", true},
		{"prerelease", "1.2.3-rc.1", true},
		{"build", "1.2.3+build.7", true},
		{"short", "1.2", false},
		{"v prefix", "v1.2.3", false},
		{"leading zero", "1.02.3", false},
		{"garbage", "latest", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := mpk.ParseVersion(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseVersion(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			}
			if tt.ok && v.Original() != tt.in {
				t.Errorf("Original() = %q", v.Original())
			}
		})
	}
}

func TestVersionOfHandMadeManifest(t *testing.T) {
	m := &mpk.Manifest{Version: "1.2.3"}
	if v, err := mpk.ParseVersion(m.Version); err != nil || v.String() != "1.2.3" {
		t.Errorf("ParseVersion(%q) = %v, %v", m.Version, v, err)
	}
	m = &mpk.Manifest{Version: "nope"}
	if v, err := mpk.ParseVersion(m.Version); !errors.Is(err, mpk.ErrInvalid) {
		t.Errorf("ParseVersion of invalid version = %v, %v, want ErrInvalid", v, err)
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(manifestOK))
	f.Add([]byte(`{"appId":"a","version":"0.0.1","abi":1,"entry":"a.wasm"}`))
	f.Add([]byte(`{"appId":"a","version":"1.0.0-rc.1+b","abi":1,"entry":"x/a.wasm","permissions":[]}`))
	f.Add([]byte(`{"appId":"A","version":"v1","abi":2,"entry":"../a.wasm","extra":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := mpk.ParseManifest(data)
		if err != nil {
			var merr *mpk.Error
			if !errors.As(err, &merr) || !errors.Is(err, mpk.ErrInvalidManifest) {
				t.Fatalf("error %q is not an *mpk.Error wrapping ErrInvalidManifest", err)
			}
			return
		}
		// A valid manifest survives a round trip unchanged.
		if m.Permissions == nil {
			m.Permissions = []string{}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := mpk.ParseManifest(again)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", again, err)
		}
		if m2.AppID != m.AppID || m2.Version != m.Version || m2.Entry != m.Entry || m2.Name != m.Name || m2.ABI != abi.Version {
			t.Fatalf("round trip changed %+v into %+v", m, m2)
		}
		if v, err := mpk.ParseVersion(m.Version); err != nil || v.Original() != m.Version {
			t.Fatalf("ParseVersion(%q) = %v, %v", m.Version, v, err)
		}
	})
}
