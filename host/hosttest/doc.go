// Package hosttest is the test kit for restart-to-update, in the spirit of
// net/http/httptest: one call ([New]) gives a release server on loopback
// ([updatertest.Server]), its fake clock, and a [host.Host] wired to both,
// so a test publishes versions, cold starts an app, sees its update
// events and applies the update from the host side, as a desktop shell's
// "restart to update" button does.
//
// # No clock plumbing
//
// The kit builds every host itself, with the server's clock as both the
// launch policy's clock and the clock documents expire against
// (host.UpdateConfig Clock and Now). A test cannot forget either, so the
// kit's documents never look expired. The fake clock moves only when the
// test moves it (Kit.Clock.Advance): a sync launch's deadline and the
// retry backoffs do not pass by themselves, which keeps runs
// deterministic.
//
// # Built-in samples
//
// Kit.Package and Kit.Publish build the samples of this module ("counter",
// "hello") at any version, found with `go list`, so they work from any
// module that requires this one, with no path into this repository. They
// also take an import path or a folder of the caller's own mini program.
// Each (sample, version) is built once per test process. JavaScript
// samples ("seed-js", "crash-js", or a folder whose app.json says
// "runtime": "js") need the JS base library: the first one a Kit builds
// also builds samples/jsbase (once per process) and gives it to the Kit's
// hosts as host.Config.BaseLibrary; publish "jsbase" at a version to
// offer hosts a newer one from the server.
//
// # Waits
//
// Kit.WaitEvent waits with a deadline: the ctx's, else
// Config.Wait (3 minutes by default). A wait that fails stops the test with what it
// waited for and the events that arrived instead.
//
// # Usage
//
//	func TestRestartToUpdate(t *testing.T) {
//		ctx := t.Context()
//		k := hosttest.New(t, hosttest.Config{})
//		k.Publish(ctx, "counter", "1.0.0")
//		k.ColdStart(ctx, "demo.counter") // first install: 1.0.0
//		k.Publish(ctx, "counter", "1.1.0")
//		app := k.ColdStart(ctx, "demo.counter") // 1.0.0 opens; 1.1.0 downloads
//		k.WaitEvent(ctx, host.EventUpdateReady)
//		require.NoError(t, app.ApplyUpdate(ctx)) // the "restart to update" button
//		require.Equal(t, "1.1.0", app.Version())
//	}
//
// A Kit is for one test goroutine: call its methods from the test (they
// stop it with tb.Fatal on error), not from event callbacks. New
// registers Close with tb.Cleanup; with a nil tb (an Example, a
// TestMain) failures panic and the caller calls Close.
package hosttest
