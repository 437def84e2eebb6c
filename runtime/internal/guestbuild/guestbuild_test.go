package guestbuild

import (
	"slices"
	"testing"
)

func TestGuestEnv(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{
			name: "sets the target",
			in:   []string{"HOME=/h", "GOOS=linux", "GOARCH=amd64"},
			want: []string{"HOME=/h", "GOOS=wasip1", "GOARCH=wasm"},
		},
		{
			name: "drops flags that break a wasm build",
			in:   []string{"GOFLAGS=-race -mod=mod -cover -coverpkg=./... -buildmode=pie -tags=x"},
			want: []string{"GOFLAGS=-mod=mod -tags=x", "GOOS=wasip1", "GOARCH=wasm"},
		},
		{
			name: "drops GOFLAGS left empty",
			in:   []string{"GOFLAGS=-race", "PATH=/bin"},
			want: []string{"PATH=/bin", "GOOS=wasip1", "GOARCH=wasm"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := guestEnv(tt.in); !slices.Equal(got, tt.want) {
				t.Errorf("guestEnv(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
