package runtime

// IdleBytes returns what e's pool counts for the Runtimes parked in it,
// for the benchmarks of package runtime_test.
func IdleBytes(e *Engine) int64 { return e.pool.size() }
