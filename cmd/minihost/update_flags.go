package main

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/minihost/minihost/host"
	"github.com/minihost/minihost/updater"
)

// updateFlags are the flags of commands that talk to a release server as
// a client (run APPID, check).
type updateFlags struct {
	server      *string
	pubkey      *string
	syncTimeout *time.Duration
	now         *string
	clientID    *string
}

func addUpdateFlags(fs *flag.FlagSet) *updateFlags {
	return &updateFlags{
		server:      fs.String("server", "", "release server (or static export) URL; turns on updates"),
		pubkey:      fs.String("pubkey", "", "the release server's public key: a file (KEYFILE.pub) or the key text it holds (older bare base64 keys work too)"),
		syncTimeout: fs.Duration("sync-timeout", updater.PolicyConfig{}.WithDefaults().SyncTimeout, "bound of a sync launch's check and download"),
		now:         fs.String("now", "", "pretend the launch policy's clock reads this RFC 3339 time (last use, long-unused, recent window); signatures and expiry keep the real clock"),
		clientID:    fs.String("client-id", "", "this installation's id for staged rollouts (default: a random id kept in the home)"),
	}
}

// config returns the host's update config, or nil without --server.
func (u *updateFlags) config() (*host.UpdateConfig, error) {
	if *u.server == "" {
		if *u.pubkey != "" || *u.now != "" {
			return nil, errors.New("--pubkey and --now need --server")
		}
		return nil, nil
	}
	if *u.pubkey == "" {
		return nil, errors.New("--server needs --pubkey (the server's public key; never fetched from the server)")
	}
	pub, err := loadPubkey(*u.pubkey)
	if err != nil {
		return nil, fmt.Errorf("--pubkey: %w", err)
	}
	if *u.syncTimeout <= 0 {
		return nil, fmt.Errorf("--sync-timeout %v: must be positive", *u.syncTimeout)
	}
	cfg := &host.UpdateConfig{
		Server:    *u.server,
		PublicKey: pub,
		ClientID:  *u.clientID,
		Policy:    updater.PolicyConfig{SyncTimeout: *u.syncTimeout},
	}
	if *u.now != "" {
		t, err := time.Parse(time.RFC3339, *u.now)
		if err != nil {
			return nil, fmt.Errorf("--now %q: want RFC 3339, like 2026-12-01T09:00:00Z", *u.now)
		}
		cfg.Clock = offsetClock{offset: time.Until(t)}
	}
	return cfg, nil
}

// loadPubkey reads a --pubkey value: a public key file, or the key's text
// (the line KEYFILE.pub holds, or an older bare base64 key). It refuses a
// private key, file or text, without quoting it. A value that is neither a
// file nor a key is reported as a missing file, by its path, unless it
// looks like key text (then the parse error, which never quotes it).
func loadPubkey(v string) (ed25519.PublicKey, error) {
	if s := strings.TrimSpace(v); strings.HasPrefix(s, updater.PublicKeyPrefix) || strings.Contains(s, "-----BEGIN ") {
		return updater.ParsePublicKey(v) // key text, never a file name
	}
	pub, err := updater.LoadPublicKey(v)
	if errors.Is(err, fs.ErrNotExist) {
		p, perr := updater.ParsePublicKey(v)
		if perr == nil {
			return p, nil
		}
		if errors.Is(perr, updater.ErrWrongKeyKind) || looksLikeKeyText(v) {
			return nil, perr // never quote what may be key material as a path
		}
	}
	return pub, err
}

// looksLikeKeyText reports whether v is more likely base64 key text than a
// file name: long, in the base64 alphabets, without a dot.
func looksLikeKeyText(v string) bool {
	v = strings.TrimSpace(v)
	return len(v) >= 40 && strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_") == ""
}

// offsetClock is the system clock shifted by offset: `--now` pretends time
// has passed for the launch policy only.
type offsetClock struct{ offset time.Duration }

var _ updater.Clock = offsetClock{}

func (c offsetClock) Now() time.Time { return time.Now().Add(c.offset) }
func (c offsetClock) NewTimer(d time.Duration) updater.Timer {
	return updater.SystemClock().NewTimer(d)
}

// formatDecision renders a decision trace on one line.
func formatDecision(d *host.Decision) string {
	if d == nil {
		return "decision"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "decision: %s launch [%s] (%s)", d.Mode, strings.Join(d.Rules, " "), d.Reason)
	if d.Check != nil {
		fmt.Fprintf(&b, "; check %s in %v", d.Check.Result, d.Check.Duration.Round(time.Millisecond))
		if d.Check.Latest != "" {
			fmt.Fprintf(&b, " (latest %s)", d.Check.Latest)
		}
	}
	if d.OutcomeReason != "" {
		fmt.Fprintf(&b, "; %s", d.OutcomeReason)
	}
	if d.Download != nil {
		fmt.Fprintf(&b, "; download %s %s, %d bytes in %v", d.Download.Version, d.Download.Result, d.Download.Bytes, d.Download.Duration.Round(time.Millisecond))
	}
	if d.Opened != "" {
		fmt.Fprintf(&b, "; opened %s", d.Opened)
	}
	return b.String()
}
