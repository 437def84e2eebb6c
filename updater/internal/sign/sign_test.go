package sign_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/internal/sign"
	"github.com/minihost/minihost/updater/internal/wire"
)

func ExampleDocument() {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	env, err := sign.Document(&updater.Document{
		AppID:    "demo.counter",
		Sequence: 3,
		Latest: &updater.Release{Version: "1.2.0", Size: 4096, SHA256: strings.Repeat("0", 64),
			Path: wire.PackagePath("demo.counter", "1.2.0")},
		RolloutPercent: 100,
		IssuedAt:       now,
		ExpiresAt:      now.Add(updater.DefaultDocumentLifetime),
	}, key)
	if err != nil {
		panic(err)
	}
	// The client holds the public key and the last sequence it verified.
	pub := key.Public().(ed25519.PublicKey)
	doc, err := updater.VerifyDocument(env, pub, updater.VerifyOptions{AppID: "demo.counter", MinSequence: 2, Now: now.Add(time.Minute)})
	fmt.Println(doc.Latest.Version, doc.Latest.Path, err)
	_, err = updater.VerifyDocument(env, pub, updater.VerifyOptions{AppID: "demo.counter", MinSequence: 2, Now: now.Add(2 * time.Hour)})
	fmt.Println(errors.Is(err, updater.ErrExpired))
	// Output:
	// 1.2.0 apps/demo.counter/packages/1.2.0.mpk <nil>
	// true
}
