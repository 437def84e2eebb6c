package host_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// TestCounterPage renders the counter sample's page, taps "+1" through
// App.View and sees the count the guest set, in order.
func TestCounterPage(t *testing.T) {
	h, ev := newHost(t, t.TempDir(), host.Config{})
	a, err := h.LaunchPackage(t.Context(), runtimetest.BuildPackage(t, "samples/counter", "1.0.0"))
	require.NoError(t, err)
	ev.waitFor(t, func(e host.Event) bool { return e.Event == host.EventView && e.Page == "index" })

	render := func() string {
		t.Helper()
		var b bytes.Buffer
		require.NoError(t, a.RenderPage(t.Context(), &b, "index"))
		return b.String()
	}
	require.Contains(t, render(), `<p id="count">0</p>`)
	for range 3 {
		require.NoError(t, a.View(t.Context(), abi.ViewEvent{Page: "index", Handler: "inc"}))
	}
	require.Contains(t, render(), `<p id="count">3</p>`)
	require.Contains(t, render(), `v1.0.0`)

	var b bytes.Buffer
	err = a.RenderPage(t.Context(), &b, "missing")
	require.ErrorContains(t, err, "pages/missing.html")
	require.Zero(t, b.Len(), "a failed render wrote")
}

func TestViewEventChecked(t *testing.T) {
	h, _ := newHost(t, t.TempDir(), host.Config{})
	a, err := h.LaunchPackage(t.Context(), runtimetest.BuildPackage(t, "samples/counter", "1.0.0"))
	require.NoError(t, err)
	tests := []struct {
		name string
		ev   abi.ViewEvent
		want string
	}{
		{"bad page", abi.ViewEvent{Page: "../x", Handler: "inc"}, "not a page name"},
		{"bad handler", abi.ViewEvent{Page: "index", Handler: "in c"}, "not a handler name"},
		{"value too big", abi.ViewEvent{Page: "index", Handler: "inc", Value: strings.Repeat("x", 4097)}, "at most 4096"},
		{"value not UTF-8", abi.ViewEvent{Page: "index", Handler: "inc", Value: "\xff"}, "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, a.View(t.Context(), tt.ev), tt.want)
		})
	}
	var b bytes.Buffer
	require.ErrorContains(t, a.RenderPage(t.Context(), &b, "../app"), "not a page name")
}

func TestAsset(t *testing.T) {
	h, _ := newHost(t, t.TempDir(), host.Config{})
	a, err := h.LaunchPackage(t.Context(), runtimetest.BuildPackage(t, "samples/counter", "1.0.0"))
	require.NoError(t, err)
	b, err := a.Asset(t.Context(), "icon.svg")
	require.NoError(t, err)
	require.Contains(t, string(b), "<svg")
	tests := []struct {
		name, path, want string
	}{
		{"outside the package", "../app.json", "not a path inside"},
		{"dot dot inside", "x/../../app.json", "not a path inside"},
		{"absolute", "/etc/passwd", "not a path inside"},
		{"empty", "", "not a path inside"},
		{"a folder", ".", "not a path inside"},
		{"missing", "missing.png", "missing.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Asset(t.Context(), tt.path)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
