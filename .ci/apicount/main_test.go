package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOverBudget(t *testing.T) {
	counts := map[string]int{"host": 10, "runtime": 5}
	tests := []struct {
		name   string
		budget string
		want   []string // substrings of the lines, in order; nil: within budget
		err    string
	}{
		{name: "within", budget: "10 host\n# comment\n5 runtime # trailing\n"},
		{name: "over", budget: "9 host\n5 runtime\n", want: []string{"host: 10 exported names, budget 9"}},
		{name: "missing package", budget: "10 host\n", want: []string{"runtime: 5 exported names and no budget"}},
		{name: "malformed line", budget: "ten host\n", err: `want "N package"`},
		{name: "extra field", budget: "10 host extra\n", err: `want "N package"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "budget.txt")
			if err := os.WriteFile(path, []byte(tt.budget), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := overBudget(path, counts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("overBudget: error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("overBudget = %q, want %d lines like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("line %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
