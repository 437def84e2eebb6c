package mpk_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/mpk"
)

// TestManifestAttackJS: app.json fields a hostile JS package could use to
// confuse what runs it are refused, naming the field: the reserved base
// library id as a JS package (it would become the newest base library a
// host fetches, on which no JS app opens), a second runtime field, a
// wasm entry for JS, a minimum base library that is not a version or is
// given to a wasm package.
func TestManifestAttackJS(t *testing.T) {
	for _, tc := range []struct {
		name, data, field string
	}{
		{"JS under the base library's id", `{"appId": "minihost.jsbase", "version": "9.0.0", "abi": 1, "runtime": "js", "entry": "app.js"}`, "runtime"},
		{"runtime twice", `{"appId": "demo.js", "version": "1.0.0", "abi": 1, "runtime": "js", "runtime": "", "entry": "app.js"}`, "runtime"},
		{"JS with a wasm entry", `{"appId": "demo.js", "version": "1.0.0", "abi": 1, "runtime": "js", "entry": "app.wasm"}`, "entry"},
		{"wasm with a JS entry", `{"appId": "demo.js", "version": "1.0.0", "abi": 1, "entry": "app.js"}`, "entry"},
		{"base library not a version", `{"appId": "demo.js", "version": "1.0.0", "abi": 1, "runtime": "js", "entry": "app.js", "baseLibrary": "latest"}`, "baseLibrary"},
		{"base library with a build suffix of NULs", `{"appId": "demo.js", "version": "1.0.0", "abi": 1, "runtime": "js", "entry": "app.js", "baseLibrary": "1.0.0+\u0000"}`, "baseLibrary"},
		{"base library for a wasm package", `{"appId": "demo.js", "version": "1.0.0", "abi": 1, "entry": "app.wasm", "baseLibrary": "1.0.0"}`, "baseLibrary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mpk.ParseManifest([]byte(tc.data))
			require.ErrorIs(t, err, mpk.ErrInvalidManifest)
			var me *mpk.Error
			require.True(t, errors.As(err, &me), "%v", err)
			require.Equal(t, tc.field, me.Field, "%v", err)
			require.NotContains(t, err.Error(), "\x00", "a NUL reaches the message raw")
		})
	}
}
