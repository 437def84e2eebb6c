package shell_test

import (
	"context"
	"log"
	"net/http"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/host/shell"
)

// An embedding shell mounts the web UI under a prefix of its own server,
// on loopback, and closes it (and with it the host and its apps) when done.
func Example() {
	sh, err := shell.New(shell.Config{
		Host:     host.Config{}, // Home: $MINIHOST_HOME; set Updates for a release server
		Packages: []string{"counter-1.0.0.mpk"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sh.Close(context.Background())
	mux := http.NewServeMux()
	mux.Handle("/shell/", http.StripPrefix("/shell", sh))
	log.Fatal(http.ListenAndServe("127.0.0.1:8710", mux))
}
