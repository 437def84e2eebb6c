package release

import (
	"fmt"
	"testing"
	"time"
)

// TestAdoptionVersionCap: at most adoptionMaxVersions versions an app,
// the least recently counted dropped, and each kind has its counter.
func TestAdoptionVersionCap(t *testing.T) {
	var a adoption
	start := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	for i := range adoptionMaxVersions + 10 {
		a.add("demo.counter", fmt.Sprintf("1.0.%d", i), countFetch, start.Add(time.Duration(i)*time.Hour))
	}
	a.add("demo.counter", "1.0.0", countPatch, start.Add(100*time.Hour))     // dropped by then: back as new
	a.add("demo.counter", "1.0.59", countDownload, start.Add(100*time.Hour)) // kept
	if n := len(a.apps["demo.counter"]); n != adoptionMaxVersions {
		t.Fatalf("%d versions kept, want %d", n, adoptionMaxVersions)
	}
	snap := a.snapshot("demo.counter", start.Add(100*time.Hour))
	for _, tt := range []struct {
		name    string
		version string
		want    adoptionCounts
	}{
		{"re-added after its drop", "1.0.0", adoptionCounts{Patches: 1}},
		{"least recent dropped", "1.0.10", adoptionCounts{}},
		{"newest kept", "1.0.59", adoptionCounts{Fetches: 1, Downloads: 1}},
		{"second newest kept", "1.0.58", adoptionCounts{Fetches: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := snap.total[tt.version]; got != tt.want {
				t.Errorf("%s: %+v, want %+v", tt.version, got, tt.want)
			}
		})
	}
}
