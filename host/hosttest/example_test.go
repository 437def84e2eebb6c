package hosttest_test

import (
	"context"
	"fmt"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/hosttest"
)

// Restart to update: 1.0.0 is installed and launched, 1.1.0 is published,
// the next cold start opens 1.0.0 and gets onUpdateReady, and the host
// applies the update (a shell's "restart to update" button). The counter
// sample counts its launches in storage: launch #3 on 1.1.0 shows the
// storage kept. (A test passes t instead of nil; the kit then stops it
// with t.Fatal on error and closes itself at cleanup.)
func Example() {
	ctx := context.Background()
	k := hosttest.New(nil, hosttest.Config{})
	defer k.Close(ctx)
	k.Publish(ctx, "counter", "1.0.0")
	k.ColdStart(ctx, "demo.counter") // first install: blocked until 1.0.0 is in
	fmt.Println(k.WaitEvent(ctx, host.EventLog).Message)
	k.Publish(ctx, "counter", "1.1.0")
	app := k.ColdStart(ctx, "demo.counter") // 1.0.0 opens; 1.1.0 downloads behind it
	fmt.Println(k.WaitEvent(ctx, host.EventLog).Message)
	fmt.Println(k.WaitEvent(ctx, host.EventUpdateReady).Event)
	if err := app.ApplyUpdate(ctx); err != nil { // 1.1.0 runs when it returns
		panic(err)
	}
	k.WaitEvent(ctx, host.EventApplyUpdate)
	fmt.Println(k.WaitEvent(ctx, host.EventLog).Message)
	// Output:
	// counter v1.0.0: launch #1 (reason launch)
	// counter v1.0.0: launch #2 (reason launch)
	// updateReady
	// counter v1.1.0: launch #3 (reason update)
}
