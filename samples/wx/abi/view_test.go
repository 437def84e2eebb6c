package abi

import (
	"strings"
	"testing"
)

func TestValidPageName(t *testing.T) {
	tests := []struct {
		name string
		page string
		want bool
	}{
		{"word", "index", true},
		{"dash underscore digits", "detail-2_b", true},
		{"longest", strings.Repeat("a", maxPageNameBytes), true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", maxPageNameBytes+1), false},
		{"slash", "a/b", false},
		{"dot dot", "..", false},
		{"non-ASCII", "pagé", false},
		{"space", "a b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidPageName(tt.page); got != tt.want {
				t.Errorf("ValidPageName(%q) = %t, want %t", tt.page, got, tt.want)
			}
		})
	}
}
