package runtime

import "context"

// IdleBytes returns what e's pool counts for the Runtimes parked in it,
// for the benchmarks of package runtime_test.
func IdleBytes(e *Engine) int64 { return e.pool.size() }

// What the external tests (package runtime_test) need of the package's
// insides: the error types a failed call or compile returns, the
// configuration of a Sandbox with limits of its own, and the defaults the
// output and deadline tests measure against.
type (
	CallError     = callError
	CompileError  = compileError
	SandboxConfig = sandboxConfig
)

// NewSandboxWith is NewSandbox with a whole configuration: limits of the
// Sandbox's own where cfg sets them, the Engine's where it leaves zero.
func (e *Engine) NewSandboxWith(ctx context.Context, cfg SandboxConfig) (*Sandbox, error) {
	return e.newSandbox(ctx, cfg, true)
}

// CacheDir returns e's compilation cache folder, "" when the cache is in
// memory.
func CacheDir(e *Engine) string { return e.cacheDir }

const (
	DefaultCallTimeout       = defaultCallTimeout
	DefaultLogBurst          = defaultLogBurst
	DefaultLogLinesPerSecond = defaultLogLinesPerSecond
)
