package host

import (
	"testing"
	"time"
)

func TestPeriodicDelayJitter(t *testing.T) {
	const interval = 6 * time.Hour
	tests := []struct {
		name string
		u    float64
		want time.Duration
	}{
		{"earliest", 0, time.Duration(float64(interval) * 0.9)},
		{"middle", 0.5, interval},
		{"latest", 0.999999, time.Duration(float64(interval) * 1.1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := periodicDelay(interval, tt.u)
			if d := got - tt.want; d < -time.Second || d > time.Second {
				t.Fatalf("periodicDelay(%v, %v) = %v, want %v", interval, tt.u, got, tt.want)
			}
		})
	}
}
