package wx

import (
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/minihost/minihost/samples/wx/abi"
)

// TestDirectivesMatchABI checks the go:wasmexport and go:wasmimport
// directives, which cannot use constants, against package abi's names.
func TestDirectivesMatchABI(t *testing.T) {
	src, err := os.ReadFile("abi_wasip1.go")
	if err != nil {
		t.Fatal(err)
	}
	var exports, imports []string
	for _, m := range regexp.MustCompile(`(?m)^//go:wasmexport (\S+)$`).FindAllSubmatch(src, -1) {
		exports = append(exports, string(m[1]))
	}
	for _, m := range regexp.MustCompile(`(?m)^//go:wasmimport (\S+) (\S+)$`).FindAllSubmatch(src, -1) {
		if string(m[1]) != abi.HostModule {
			t.Errorf("go:wasmimport %s %s: module is not %q", m[1], m[2], abi.HostModule)
		}
		imports = append(imports, string(m[2]))
	}
	tests := []struct {
		name      string
		got, want []string
	}{
		{"exports", exports, []string{abi.ExportABIVersion, abi.ExportAlloc, abi.ExportOnLaunch,
			abi.ExportOnShow, abi.ExportOnHide, abi.ExportOnEvent}},
		{"imports", imports, []string{abi.ImportLog, abi.ImportSetStorage, abi.ImportGetStorage,
			abi.ImportRemoveStorage, abi.ImportClearStorage, abi.ImportGetStorageInfo, abi.ImportShowModal,
			abi.ImportGetSystemInfo, abi.ImportUpdateManagerRegister, abi.ImportApplyUpdate}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := slices.Sorted(slices.Values(tt.got)), slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("directives name %q, package abi %q", got, want)
			}
		})
	}
}
