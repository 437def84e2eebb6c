package updater_test

import (
	"fmt"
	"testing"

	"github.com/minihost/minihost/updater"
)

func TestRolloutBucketing(t *testing.T) {
	const clients = 10000
	latest := &updater.Release{Version: "2.0.0"}
	stable := &updater.Release{Version: "1.0.0"}
	for _, percent := range []int{0, 1, 10, 25, 50, 90, 100} {
		t.Run(fmt.Sprint(percent), func(t *testing.T) {
			doc := &updater.Document{AppID: "demo.counter", Latest: latest, Stable: stable, RolloutPercent: percent}
			in := 0
			for i := range clients {
				id := fmt.Sprintf("client-%d", i)
				got := doc.LatestFor(id)
				if got != doc.LatestFor(id) {
					t.Fatalf("%s: answer changes between calls", id)
				}
				switch got {
				case latest:
					in++
				case stable:
				default:
					t.Fatalf("%s: LatestFor = %v", id, got)
				}
			}
			share := float64(in) * 100 / clients
			// Binomial: the standard deviation at 50% over 10,000 is 0.5 points.
			if d := share - float64(percent); d < -1.5 || d > 1.5 {
				t.Fatalf("%.2f%% of clients in a %d%% rollout", share, percent)
			}
		})
	}
}

func TestRolloutBucketStable(t *testing.T) {
	// Raising the percent only adds clients; the bucket depends on the version, so each release picks a
	// different first few.
	moved := 0
	for i := range 1000 {
		id := fmt.Sprintf("c%d", i)
		for p := 0; p <= 100; p += 5 {
			doc := &updater.Document{AppID: "demo.counter", Latest: &updater.Release{Version: "2.0.0"}, RolloutPercent: p}
			higher := &updater.Document{AppID: "demo.counter", Latest: doc.Latest, RolloutPercent: p + 5}
			if doc.LatestFor(id) != nil && higher.LatestFor(id) == nil {
				t.Fatalf("%s left the rollout when it grew from %d%%", id, p)
			}
		}
		half := &updater.Document{AppID: "demo.counter", Latest: &updater.Release{Version: "2.0.0"}, RolloutPercent: 50}
		next := &updater.Document{AppID: "demo.counter", Latest: &updater.Release{Version: "2.1.0"}, RolloutPercent: 50}
		if (half.LatestFor(id) != nil) != (next.LatestFor(id) != nil) {
			moved++
		}
	}
	// Independent buckets per version: about half the clients change
	// sides of a 50% rollout (binomial, standard deviation about 16).
	if moved < 400 || moved > 600 {
		t.Fatalf("%d of 1000 clients changed sides of a 50%% rollout with the version, want about 500", moved)
	}
}

func TestRolloutNoStable(t *testing.T) {
	doc := &updater.Document{AppID: "a", Latest: &updater.Release{Version: "1.0.0"}, RolloutPercent: 0}
	if got := doc.LatestFor("anyone"); got != nil {
		t.Fatalf("outside a rollout with no stable release: %v", got)
	}
	if (&updater.Document{AppID: "a"}).LatestFor("x") != nil {
		t.Fatal("empty document")
	}
}

func ExampleDocument_LatestFor() {
	doc := &updater.Document{
		AppID:          "demo.counter",
		Latest:         &updater.Release{Version: "2.0.0"},
		Stable:         &updater.Release{Version: "1.9.0"},
		RolloutPercent: 30,
	}
	in := 0
	for i := range 1000 {
		if doc.LatestFor(fmt.Sprint("client-", i)).Version == "2.0.0" {
			in++
		}
	}
	fmt.Println(in > 250 && in < 350)
	// Output: true
}
