package host_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/hosttest"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/updatertest"
)

// embed is the README's "Embedding" block, word for word
// (TestReadmeEmbedding keeps the two identical): a shell opens an app
// from a release server, waits for the cold start's update without
// sleeping, and applies it, as its "restart to update" button would.
func embed(ctx context.Context, server string, key ed25519.PublicKey) error {
	h, err := host.New(host.Config{Updates: &host.UpdateConfig{Server: server, PublicKey: key}})
	if err != nil {
		return err
	}
	defer h.Close(ctx) // it closes its apps too
	app, err := h.Launch(ctx, "demo.counter")
	if err == nil && app.WaitUpdate(ctx).Version != "" { // onUpdateReady, never a sleep
		err = app.ApplyUpdate(ctx) // what a "restart to update" button calls
	}
	return err
}

// opened is the version the app last ran, from the store in home.
func opened(home, appID string) string {
	s, err := updater.OpenStore(updater.StoreConfig{Dir: home})
	if err != nil {
		log.Fatal(err)
	}
	state, err := s.Load(appID)
	if err != nil {
		log.Fatal(err)
	}
	return state.Active
}

// Example_embedding runs the README's embedding block twice against a
// release server: the first launch installs 1.0.0; after 1.1.0 is
// published, the next one opens 1.0.0, waits for 1.1.0 to be ready and
// applies it. The host uses the real clock here, so the kit's server
// signs at real time too.
func Example_embedding() {
	ctx := context.Background()
	k := hosttest.New(nil, hosttest.Config{Server: updatertest.Config{Clock: updatertest.NewFakeClock(time.Now())}})
	defer k.Close(ctx)
	defer os.Setenv("MINIHOST_HOME", os.Getenv("MINIHOST_HOME"))
	os.Setenv("MINIHOST_HOME", k.Home) // the block's host.Config has no Home: host.DefaultHome
	for _, v := range []string{"1.0.0", "1.1.0"} {
		k.Publish(ctx, "counter", v)
		if err := embed(ctx, k.Server.URL, k.Server.PublicKey); err != nil {
			log.Fatal(err)
		}
		fmt.Println("running", opened(k.Home, "demo.counter"))
	}
	// Output:
	// running 1.0.0
	// running 1.1.0
}
