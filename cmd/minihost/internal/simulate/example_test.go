package simulate_test

import (
	"context"
	"fmt"
	"time"

	"github.com/minihost/minihost/cmd/minihost/internal/simulate"
)

// Simulate a small fleet for a day after a release and read the coverage.
func ExampleRun() {
	r, err := simulate.Run(context.Background(), simulate.Config{Clients: 1000, Seed: 1, Duration: 24 * time.Hour})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := r.At(24 * time.Hour)
	fmt.Printf("active users on the new version at 24h: %.0f%%\n", 100*p.ActiveShare)
	fmt.Printf("whole fleet at 24h: %.0f%%\n", 100*p.FleetShare)
	fmt.Println("violations:", r.Totals.Violations)
	// Output:
	// active users on the new version at 24h: 95%
	// whole fleet at 24h: 41%
	// violations: 0
}
