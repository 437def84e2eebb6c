package main

import "testing"

// TestBenchGoalsDelta: the goals of issue 15, on the patch share and on
// the patch install against the full one.
func TestBenchGoalsDelta(t *testing.T) {
	fig := func(name, unit string, median float64) *benchFigure {
		return &benchFigure{Figure: name, Unit: unit, Ours: newBenchStats([]float64{median})}
	}
	tests := []struct {
		name  string
		figs  []*benchFigure
		goal  string
		value string
		met   bool
	}{
		{"code patch within a quarter", []*benchFigure{fig("DeltaPatch/code", "%pkg", 1.6)},
			"delta patch, one-line code change <= 25% of the package", "1.60 %pkg", true},
		{"code patch over it", []*benchFigure{fig("DeltaPatch/code", "%pkg", 30)},
			"delta patch, one-line code change <= 25% of the package", "30.0 %pkg", false},
		{"asset patch over 5%", []*benchFigure{fig("DeltaPatch/asset", "%pkg", 6)},
			"delta patch, asset-only change <= 5% of the package", "6.00 %pkg", false},
		{"large patch larger than the package", []*benchFigure{fig("DeltaPatch/large", "%pkg", 101)},
			"delta patch, large change never larger than the package", "101 %pkg", false},
		{"patch install within 1.5x of the full one", []*benchFigure{fig("DeltaInstall", "ns/op", 27e6), fig("DeltaInstall/full", "ns/op", 37e6)},
			"delta install <= 1.5x a full download and install", "ratio 0.73", true},
		{"patch install past it", []*benchFigure{fig("DeltaInstall", "ns/op", 60e6), fig("DeltaInstall/full", "ns/op", 37e6)},
			"delta install <= 1.5x a full download and install", "ratio 1.62", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *benchGoalResult
			for _, g := range checkBenchGoals(tt.figs, nil) {
				if g.Goal == tt.goal {
					got = &g
				}
			}
			if got == nil || got.Value != tt.value || got.Met != tt.met {
				t.Fatalf("goal %q: %+v, want value %s met=%t", tt.goal, got, tt.value, tt.met)
			}
		})
	}
}
