package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// fakeClock is the output budget's clock in tests: it moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// last returns the last line logged.
func (a *testAPI) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.lines) == 0 {
		return ""
	}
	return a.lines[len(a.lines)-1]
}

var droppedRE = regexp.MustCompile(`\((\d+) lines dropped: output rate limit\)`)

// dropped returns the number of drop notices of stream and the lines
// they report in all.
func (a *testAPI) dropped(stream string) (notices, lines int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, l := range a.lines {
		if m := droppedRE.FindStringSubmatch(l); m != nil && strings.HasPrefix(l, stream+": ") {
			n, _ := strconv.Atoi(m[1])
			notices++
			lines += n
		}
	}
	return notices, lines
}

// basicEvent delivers custom event name with data to an instance of the
// basic guest.
func basicEvent(t *testing.T, inst *Instance, name string, data any) error {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"name": name, "data": data})
	require.NoError(t, err)
	return inst.OnEvent(t.Context(), abi.EventCustom, raw)
}

// TestOutputBudgetSharedAcrossInstances floods stdout from an instance and
// then from its replacement, with the clock stopped: the replacement gets
// no fresh budget, and wx.log lines draw on the same one.
func TestOutputBudgetSharedAcrossInstances(t *testing.T) {
	const burst = 50
	e := testEngine(t, Config{CallTimeout: 300 * time.Millisecond})
	api := &testAPI{}
	sb := testSandbox(t, e, api, SandboxConfig{LogBurst: burst})
	clock := newFakeClock()
	sb.out.now = clock.now // no guest runs yet
	mod, err := sb.Compile(t.Context(), runtimetest.BuildWasm(t, filepath.Join("runtime", "testdata", "guests", "basic")))
	require.NoError(t, err)
	for i := range 2 {
		inst, err := sb.Instantiate(t.Context(), mod, nil)
		require.NoError(t, err)
		require.ErrorIs(t, basicEvent(t, inst, "flood", nil), ErrTimeout)
		require.Equal(t, burst, api.count("flood line"), "instance %d: a new instance got a new budget:\n%s", i, api.dump())
		inst.Close(t.Context())
	}
	notices, _ := api.dropped(streamStdout)
	require.Equal(t, 1, notices, "a stopped clock lets one notice through")

	inst, err := sb.Instantiate(t.Context(), mod, nil)
	require.NoError(t, err)
	defer inst.Close(context.Background())
	require.NoError(t, basicEvent(t, inst, "echo", "first"))
	require.Zero(t, api.count("echo"), "wx.log has a budget of its own")
	clock.advance(time.Second)
	require.NoError(t, basicEvent(t, inst, "echo", "second"))
	require.Equal(t, 1, api.count(`log: echo "second"`), api.dump())
	notices, lines := api.dropped(streamLog)
	require.Equal(t, 1, notices)
	require.Equal(t, 1, lines, "the dropped first echo")
}

// TestDropNotices floods the output budget on a clock that moves a
// millisecond a line: the lines that pass follow the rate, the "lines
// dropped" notices come at most once a second per stream, and they count
// every dropped line.
func TestDropNotices(t *testing.T) {
	const (
		rate, burst = 200, 10
		lines       = 5000 // 5 s
	)
	tests := []struct {
		name    string
		streams []string // written in turn
	}{
		{"stdout", []string{streamStdout}},
		{"stdout, stderr and wx.log share the budget", []string{streamStdout, streamStderr, streamLog}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &testAPI{}
			clock := newFakeClock()
			out := newOutputBudget(api, SandboxConfig{LogLinesPerSecond: rate, LogBurst: burst})
			out.now = clock.now
			for i := range lines {
				out.log(tt.streams[i%len(tt.streams)], abi.LevelInfo, "line")
				clock.advance(time.Millisecond)
			}
			clock.advance(noticeInterval)
			for _, s := range tt.streams {
				out.flush(s)
			}
			passed := api.count(": line")
			require.InDelta(t, burst+rate*lines/1000, passed, 2)
			dropped := 0
			for _, s := range tt.streams {
				notices, n := api.dropped(s)
				// One at the first drop, one a second after, one at the flush.
				require.LessOrEqual(t, notices, lines/1000+2, "%s notices:\n%s", s, api.dump())
				require.Positive(t, notices, s)
				dropped += n
			}
			require.Equal(t, lines-passed, dropped, "the notices miscount")
		})
	}
}

// TestModalRateLimit shows modals from the basic guest with the clock
// stopped: a burst of defaultModalBurst, then EBUSY until the clock moves,
// for the replacement instance too; a modal too big is ETOOBIG first.
func TestModalRateLimit(t *testing.T) {
	e := testEngine(t, Config{})
	api := &testAPI{}
	sb := testSandbox(t, e, api, SandboxConfig{})
	clock := newFakeClock()
	sb.out.now = clock.now // no guest runs yet
	mod, err := sb.Compile(t.Context(), runtimetest.BuildWasm(t, filepath.Join("runtime", "testdata", "guests", "basic")))
	require.NoError(t, err)
	inst, err := sb.Instantiate(t.Context(), mod, nil)
	require.NoError(t, err)
	modal := func(inst *Instance, content string) string {
		t.Helper()
		require.NoError(t, basicEvent(t, inst, "modal", map[string]any{"title": "t", "content": content}))
		return api.last()
	}
	for i := range defaultModalBurst {
		require.Contains(t, modal(inst, "c"), ": shown", "modal %d", i+1)
	}
	require.Contains(t, modal(inst, "c"), "(EBUSY)")
	require.Contains(t, modal(inst, strings.Repeat("x", maxModalContentBytes+1)), "(ETOOBIG)")
	require.Equal(t, defaultModalBurst, api.shown())

	clock.advance(time.Second / defaultModalsPerSecond)
	require.Contains(t, modal(inst, "c"), ": shown")
	require.Contains(t, modal(inst, "c"), "(EBUSY)")
	inst.Close(t.Context())

	next, err := sb.Instantiate(t.Context(), mod, nil)
	require.NoError(t, err)
	defer next.Close(context.Background())
	require.Contains(t, modal(next, "c"), "(EBUSY)", "a new instance got a new modal budget")
	require.Equal(t, defaultModalBurst+1, api.shown())
}

// TestModalSizes calls show_modal with payloads at and past each bound.
func TestModalSizes(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	// Two pages of memory, so a payload past 64 KiB fits.
	mod, err := rt.Instantiate(ctx, []byte{
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x05, 0x03, 0x01, 0x00, 0x02,
		0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00,
	})
	require.NoError(t, err)
	text := func(n int) string { return strings.Repeat("x", n) }
	modalJSON := func(m abi.Modal) string {
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
	padded := func(n int) string { // a valid modal of n bytes
		s := `{"title":"t"}`
		return s[:len(s)-1] + strings.Repeat(" ", n-len(s)) + "}"
	}
	tests := []struct {
		name    string
		payload string
		want    abi.Code // 1 for shown
	}{
		{"small", modalJSON(abi.Modal{Title: "t", Content: "c", ConfirmText: "ok", CancelText: "no"}), 1},
		{"title at the bound", modalJSON(abi.Modal{Title: text(maxModalTitleBytes)}), 1},
		{"title past the bound", modalJSON(abi.Modal{Title: text(maxModalTitleBytes + 1)}), abi.CodeTooBig},
		{"title in 3-byte runes past the bound", modalJSON(abi.Modal{Title: strings.Repeat("中", maxModalTitleBytes/3+1)}), abi.CodeTooBig},
		{"content at the bound", modalJSON(abi.Modal{Content: text(maxModalContentBytes)}), 1},
		{"content past the bound", modalJSON(abi.Modal{Content: text(maxModalContentBytes + 1)}), abi.CodeTooBig},
		{"confirm text at the bound", modalJSON(abi.Modal{ConfirmText: text(maxModalButtonBytes)}), 1},
		{"confirm text past the bound", modalJSON(abi.Modal{ConfirmText: text(maxModalButtonBytes + 1)}), abi.CodeTooBig},
		{"cancel text at the bound", modalJSON(abi.Modal{CancelText: text(maxModalButtonBytes)}), 1},
		{"cancel text past the bound", modalJSON(abi.Modal{CancelText: text(maxModalButtonBytes + 1)}), abi.CodeTooBig},
		{"payload at the bound", padded(maxModalPayloadBytes), 1},
		{"payload past the bound", padded(maxModalPayloadBytes + 1), abi.CodeTooBig},
		{"not JSON", "{", abi.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.True(t, mod.Memory().Write(0, []byte(tt.payload)))
			api := &testAPI{}
			code := wxShowModal(api, mod, []uint64{0, uint64(len(tt.payload))})
			require.Equal(t, tt.want, code, fmt.Sprintf("%d bytes", len(tt.payload)))
			if tt.want < 0 {
				require.Zero(t, api.shown(), "a refused modal reached the HostAPI")
			}
		})
	}
}
