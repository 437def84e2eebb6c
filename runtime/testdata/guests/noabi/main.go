//go:build wasip1

// Command noabi is a valid WASI reactor that was not built with the
// minihost SDK: it lacks minihost_abi_version (and every other minihost_*
// export), so the host must refuse it with a clear error.
package main

//lint:file-ignore U1000 add is called by the host, through go:wasmexport.

//go:wasmexport add
func add(a, b int32) int32 { return a + b }

// main never runs: the module is a reactor.
func main() {}
