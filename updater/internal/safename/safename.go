// Package safename checks the names the release side and the client turn
// into URL path segments and file names (app ids, versions, relative
// package paths), so that none can escape its folder or its base URL. Its
// app id rule is the package format's (runtime/mpk), the one rule.
package safename

import (
	"errors"
	"fmt"
	"strings"

	"github.com/minihost/minihost/runtime/mpk"
)

// AppID reports whether id can name an app, with runtime/mpk's
// CheckAppID, the one app id rule (1 to 64 bytes of a-z, 0-9, '.', '-',
// '_', starting with a letter). Every id it accepts is a safe path and URL
// segment. The release server, the admin client, the client and the store
// check every app id with it. The error has CheckAppID's message but does
// not wrap mpk.ErrInvalid: a bad id in a call or a URL is a bad argument,
// not a bad package.
func AppID(id string) error {
	if err := mpk.CheckAppID(id); err != nil {
		return errors.New(err.Error())
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
