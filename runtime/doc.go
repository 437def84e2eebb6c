// Package runtime executes mini program code packages in a sandbox on
// wazero. It knows nothing of updates: it compiles a guest module (capping
// its tables first), starts instances of it with their limits (memory cap,
// a deadline per callback and on instantiation, a budget of output lines
// and modals per app, a read-only view of the package's files, real clocks
// and randomness, no environment, arguments, host files or network),
// delivers lifecycle callbacks and events to them, and serves the host
// module "wx" through a HostAPI the embedder supplies. The guest ABI is
// specified in ABI.md.
//
// The objects nest: one Engine per process (the shared compilation cache
// and compile workers), one Sandbox per running app (a wazero Runtime: limits
// are per Runtime), Modules compiled in that Sandbox, and Instances of a
// Module. An Instance is driven by one goroutine at a time (the app's
// dispatcher); an Instance that trapped or timed out reports it through Err
// and must be replaced, never reused.
package runtime
