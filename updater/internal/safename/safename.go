// Package safename checks the names the release side turns into URL path
// segments and file names (app ids, versions, relative package paths), so
// that none can escape its folder or its base URL.
package safename

import (
	"errors"
	"fmt"
	"strings"
)

// MaxAppID is the longest accepted app id in bytes.
const MaxAppID = 128

// AppID reports whether id can name an app on a release server: 1 to 128
// ASCII letters, digits, '.', '_' or '-', starting with a letter or digit.
func AppID(id string) error {
	if id == "" {
		return errors.New("app id is empty")
	}
	if len(id) > MaxAppID {
		return fmt.Errorf("app id %.20q... is longer than %d bytes", id, MaxAppID)
	}
	if strings.ContainsRune(id, '+') || !Segment(id) || !alnum(id[0]) {
		return fmt.Errorf("app id %q must be letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return nil
}

// RelPath reports whether p is a clean relative URL path made of safe
// segments, so that joining it to a base URL or folder never leaves it.
func RelPath(p string) error {
	if p == "" {
		return errors.New("path is empty")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if !Segment(seg) {
			return fmt.Errorf("%q is not a clean relative path", p)
		}
	}
	return nil
}

// Segment reports whether s is one safe path segment: only ASCII letters,
// digits and "._+-", not empty, not "." or "..".
func Segment(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !alnum(c) && c != '.' && c != '_' && c != '-' && c != '+' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
