package mpk

import (
	"errors"
	"strconv"
)

// Sentinel errors, read-only and safe for concurrent use. Every error this
// package returns for bad input wraps one of them, with a message that
// names the rule broken, the file and the manifest field, so callers test
// with errors.Is and show the message. (ErrNotRegular, for a path that is
// not a regular file, is in regular.go.)
var (
	// ErrInvalid reports input that breaks a rule of the package format:
	// a package that is not a readable zip archive, or uses a zip feature
	// packages may not use (encryption, an unknown compression method),
	// or whose file holds other bytes than its header declares; an entry
	// name that is not a clean local path, a duplicate, or an entry that
	// is not a regular file or folder (a symbolic link, in a package or a
	// source folder, among them); a package or source folder without
	// app.json; an app.json that breaks a rule of the manifest format; a
	// manifest whose entry file is not in the package, or is not a
	// WebAssembly module (magic and version 1) or, for JavaScript, UTF-8
	// text; a version that breaks the version rule (see ParseVersion).
	ErrInvalid = errors.New("invalid package")
	// ErrTooLarge reports a package, file, file count, total size or
	// compression ratio above the Limits.
	ErrTooLarge = errors.New("too large")
)

// The rules ErrInvalid covers, one error each so that mpk's tests tell
// them apart (a message may also read as the rule: "not a zip archive:
// ..."); each matches ErrInvalid with errors.Is.
const (
	errNotZip          ruleError = "not a zip archive"
	errInvalidManifest ruleError = "invalid manifest"
	errUnsafePath      ruleError = "unsafe path"
	errNotWasm         ruleError = "not a WebAssembly module"
	errNoManifest      ruleError = "no app.json"
	errNoEntry         ruleError = "entry file missing"
	// errInvalidVersion comes with errInvalidManifest in an app.json.
	errInvalidVersion ruleError = "invalid version"
)

// ruleError is one rule of the package format; it matches ErrInvalid.
type ruleError string

func (e ruleError) Error() string        { return string(e) }
func (e ruleError) Is(target error) bool { return target == ErrInvalid }

// pkgError is the structured error for bad packages and manifests. File is
// the package entry or source file concerned (empty for the package as a
// whole), Field the manifest field (empty when not about one), and Err the
// cause, which wraps one of the sentinel errors.
//
// Messages read like
//
//	app.json: field "version": invalid semantic version "x": ...
//	package entry "../x": path leaves the package
type pkgError struct {
	File  string
	Field string
	Err   error
}

func (e *pkgError) Error() string {
	var s string
	switch {
	case e.File == ManifestName || e.File == "":
		s = e.File
	default:
		s = "package entry " + strconv.Quote(e.File)
	}
	if e.Field != "" {
		if s != "" {
			s += ": "
		}
		s += "field " + strconv.Quote(e.Field)
	}
	if s == "" {
		return e.Err.Error()
	}
	return s + ": " + e.Err.Error()
}

func (e *pkgError) Unwrap() error { return e.Err }

// reason is a cause with its own message that still matches a sentinel
// with errors.Is, so messages stay short ("path leaves the package") rather
// than repeating the sentinel's words.
type reason struct {
	msg       string
	sentinels []error
	cause     error
}

func (r *reason) Error() string {
	if r.cause != nil {
		return r.msg + ": " + r.cause.Error()
	}
	return r.msg
}

func (r *reason) Unwrap() []error {
	if r.cause != nil {
		return append(r.sentinels[:len(r.sentinels):len(r.sentinels)], r.cause)
	}
	return r.sentinels
}

// because returns an error with message msg (and cause, when not nil)
// matching sentinel.
func because(sentinel error, msg string, cause error) error {
	return &reason{msg: msg, sentinels: []error{sentinel}, cause: cause}
}
