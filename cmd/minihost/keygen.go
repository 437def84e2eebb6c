package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/minihost/minihost/updater"
)

const keygenSynopsis = `-o KEYFILE

Makes an ed25519 key pair for a release server: KEYFILE holds the private
key (PEM, mode 0600; keep it secret, give it to "minihost serve --key" and
"minihost export --key"), KEYFILE.pub the public key (base64), which
clients are given ("minihost run --pubkey KEYFILE.pub"). Refuses to
overwrite either file.`

func runKeygen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("keygen", keygenSynopsis, "minihost keygen -o release.key", stderr)
	out := fs.String("o", "", "private key file to write (the public key goes to FILE.pub)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(fs, stderr, "takes no arguments")
	}
	if *out == "" {
		return usageError(fs, stderr, "-o KEYFILE is required")
	}
	pub, err := writeKeyPair(*out)
	if err != nil {
		fmt.Fprintf(stderr, "minihost keygen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote private key %s (keep it secret) and public key %s.pub (key id %s)\npublic key: %s\n",
		*out, *out, updater.KeyID(pub), updater.EncodePublicKey(pub))
	return 0
}

// writeKeyPair makes a key pair and writes path (0600) and path.pub,
// creating both exclusively; on failure it leaves neither.
func writeKeyPair(path string) (ed25519.PublicKey, error) {
	for _, p := range []string{path, path + ".pub"} {
		if _, err := os.Lstat(p); err == nil {
			return nil, fmt.Errorf("%s already exists; not overwriting a key (remove it first or pick another name)", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pemKey, err := updater.EncodePrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeExclusive(path, pemKey, 0o600); err != nil {
		return nil, err
	}
	if err := writeExclusive(path+".pub", []byte(updater.EncodePublicKey(pub)+"\n"), 0o644); err != nil {
		os.Remove(path)
		return nil, err
	}
	return pub, nil
}

// writeExclusive creates path (failing if it exists), writes data and
// syncs; on failure it removes what it created.
func writeExclusive(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
