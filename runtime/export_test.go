package runtime

// IdleBytes returns what e's pool counts for the Runtimes parked in it,
// for the benchmarks of package runtime_test.
func IdleBytes(e *Engine) int64 { return e.pool.size() }

// What the external tests (package runtime_test) need of the package's
// insides: the error types a failed call or compile returns, and the
// defaults the output and deadline tests measure against.
type (
	CallError    = callError
	CompileError = compileError
)

const (
	DefaultCallTimeout       = defaultCallTimeout
	DefaultLogBurst          = defaultLogBurst
	DefaultLogLinesPerSecond = defaultLogLinesPerSecond
)
