package runtime

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestSDKDirectivesMatchRuntime checks the Go guest SDK's go:wasmexport
// and go:wasmimport directives (samples/wx/abi_wasip1.go), which cannot
// use constants, against the names the runtime requires and serves: the
// exports of requiredExports and the functions of wxFuncs in hostModule.
func TestSDKDirectivesMatchRuntime(t *testing.T) {
	src, err := os.ReadFile("../samples/wx/abi_wasip1.go")
	if err != nil {
		t.Fatal(err)
	}
	var exports, imports, modules []string
	for _, m := range regexp.MustCompile(`(?m)^//go:wasmexport (\S+)$`).FindAllSubmatch(src, -1) {
		exports = append(exports, string(m[1]))
	}
	for _, m := range regexp.MustCompile(`(?m)^//go:wasmimport (\S+) (\S+)$`).FindAllSubmatch(src, -1) {
		modules = append(modules, string(m[1]))
		imports = append(imports, string(m[2]))
	}
	var wantExports, wantImports, wantModules []string
	for _, e := range requiredExports {
		if e.name != "_initialize" { // Go's linker exports it
			wantExports = append(wantExports, e.name)
		}
	}
	for _, f := range wxFuncs {
		wantImports = append(wantImports, f.name)
		wantModules = append(wantModules, hostModule)
	}
	tests := []struct {
		name      string
		got, want []string
	}{
		{"exports", exports, wantExports},
		{"imports", imports, wantImports},
		{"import modules", modules, wantModules},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := slices.Sorted(slices.Values(tt.got)), slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("SDK directives name %q, the runtime %q", got, want)
			}
		})
	}
}
