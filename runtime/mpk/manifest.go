package mpk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	version "github.com/hashicorp/go-version"

	"github.com/minihost/minihost/samples/wx/abi"
)

const (
	// ManifestName is the name of the manifest at the root of a package.
	ManifestName = "app.json"
	// Ext is the file name extension of a package.
	Ext = ".mpk"
	// maxAppIDLen bounds an app id in bytes: it names folders on every
	// client and the server and is part of URLs.
	maxAppIDLen = 64
	// maxVersionLen bounds a package version in bytes. A version names
	// files and folders on every client and the server, with prefixes and
	// suffixes added (downloads/V.mpk.part, temporary names), and file
	// names stop at 255 bytes on common file systems; real versions are
	// far shorter.
	maxVersionLen = 64
	// maxManifestSize bounds app.json; real manifests are a few hundred bytes.
	maxManifestSize = 64 << 10
	// RuntimeJS is the Runtime of a package of JavaScript: its entry is a
	// .js file that the JS base library (app id BaseLibraryAppID) runs.
	RuntimeJS = "js"
	// BaseLibraryAppID is the reserved app id of the JS base library, the
	// wasm package that runs every JS package (built from samples/jsbase).
	BaseLibraryAppID = "minihost.jsbase"
)

// knownPermissions is the set of permission names a manifest may request,
// which ParseManifest checks against. ABI version 1 defines none, so every
// requested permission is refused. Host APIs that need a grant add their names here when
// they arrive. Nothing modifies it at run time; tests add names through
// export_test.go.
var knownPermissions = map[string]bool{}

// Manifest is the parsed app.json of a package. A Manifest returned by
// ParseManifest or found in a Package is valid; treat it as read-only
// (values are safe to share between goroutines).
type Manifest struct {
	// AppID identifies the app: 1 to 64 (maxAppIDLen) of a-z, 0-9, '.',
	// '-', '_', starting with a letter.
	AppID string `json:"appId"`
	// Version is the package's semantic version, as written: see
	// ParseVersion (at most 64 bytes).
	Version string `json:"version"`
	// ABI is the guest ABI version; it must equal abi.Version, the one
	// this host speaks (runtime/ABI.md).
	ABI int `json:"abi"`
	// Entry is the slash-separated path of the entry module in the
	// package: a .wasm module, or with Runtime RuntimeJS a .js file.
	Entry string `json:"entry"`
	// Runtime is empty for a wasm guest, or RuntimeJS for a package of
	// JavaScript, which ships no wasm and runs on the JS base library.
	Runtime string `json:"runtime,omitempty"`
	// BaseLibrary, only with RuntimeJS, is the lowest version of the JS
	// base library the package needs; empty means any.
	BaseLibrary string `json:"baseLibrary,omitempty"`
	// Name is the display name; it may be empty.
	Name string `json:"name,omitempty"`
	// Permissions lists the host permissions the app asks for; each must
	// be one this host knows (ABI version 1 defines none).
	Permissions []string `json:"permissions,omitempty"`
}

// ParseVersion parses a package version with the rules app.json uses. It
// is the one version rule: build, pack, publish (client and server), the
// release server's settings and the client store all go through it. The
// text must be at most 64 bytes (a version names files and folders on
// every client and the server); version.NewSemver must accept
// it; and it must be the canonical form of what it parses to
// (MAJOR.MINOR.PATCH with optional -PRERELEASE and +BUILD, dot-separated
// identifiers of [0-9A-Za-z-], no "v" prefix, no leading zeros, no missing
// or extra segments), so that one version has one spelling in file names,
// release documents and logs, and every client can store it as a file
// name. Nothing is normalised: a non-canonical text is an error naming the
// canonical form. Errors wrap ErrInvalid. It is safe for concurrent use.
func ParseVersion(s string) (*version.Version, error) {
	// First, so that a huge text costs nothing more.
	if len(s) > maxVersionLen {
		return nil, badVersion(fmt.Sprintf("%d bytes exceeds the limit of %d", len(s), maxVersionLen))
	}
	v, err := version.NewSemver(s)
	if err != nil {
		// go-version's message holds the text raw: quoted, a NUL or a
		// terminal escape from a peer or a package cannot reach a log.
		return nil, badVersion(fmt.Sprintf("malformed version %q", s))
	}
	if len(v.Segments64()) != 3 {
		return nil, badVersion("want exactly three numeric parts, MAJOR.MINOR.PATCH")
	}
	if c := v.String(); c != s {
		return nil, badVersion(fmt.Sprintf("not in canonical form, write %q", c))
	}
	// go-version also takes '~', which SemVer, URLs and the release
	// server's path rules do not.
	for _, part := range []struct{ name, ids string }{{"pre-release", v.Prerelease()}, {"build", v.Metadata()}} {
		if part.ids == "" {
			continue
		}
		for _, id := range strings.Split(part.ids, ".") {
			if id == "" || strings.Trim(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") != "" {
				return nil, badVersion(fmt.Sprintf("%s identifier %q must be one or more of 0-9, A-Z, a-z and '-'", part.name, id))
			}
		}
	}
	for _, id := range strings.Split(v.Prerelease(), ".") {
		if len(id) > 1 && id[0] == '0' && strings.Trim(id, "0123456789") == "" {
			return nil, badVersion(fmt.Sprintf("pre-release identifier %q has a leading zero", id))
		}
	}
	return v, nil
}

func badVersion(msg string) error { return because(errInvalidVersion, msg, nil) }

// quoteVersion quotes a version for a message, shortening a long one.
func quoteVersion(s string) string {
	const keep = 24
	if len(s) <= maxVersionLen {
		return strconv.Quote(s)
	}
	return strconv.Quote(strings.ToValidUTF8(s[:keep], "")) + "..."
}

// ParseManifest parses and validates the contents of an app.json. Errors are
// ErrInvalid, and their messages name app.json and the offending field.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifestSize {
		return nil, manifestErr("", &reason{
			msg:       fmt.Sprintf("%d bytes, above the limit of %d", len(data), maxManifestSize),
			sentinels: []error{errInvalidManifest, ErrTooLarge},
		})
	}
	if !utf8.Valid(data) {
		return nil, manifestErr("", invalid("not valid UTF-8", nil))
	}
	// The fields are decoded one by one so that missing fields, duplicate
	// fields and fields of the wrong type are each named in the error.
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, manifestErr("", invalid("not valid JSON", err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, manifestErr("", invalid("not a JSON object", nil))
	}
	m := &Manifest{}
	fields := map[string]any{ // where each known key decodes
		"appId":       &m.AppID,
		"version":     &m.Version,
		"abi":         &m.ABI,
		"entry":       &m.Entry,
		"name":        &m.Name,
		"permissions": &m.Permissions,
		"runtime":     &m.Runtime,
		"baseLibrary": &m.BaseLibrary,
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, manifestErr("", invalid("not valid JSON", err))
		}
		key := tok.(string) // inside an object, the decoder yields keys as strings
		dst, ok := fields[key]
		if !ok {
			return nil, manifestErr(key, invalid("unknown field", nil))
		}
		if seen[key] {
			return nil, manifestErr(key, invalid("appears twice", nil))
		}
		seen[key] = true
		if err := decodeStrict(dec, dst); err != nil {
			return nil, manifestErr(key, invalid("wrong type", err))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, manifestErr("", invalid("not valid JSON", err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, manifestErr("", invalid("data after the JSON object", nil))
	}
	for _, f := range []string{"appId", "version", "abi", "entry"} {
		if !seen[f] {
			return nil, manifestErr(f, invalid("missing", nil))
		}
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeStrict decodes the next JSON value into dst, refusing null (which
// encoding/json would silently skip) and numbers with fractions.
func decodeStrict(dec *json.Decoder, dst any) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	if string(raw) == "null" {
		return errors.New("null")
	}
	return json.Unmarshal(raw, dst)
}

// validate checks every field rule; ParseManifest calls it after decoding.
func (m *Manifest) validate() error {
	if err := CheckAppID(m.AppID); err != nil {
		return manifestErr("appId", err)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return manifestErr("version", invalid("invalid semantic version "+quoteVersion(m.Version), err))
	}
	if m.ABI != abi.Version {
		return manifestErr("abi", invalid(fmt.Sprintf("ABI version %d is not supported (this host speaks %d)", m.ABI, abi.Version), nil))
	}
	if err := m.checkRuntime(); err != nil {
		return err
	}
	if err := checkEntry(m.Entry, m.entryExt()); err != nil {
		return manifestErr("entry", err)
	}
	for i, p := range m.Permissions {
		if !knownPermissions[p] {
			return manifestErr("permissions", invalid(fmt.Sprintf("unknown permission %q", p), nil))
		}
		if slices.Contains(m.Permissions[:i], p) {
			return manifestErr("permissions", invalid(fmt.Sprintf("permission %q listed twice", p), nil))
		}
	}
	return nil
}

// appIDRule is the app id rule in words, CheckAppID's message.
const appIDRule = "must be 1 to 64 characters of a-z, 0-9, '.', '-', '_', starting with a letter"

// CheckAppID checks the one app id rule of minihost: 1 to 64 bytes of a-z,
// 0-9, '.', '-', '_', the first a letter. app.json's appId is checked with
// it, and so are the ids the client, the store, the release server and the
// admin client take, so that none takes an id no package can carry. Lower
// case only, so that two ids never name one folder on a case-insensitive
// file system; a letter first, so that no id is "." or ".." or starts like
// an option. Every id it accepts is a safe path and URL segment. The error
// wraps ErrInvalid and quotes a long id shortened. It is safe for
// concurrent use.
func CheckAppID(id string) error {
	if len(id) == 0 || len(id) > maxAppIDLen || id[0] < 'a' || id[0] > 'z' {
		return invalid("app id "+quoteAppID(id)+" "+appIDRule, nil)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return invalid("app id "+quoteAppID(id)+" "+appIDRule, nil)
		}
	}
	return nil
}

// quoteAppID quotes an app id for a message, shortening one above the
// limit as quoteVersion does.
func quoteAppID(s string) string {
	const keep = 24
	if len(s) <= maxAppIDLen {
		return strconv.Quote(s)
	}
	return strconv.Quote(strings.ToValidUTF8(s[:keep], "")) + "..."
}

// checkRuntime checks runtime and baseLibrary.
func (m *Manifest) checkRuntime() error {
	switch m.Runtime {
	case "", RuntimeJS:
	default:
		return manifestErr("runtime", invalid(fmt.Sprintf("unknown runtime %q (want %q or none)", m.Runtime, RuntimeJS), nil))
	}
	// A JS package under the reserved id would be the newest base library
	// a host fetches, and no JS app could open on it.
	if m.Runtime == RuntimeJS && m.AppID == BaseLibraryAppID {
		return manifestErr("runtime", invalid(fmt.Sprintf("app id %s is the JS base library, a wasm package: it cannot itself be %q", BaseLibraryAppID, RuntimeJS), nil))
	}
	if m.BaseLibrary == "" {
		return nil
	}
	if m.Runtime != RuntimeJS {
		return manifestErr("baseLibrary", invalid(fmt.Sprintf("only a package with runtime %q runs on the base library", RuntimeJS), nil))
	}
	if _, err := ParseVersion(m.BaseLibrary); err != nil {
		return manifestErr("baseLibrary", invalid("invalid minimum base library version "+quoteVersion(m.BaseLibrary), err))
	}
	return nil
}

// entryExt is the extension the entry must have.
func (m *Manifest) entryExt() string {
	if m.Runtime == RuntimeJS {
		return ".js"
	}
	return ".wasm"
}

func checkEntry(entry, ext string) error {
	if !strings.HasSuffix(entry, ext) {
		return invalid(fmt.Sprintf("entry %q must end in %s", entry, ext), nil)
	}
	if err := checkPath(entry); err != nil {
		return invalid(fmt.Sprintf("entry %q", entry), err)
	}
	for _, elem := range strings.Split(entry, "/") {
		if strings.HasPrefix(elem, ".") {
			// Pack leaves hidden files out, so such an entry could never be packed.
			return invalid(fmt.Sprintf("entry %q must not be hidden (no name starting with '.')", entry), nil)
		}
	}
	return nil
}

// checkPath accepts only clean, local, slash-separated relative paths that
// name the same file on every operating system's file system.
func checkPath(name string) error {
	switch {
	case name == "":
		return because(errUnsafePath, "empty path", nil)
	case strings.HasPrefix(name, "/"):
		return because(errUnsafePath, "absolute path", nil)
	case strings.ContainsRune(name, '\\'):
		return because(errUnsafePath, "path contains a backslash", nil)
	case strings.ContainsRune(name, ':'):
		// A drive letter ("C:x") or an NTFS stream ("a:b") on Windows.
		return because(errUnsafePath, "path contains ':'", nil)
	case strings.ContainsRune(name, 0):
		return because(errUnsafePath, "path contains a NUL byte", nil)
	case slices.Contains(strings.Split(name, "/"), ".."):
		return because(errUnsafePath, "path leaves the package", nil)
	case !fs.ValidPath(name) || path.Clean(name) != name:
		return because(errUnsafePath, "path is not clean (empty, '.' or trailing elements)", nil)
	}
	return nil
}

func invalid(msg string, cause error) error {
	return because(errInvalidManifest, msg, cause)
}

func manifestErr(field string, err error) error {
	return &pkgError{File: ManifestName, Field: field, Err: err}
}
