package updater

import "slices"

// What Store.Check reports (doctor.go): the kinds of problem, a Problem
// and the CheckReport of an app.

// The kinds of problem Check finds (Problem.Kind). The first three are
// leftovers of an interrupted operation (a crash or power cut): they take
// space but never change what the store holds. The others mean the store
// is not what state.json says. Problem.Kind documents each.
const (
	problemTempFile           = "temp-file"
	problemOrphanVersion      = "orphan-version"
	problemOrphanFileList     = "orphan-file-list"
	problemBadState           = "bad-state"
	problemMissingVersion     = "missing-version"
	problemIncompleteVersion  = "incomplete-version"
	problemNoFileList         = "no-file-list"
	problemActiveNotInstalled = "active-not-installed"
)

// Problem is one thing Check found wrong. It is a plain value, safe to
// copy and to share between goroutines.
type Problem struct {
	// Kind names the problem, one of:
	//
	//   - "temp-file": a temporary file or extraction folder left by an
	//     interrupted write or install. Repair removes it.
	//   - "orphan-version": a version folder state.json does not list.
	//     Repair removes it (or, rebuilding a state.json that does not
	//     parse, lists it again when it matches its file list).
	//   - "orphan-file-list": a file list of a version state.json does not
	//     list. Repair removes it.
	//   - "bad-state": state.json does not parse. Repair moves it aside (to
	//     state.json.broken) and rebuilds the state from the version
	//     folders that match their file lists.
	//   - "missing-version": a listed version has no folder. Repair
	//     unlists it (and removes its file list).
	//   - "incomplete-version": a listed version's folder does not match
	//     its file list (a file missing, of another size or hash, or
	//     extra). Repair unlists it and removes the folder and file list.
	//   - "no-file-list": a listed version has no (readable) file list,
	//     such as one installed before the store kept them. Repair records
	//     one from the folder when its app.json names the version and its
	//     entry module is there, and otherwise handles it as incomplete.
	//   - "active-not-installed": the active version is not an installed,
	//     complete version. Repair makes the newest complete version that
	//     is not marked bad active (none: no active version).
	//
	// The first three are leftovers of an interrupted operation, which
	// waste space but change nothing the store holds.
	Kind string
	// Version is the version concerned, if any.
	Version string
	// Path is the file or folder concerned, relative to the store's
	// folder (StoreConfig.Dir), slash-separated.
	Path string
	// Detail says what is wrong, or what repair did.
	Detail string
	// Repaired is true once repair fixed it.
	Repaired bool
}

// String formats p as one line: "KIND [VERSION] [PATH][: DETAIL][ (repaired)]".
func (p Problem) String() string {
	s := p.Kind
	if p.Version != "" {
		s += " " + p.Version
	}
	if p.Path != "" {
		s += " " + p.Path
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	if p.Repaired {
		s += " (repaired)"
	}
	return s
}

// CheckReport is what Check found in one app's part of the store and,
// with repair, what it fixed. It is a plain value: Check returns a new one
// per app and keeps no reference to it.
type CheckReport struct {
	AppID string
	// Active is the active version after the check ("" for none).
	Active string
	// Verified lists the installed versions whose folders match their
	// file lists (or, for one without a list, whose app.json names the
	// version and whose entry module is there), in ascending order.
	Verified []string
	// Problems lists what was found, in the order found.
	Problems []Problem
}

// OK reports whether no problem remains (none found, or all repaired).
func (r *CheckReport) OK() bool {
	return !slices.ContainsFunc(r.Problems, func(p Problem) bool { return !p.Repaired })
}
