package runtime_test

import (
	"testing"

	"github.com/minihost/minihost/runtime"
	"github.com/minihost/minihost/runtime/runtimetest"
)

// The base library passes the release side's check on its own, with no
// JS package mounted (cmd/minihost's validator runs Engine.Validate on
// every upload, the base library's included).
func TestJSBaseLibraryValidates(t *testing.T) {
	e, err := runtime.NewEngine(runtime.Config{CacheDir: runtimetest.CacheDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(t.Context())
	if err := e.Validate(t.Context(), "minihost.jsbase", runtimetest.BuildWasm(t, jsBase)); err != nil {
		t.Fatal(err)
	}
}
