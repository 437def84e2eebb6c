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
	"path/filepath"

	"github.com/minihost/minihost/runtime/fsutil"
	"github.com/minihost/minihost/updater"
	"github.com/minihost/minihost/updater/release"
	"github.com/spf13/afero"
)

const keygenSynopsis = `-o KEYFILE | --convert KEYFILE [--json]

Makes an ed25519 key pair for a release server. KEYFILE holds the private
key as PEM ("-----BEGIN PRIVATE KEY-----", PKCS #8), mode 0600: keep it
secret and give it to "minihost serve --key" and "minihost export --key".
KEYFILE.pub holds the public key, one line "minihost-ed25519-public:BASE64":
give it to clients ("minihost run --pubkey KEYFILE.pub"). Refuses to
overwrite either file.

--convert KEYFILE rewrites a private key in the old format (bare base64,
which the signing commands refuse because it reads like a public key) as
PEM, atomically and with mode 0600. It first checks that KEYFILE.pub, if
present, holds the matching public key, and writes KEYFILE.pub if missing.`

func runKeygen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("keygen", keygenSynopsis, "minihost keygen -o release.key\n  minihost keygen --convert release.key", stderr)
	out := fs.String("o", "", "private key file to write (the public key goes to FILE.pub)")
	convert := fs.String("convert", "", "old-format (bare base64) private key file to rewrite as PEM")
	asJSON := jsonFlag(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(fs, stderr, "takes no arguments")
	}
	switch {
	case *out != "" && *convert != "":
		return usageError(fs, stderr, "-o and --convert exclude each other")
	case *convert != "":
		return convertKey(*convert, *asJSON, stdout, stderr)
	case *out == "":
		return usageError(fs, stderr, "-o KEYFILE (or --convert KEYFILE) is required")
	}
	pub, err := writeKeyPair(*out)
	if err != nil {
		fmt.Fprintf(stderr, "minihost keygen: %v\n", err)
		return 1
	}
	res := newKeygenJSON(*out, pub)
	return printResult(stdout, stderr, "keygen", *asJSON, res, func(w io.Writer) {
		fmt.Fprintf(w, "wrote private key %s (keep it secret) and public key %s (key id %s)\npublic key: %s\n",
			res.PrivateKeyFile, res.PublicKeyFile, res.KeyID, res.PublicKey)
	})
}

// keygenJSON is what "keygen --json" prints; Converted and WrotePublic
// only with --convert.
type keygenJSON struct {
	PrivateKeyFile string `json:"privateKeyFile"`
	PublicKeyFile  string `json:"publicKeyFile"`
	KeyID          string `json:"keyId"`
	PublicKey      string `json:"publicKey"` // the text KEYFILE.pub holds, what --pubkey takes
	Converted      *bool  `json:"converted,omitempty"`
	WrotePublic    *bool  `json:"wrotePublic,omitempty"`
}

func newKeygenJSON(path string, pub ed25519.PublicKey) keygenJSON {
	return keygenJSON{PrivateKeyFile: path, PublicKeyFile: path + ".pub", KeyID: updater.KeyID(pub), PublicKey: updater.EncodePublicKey(pub)}
}

// convertKey runs "keygen --convert path".
func convertKey(path string, asJSON bool, stdout, stderr io.Writer) int {
	res, err := release.ConvertKeyFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "minihost keygen: %v\n", err)
		return 1
	}
	out := newKeygenJSON(path, res.Public)
	out.Converted, out.WrotePublic = &res.Converted, &res.WrotePublic
	return printResult(stdout, stderr, "keygen", asJSON, out, func(w io.Writer) {
		if !res.Converted {
			fmt.Fprintf(w, "%s is already a PEM private key (key id %s); nothing to convert\npublic key: %s\n", path, out.KeyID, out.PublicKey)
			return
		}
		pubNote := "matches " + out.PublicKeyFile
		if res.WrotePublic {
			pubNote = "wrote " + out.PublicKeyFile
		}
		fmt.Fprintf(w, "converted %s to a PEM private key (key id %s; %s)\npublic key: %s\n"+
			"check that this is the public key your clients have; if the old file's text was ever shared, it is no secret: make a new key with minihost keygen -o\n",
			path, out.KeyID, pubNote, out.PublicKey)
	})
}

// writeKeyPair makes a key pair and writes path (0600) and path.pub,
// creating both exclusively, then syncs their folder; on failure it leaves
// neither. Exclusive creation, not a rename, so that two runs can never
// replace each other's key.
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
	pemKey, err := release.EncodePrivateKey(key)
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
	if err := fsutil.SyncDir(afero.NewOsFs(), filepath.Dir(path)); err != nil {
		os.Remove(path + ".pub")
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
