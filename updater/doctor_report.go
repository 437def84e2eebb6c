package updater

import "slices"

// What Store.Check reports (doctor.go): the kinds of problem, a Problem
// and the CheckReport of an app.

// ProblemKind names a kind of problem Check finds.
type ProblemKind string

// The problems Check finds. The first three are leftovers of an interrupted
// operation (a crash or power cut): they take space but never change what
// the store holds. The others mean the store is not what state.json says.
const (
	// ProblemTempFile: a temporary file or extraction folder left by an
	// interrupted write or install. Repair removes it.
	ProblemTempFile ProblemKind = "temp-file"
	// ProblemOrphanVersion: a version folder state.json does not list.
	// Repair removes it.
	ProblemOrphanVersion ProblemKind = "orphan-version"
	// ProblemOrphanFileList: a file list of a version state.json does not
	// list. Repair removes it.
	ProblemOrphanFileList ProblemKind = "orphan-file-list"
	// ProblemBadState: state.json does not parse. Repair moves it aside
	// (to state.json.broken) and rebuilds the state from the version
	// folders that match their file lists.
	ProblemBadState ProblemKind = "bad-state"
	// ProblemMissingVersion: a listed version has no folder. Repair
	// unlists it (and removes its file list).
	ProblemMissingVersion ProblemKind = "missing-version"
	// ProblemIncompleteVersion: a listed version's folder does not match
	// its file list (a file missing, of another size or hash, or extra).
	// Repair unlists it and removes the folder and file list.
	ProblemIncompleteVersion ProblemKind = "incomplete-version"
	// ProblemNoFileList: a listed version has no (readable) file list,
	// such as one installed before the store kept them. Repair records one
	// from the folder when its app.json names the version and its entry
	// module is there, and otherwise handles it as incomplete.
	ProblemNoFileList ProblemKind = "no-file-list"
	// ProblemActiveNotInstalled: the active version is not an installed,
	// complete version. Repair makes the newest complete version that is
	// not marked bad active (none: no active version).
	ProblemActiveNotInstalled ProblemKind = "active-not-installed"
)

// Problem is one thing Check found wrong.
type Problem struct {
	Kind ProblemKind
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

// Leftover reports whether p is a leftover of an interrupted operation,
// which wastes space but changes nothing the store holds.
func (p Problem) Leftover() bool {
	return p.Kind == ProblemTempFile || p.Kind == ProblemOrphanVersion || p.Kind == ProblemOrphanFileList
}

func (p Problem) String() string {
	s := string(p.Kind)
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
// with repair, what it fixed.
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
