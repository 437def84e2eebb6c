package mpk

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error this package returns for bad input wraps one
// of them (usually inside an *Error that names the file and field), so
// callers test with errors.Is.
var (
	// ErrNotZip reports a package that is not a readable zip archive, or
	// uses a zip feature packages may not use (encryption, an unknown
	// compression method).
	ErrNotZip = errors.New("not a zip archive")
	// ErrInvalidManifest reports an app.json that breaks a rule of the
	// manifest format.
	ErrInvalidManifest = errors.New("invalid manifest")
	// ErrUnsafePath reports an entry name that is not a clean local path,
	// a duplicate, or an entry that is not a regular file or folder (a
	// symbolic link, in a package or a source folder, among them).
	ErrUnsafePath = errors.New("unsafe path")
	// ErrTooLarge reports a package, file, file count, total size or
	// compression ratio above the Limits.
	ErrTooLarge = errors.New("too large")
	// ErrNotWasm reports an entry file that does not start with the
	// WebAssembly binary magic and version 1.
	ErrNotWasm = errors.New("not a WebAssembly module")
	// ErrNoManifest reports a package or source folder without app.json.
	ErrNoManifest = errors.New("no app.json")
	// ErrNoEntry reports a manifest whose entry file is not in the package.
	ErrNoEntry = errors.New("entry file missing")
	// ErrInvalidVersion reports a version that breaks the version rule
	// (see ParseVersion): too long, not SemVer, or not canonical. In an
	// app.json it comes with ErrInvalidManifest.
	ErrInvalidVersion = errors.New("invalid version")
)

// Error is the structured error for bad packages and manifests. File is the
// package entry or source file concerned (empty for the package as a whole),
// Field the manifest field (empty when not about one), and Err the cause,
// which wraps one of the sentinel errors.
//
// Messages read like
//
//	app.json: field "version": invalid semantic version "x": ...
//	package entry "../x": path leaves the package
type Error struct {
	File  string
	Field string
	Err   error
}

// Error implements error.
func (e *Error) Error() string {
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

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

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
