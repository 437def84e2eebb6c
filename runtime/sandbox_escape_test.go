package runtime

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minihost/minihost/runtime/internal/wasmbin"
	"github.com/minihost/minihost/runtime/runtimetest"
	"github.com/minihost/minihost/samples/wx/abi"
)

// testAPI is a goroutine-safe HostAPI that keeps what the guest logged and
// counts the modals it showed; storage is denied.
type testAPI struct {
	nopAPI
	mu     sync.Mutex
	lines  []string
	modals int
	// logged, if not nil, gets every line, or drops it when full.
	logged chan string
}

func (a *testAPI) Log(_ abi.LogLevel, stream string, msg string) {
	line := stream + ": " + msg
	a.mu.Lock()
	a.lines = append(a.lines, line)
	a.mu.Unlock()
	if a.logged != nil {
		select {
		case a.logged <- line:
		default:
		}
	}
}

func (a *testAPI) ShowModal(abi.Modal) (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.modals++
	return uint32(a.modals), nil
}

// count returns how many lines contain sub.
func (a *testAPI) count(sub string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, l := range a.lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

func (a *testAPI) dump() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.lines, "\n")
}

func (a *testAPI) shown() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.modals
}

// testEngine returns an Engine on the shared test compilation cache.
// goErr runs fn on a goroutine and returns the channel its error arrives on.
func goErr(fn func() error) <-chan error {
	c := make(chan error, 1)
	go func() { c <- fn() }()
	return c
}

func testEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	cfg.CacheDir = runtimetest.CacheDir(t)
	e, err := NewEngine(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// testSandbox returns a Sandbox of e serving api, closed at cleanup.
func testSandbox(t testing.TB, e *Engine, api HostAPI, cfg SandboxConfig) *Sandbox {
	t.Helper()
	if cfg.AppID == "" {
		cfg.AppID = "test." + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "."))
	}
	cfg.API = api
	sb, err := e.NewSandboxWith(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { sb.Close(context.Background()) })
	return sb
}

// await returns what errc delivers, failing the test after limit with
// what it waited for.
func await(t *testing.T, errc <-chan error, limit time.Duration, what string) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(limit):
		t.Fatalf("%s: still running after %v", what, limit)
		return nil
	}
}

// callbackCode returns the code a callback returned: 0 for no error, the
// code of an ErrCallback, and fails the test on any other error.
func callbackCode(t *testing.T, err error) int32 {
	t.Helper()
	if err == nil {
		return 0
	}
	require.ErrorIs(t, err, ErrCallback)
	var ce *callError
	require.ErrorAs(t, err, &ce)
	msg := ce.Err.Error()
	code, perr := strconv.Atoi(msg[strings.LastIndex(msg, " ")+1:])
	require.NoError(t, perr, "no code in %q", msg)
	return int32(code)
}

// TestStartFunctionDeadline instantiates modules whose wasm start function
// loops forever, or sleeps an hour and then loops: wazero runs it inside
// InstantiateModule, which must run under the call deadline.
func TestStartFunctionDeadline(t *testing.T) {
	const timeout = 200 * time.Millisecond
	e := testEngine(t, Config{CallTimeout: timeout})
	tests := []struct {
		name string
		mod  abiModule
	}{
		{"loop", abiModule{tableMin: 1, start: loopForever}},
		{"sleep", abiModule{tableMin: 1, start: sleepThenLoop, data: sleepSubscription()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := testSandbox(t, e, &testAPI{}, SandboxConfig{})
			mod, err := sb.Compile(t.Context(), tt.mod.bytes())
			require.NoError(t, err)
			errc := make(chan error, 1)
			go func() {
				_, err := sb.Instantiate(t.Context(), mod, nil)
				errc <- err
			}()
			// Generous for -race on a loaded machine; without the
			// deadline Instantiate never returns.
			err = await(t, errc, 30*time.Second, "Instantiate of a module whose start function never returns")
			require.ErrorIs(t, err, ErrTimeout)
			var ce *callError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, "instantiate", ce.Callback)
			require.Contains(t, err.Error(), "deadline exceeded after 200ms")

			// Validate runs the start function too, under the same
			// deadline: a release like this is refused before any
			// client sees it.
			err = await(t, goErr(func() error { return e.Validate(t.Context(), "test.validate", tt.mod.bytes()) }),
				30*time.Second, "Validate of a module whose start function never returns")
			require.ErrorIs(t, err, ErrTimeout, "Validate")

			// The Sandbox goes on: a module without a start function runs.
			healthy, err := sb.Compile(t.Context(), abiModule{tableMin: 1}.bytes())
			require.NoError(t, err)
			inst, err := sb.Instantiate(t.Context(), healthy, nil)
			require.NoError(t, err)
			require.NoError(t, inst.OnLaunch(t.Context(), abi.LaunchOptions{Version: "1.0.0", Reason: abi.ReasonLaunch}))
			require.NoError(t, inst.Close(t.Context()))
		})
	}
}

// TestCloseStopsInstantiate closes a Sandbox while an Instantiate runs a
// start function that loops under a deadline of an hour: Close stops it at
// once and Instantiate fails with ErrClosed.
func TestCloseStopsInstantiate(t *testing.T) {
	e := testEngine(t, Config{})
	api := &testAPI{logged: make(chan string, 16)}
	sb := testSandbox(t, e, api, SandboxConfig{CallTimeout: time.Hour})
	mod, err := sb.Compile(t.Context(), abiModule{tableMin: 1, start: logThenLoop, data: startedData()}.bytes())
	require.NoError(t, err)
	instErr := make(chan error, 1)
	go func() {
		_, err := sb.Instantiate(t.Context(), mod, nil)
		instErr <- err
	}()
	select {
	case line := <-api.logged:
		require.Equal(t, "log: started", line)
	case err := <-instErr:
		t.Fatalf("Instantiate returned before its start function ran: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the start function did not log within 30s")
	}
	closeErr := make(chan error, 1)
	go func() { closeErr <- sb.Close(context.Background()) }()
	require.NoError(t, await(t, closeErr, 30*time.Second, "Close of a Sandbox whose Instantiate loops in a start function"))
	err = await(t, instErr, 30*time.Second, "Instantiate after Close")
	require.ErrorIs(t, err, ErrClosed)
}

// TestCompileConcurrentWithClose compiles and instantiates in several
// goroutines while another closes the Sandbox, many times: every call
// succeeds or fails with ErrClosed, nothing crashes or races, every
// Module returned is closed by Close, and after Close the Sandbox, its
// Modules and its Instances all refuse work with ErrClosed.
func TestCompileConcurrentWithClose(t *testing.T) {
	e := testEngine(t, Config{})
	small := abiModule{tableMin: 1}.bytes()
	goGuest := runtimetest.BuildWasm(t, filepath.Join("runtime", "testdata", "guests", "basic"))
	for round := range 30 {
		wasm := small
		if round%10 == 0 {
			wasm = goGuest // longer to compile, so Close often lands inside
		}
		sb, err := e.NewSandbox(t.Context(), fmt.Sprintf("test.close%d", round), nopAPI{})
		require.NoError(t, err)
		var (
			mu      sync.Mutex
			modules []*Module
			insts   []*Instance
		)
		const workers = 3
		errc := make(chan error, workers+1)
		for range workers {
			go func() {
				m, err := sb.Compile(t.Context(), wasm)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				modules = append(modules, m)
				mu.Unlock()
				inst, err := sb.Instantiate(t.Context(), m, nil)
				if err == nil {
					mu.Lock()
					insts = append(insts, inst)
					mu.Unlock()
				}
				errc <- err
			}()
		}
		go func() { errc <- sb.Close(context.Background()) }()
		for range workers + 1 {
			err := await(t, errc, time.Minute, fmt.Sprintf("round %d: Compile, Instantiate and Close", round))
			if err != nil {
				require.ErrorIs(t, err, ErrClosed, "round %d", round)
			}
		}
		for _, m := range modules {
			require.True(t, m.closed.Load(), "round %d: a Module outlived its Sandbox", round)
		}
		require.Empty(t, sb.modules, "round %d", round)
		for _, inst := range insts {
			require.ErrorIs(t, inst.OnShow(t.Context()), ErrClosed, "round %d", round)
		}
		_, err = sb.Compile(t.Context(), wasm)
		require.ErrorIs(t, err, ErrClosed, "round %d: Compile after Close", round)
		_, err = sb.Compile(t.Context(), nil)
		require.ErrorIs(t, err, ErrClosed, "round %d: Compile of nothing after Close", round)
		for _, m := range modules {
			_, err = sb.Instantiate(t.Context(), m, nil)
			require.ErrorIs(t, err, ErrClosed, "round %d: Instantiate after Close", round)
		}
		require.NoError(t, sb.Close(t.Context()), "round %d: a second Close", round)
	}
}

// TestTableGrowIsCapped grows the table of a module declaring it as Go's
// linker does (no maximum) by up to 2^32-2 elements: past the cap the grow
// returns -1, as wasm specifies for a refused grow, the host keeps its
// memory, and the instance and other apps go on.
func TestTableGrowIsCapped(t *testing.T) {
	e := testEngine(t, Config{})
	sb := testSandbox(t, e, &testAPI{}, SandboxConfig{})
	mod, err := sb.Compile(t.Context(), abiModule{tableMin: 1}.bytes())
	require.NoError(t, err)
	inst, err := sb.Instantiate(t.Context(), mod, nil)
	require.NoError(t, err)
	defer inst.Close(context.Background())
	grow := func(delta uint32) int32 {
		return callbackCode(t, inst.OnEvent(t.Context(), abi.EventKind(int32(delta)), nil))
	}
	const limit = defaultMaxTableElements
	tests := []struct {
		name  string
		delta uint32
		want  int32 // the old size, or -1
	}{
		{"within the cap", 15, 1},
		// Without the cap this one takes 8 MiB and answers 16.
		{"one past the cap", limit - 16 + 1, -1},
		{"2^27, 1 GiB without the cap", 1 << 27, -1},
		{"2^31-1", 1<<31 - 1, -1},
		{"2^32-2, fatal without the cap", 1<<32 - 2, -1},
		{"up to the cap", limit - 16, 16},
		{"one more", 1, -1},
	}
	for _, tt := range tests {
		ok := t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, grow(tt.delta))
			require.NoError(t, inst.Err(), "a refused grow is no error")
		})
		if !ok {
			// Without the cap, the next cases take 16 GiB or more.
			t.FailNow()
		}
	}
	require.Equal(t, int32(limit), callbackCode(t, inst.OnShow(t.Context())), "table.size")

	// Another app is unaffected.
	other := testSandbox(t, e, &testAPI{}, SandboxConfig{AppID: "test.other"})
	m2, err := other.Compile(t.Context(), abiModule{tableMin: 1}.bytes())
	require.NoError(t, err)
	inst2, err := other.Instantiate(t.Context(), m2, nil)
	require.NoError(t, err)
	defer inst2.Close(context.Background())
	require.Equal(t, int32(1), callbackCode(t, inst2.OnShow(t.Context())))
	require.Equal(t, int32(1), callbackCode(t, inst2.OnEvent(t.Context(), 10, nil)))
}

// TestTableLimits compiles modules whose tables do not fit the cap, or are
// imported, and checks a configured cap.
func TestTableLimits(t *testing.T) {
	e := testEngine(t, Config{})
	tests := []struct {
		name    string
		mod     abiModule
		cfg     SandboxConfig
		want    error
		message string
	}{
		{"min above the default cap", abiModule{tableMin: defaultMaxTableElements + 1}, SandboxConfig{}, wasmbin.ErrTableLimit,
			"table 0 declares a minimum of 1048577 elements, above the cap of 1048576"},
		{"min at 2^27, wazero's own limit", abiModule{tableMin: 1 << 27}, SandboxConfig{}, wasmbin.ErrTableLimit, "above the cap"},
		{"min above a configured cap", abiModule{tableMin: 101}, SandboxConfig{MaxTableElements: 100}, wasmbin.ErrTableLimit,
			"table 0 declares a minimum of 101 elements, above the cap of 100"},
		{"imported table", abiModule{tableMin: 1, importTable: true}, SandboxConfig{}, ErrNotABI, `"env"."table" is a table`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb := testSandbox(t, e, &testAPI{}, tt.cfg)
			_, err := sb.Compile(t.Context(), tt.mod.bytes())
			require.ErrorIs(t, err, tt.want)
			require.ErrorIs(t, err, ErrNotABI, "a cap of the runtime's is ErrNotABI")
			require.Contains(t, err.Error(), tt.message)
			var ce *compileError
			require.ErrorAs(t, err, &ce)
			if tt.cfg == (SandboxConfig{}) {
				require.ErrorIs(t, e.Validate(t.Context(), "test.validate", tt.mod.bytes()), tt.want, "Validate")
			}
		})
	}

	t.Run("configured cap", func(t *testing.T) {
		sb := testSandbox(t, e, &testAPI{}, SandboxConfig{MaxTableElements: 100})
		mod, err := sb.Compile(t.Context(), abiModule{tableMin: 1}.bytes())
		require.NoError(t, err)
		inst, err := sb.Instantiate(t.Context(), mod, nil)
		require.NoError(t, err)
		defer inst.Close(context.Background())
		require.Equal(t, int32(-1), callbackCode(t, inst.OnEvent(t.Context(), 100, nil)))
		require.Equal(t, int32(1), callbackCode(t, inst.OnEvent(t.Context(), 99, nil)))
		require.Equal(t, int32(100), callbackCode(t, inst.OnShow(t.Context())))
	})

	t.Run("Go guests fit", func(t *testing.T) {
		sb := testSandbox(t, e, &testAPI{}, SandboxConfig{})
		for _, guest := range []string{"runtime/testdata/guests/adversary", "samples/counter"} {
			_, err := sb.Compile(t.Context(), runtimetest.BuildWasm(t, guest))
			require.NoError(t, err, guest)
		}
	})
}

// TestCloseStopsCallback: Sandbox.Close stops a callback that loops, long
// before its deadline, and does not park the Runtime it was running in.
func TestCloseStopsCallback(t *testing.T) {
	e := testEngine(t, Config{CallTimeout: time.Minute})
	api := &testAPI{logged: make(chan string, 1)}
	sb := testSandbox(t, e, api, SandboxConfig{AppID: "test.closeloop"})
	// onShow logs "looping" (memory offset 0), then loops.
	show := []byte{opI32Const, byte(abi.LevelInfo), opI32Const, 0, opI32Const, 7, opCall, fnLog, opDrop}
	show = append(append(show, loopForever...), i32Const(0)...)
	mod, err := sb.Compile(t.Context(), abiModule{tableMin: 1, show: show, data: []byte("looping")}.bytes())
	require.NoError(t, err)
	inst, err := sb.Instantiate(t.Context(), mod, nil)
	require.NoError(t, err)
	errc := goErr(func() error { return inst.OnShow(t.Context()) })
	select {
	case <-api.logged:
	case <-time.After(30 * time.Second):
		t.Fatal("onShow did not start (no log line in 30 s)")
	}
	require.NoError(t, await(t, goErr(func() error { return sb.Close(t.Context()) }), 30*time.Second, "Close of a Sandbox whose callback loops"))
	err = await(t, errc, 30*time.Second, "the looping OnShow to end after Close (its deadline is a minute away)")
	require.ErrorIs(t, err, errSandboxClosed)
	require.Zero(t, e.pool.size(), "the Runtime a callback was running in was parked")
}

// TestCompileRefusesFunctionTypePastTheTypes: a function whose type index
// is past the type section, called from another, made wazero v1.12 panic
// (index out of range) inside CompileModule, taking the host and the
// release server's validator down; found by FuzzAddInterrupts. Compile
// and Validate refuse it as malformed.
func TestCompileRefusesFunctionTypePastTheTypes(t *testing.T) {
	wasm := []byte("\x00asm\x01\x00\x00\x00\x01\b\x02`\x00\x00`\x01\x7f\x00\x03\x03\x02\x000\a\x05\x01\x010\x00\x00\n\x1e\x02\x06\x00A0\x10\x01\v\x15\x00000000000000000000A\v")
	e := testEngine(t, Config{})
	sb := testSandbox(t, e, &testAPI{}, SandboxConfig{})
	_, err := sb.Compile(t.Context(), wasm)
	require.ErrorIs(t, err, ErrMalformedWasm)
	require.ErrorContains(t, err, "function section: function 1 has type 48, and the module declares 2 types before it")
	require.ErrorIs(t, e.Validate(t.Context(), "test.validate", wasm), ErrMalformedWasm)
}
