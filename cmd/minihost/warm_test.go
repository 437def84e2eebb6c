package main

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
)

// TestGoGuestsCompile compiles every Go guest into the tests' compile
// cache, as runtime/internal/wasmbin's test of the same name does, but
// from this package's test binary: wazero names its cache folder after
// the wazero version in the binary's build info, which the test binary
// of a main package has (v1.12.0, as the minihost binary) and the other
// packages' test binaries do not ("dev"), so the CLI's tests find none of
// the code the others compiled. .ci/run runs both without -race before
// the suite; under -race, where wazero's compiler takes seconds a guest
// (a minute for the JS base library), this one only says so.
func TestGoGuestsCompile(t *testing.T) {
	if raceEnabled {
		t.Skip("warms the compile cache without -race (.ci/run); under -race it would compile every guest")
	}
	e, err := runtime.NewEngine(runtime.Config{CacheDir: runtimetest.CacheDir(t)})
	require.NoError(t, err)
	defer e.Close(t.Context())
	n := 0
	for _, dir := range runtimetest.GoGuests(t) {
		err := e.Validate(t.Context(), "test.compile", runtimetest.BuildWasm(t, dir))
		require.False(t, errors.Is(err, runtime.ErrMalformedWasm), "%s does not compile: %v", dir, err)
		n++
	}
	require.GreaterOrEqual(t, n, 13, "guests compiled")
}
