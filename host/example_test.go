package host_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/runtime/mpk"
)

// Example shows a desktop shell embedding the host: it supplies a UI and
// an event sink, launches a package, and moves it to the background and
// back before closing it.
func Example() {
	ctx := context.Background()
	home, err := os.MkdirTemp("", "minihost-example-*")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(home)

	// Build the hello sample into a code package.
	pkg := filepath.Join(home, "hello.mpk")
	if err := mpk.Build(ctx, "../samples/hello", pkg, mpk.BuildOptions{Version: "1.0.0"}); err != nil {
		log.Fatal(err)
	}

	h, err := host.New(host.Config{
		Home: home,
		UI:   host.AutoAnswer(true), // a real shell shows a dialog
		OnEvent: func(ev host.Event) {
			if ev.Event == host.EventLog {
				fmt.Println("  guest:", ev.Message)
				return
			}
			fmt.Println(strings.TrimSpace(fmt.Sprint(ev.Event, " ", ev.App, " ", ev.Version, " ", ev.Reason)))
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	app, err := h.LaunchPackage(ctx, pkg)
	if err != nil {
		log.Fatal(err)
	}
	app.Hide(ctx)
	app.Show(ctx)
	app.Close(ctx)
	// Output:
	//   guest: hello v1.0.0: onLaunch (reason launch)
	// launch demo.hello 1.0.0 launch
	//   guest: hello v1.0.0: onShow
	// show demo.hello 1.0.0
	//   guest: hello v1.0.0: onHide
	// hide demo.hello 1.0.0
	//   guest: hello v1.0.0: onShow
	// show demo.hello 1.0.0
	//   guest: hello v1.0.0: onHide
	// hide demo.hello 1.0.0
	// exit demo.hello 1.0.0 closed
}
