// Package safename checks the names the release side and the client turn
// into URL path segments and file names (app ids, versions, relative
// package paths), so that none can escape its folder or its base URL. Its
// app id rule is the package format's (runtime/mpk), the one rule.
package safename

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxAppID is the longest accepted app id in bytes (runtime/mpk's
// maxAppIDLen).
const MaxAppID = 64

// appIDRule is runtime/mpk's appIDRule, word for word.
const appIDRule = "must be 1 to 64 characters of a-z, 0-9, '.', '-', '_', starting with a letter"

// AppID reports whether id can name an app: the package format's app id
// rule (runtime/mpk checks app.json's appId with it, with the same
// message), 1 to 64 bytes of a-z, 0-9, '.', '-', '_', starting with a
// letter. Every id it accepts is also a safe path segment and URL
// segment. The release server, the admin client, the client and the
// store check every app id with it, so none takes an id no package can
// carry. TestAppIDRuleAgreesWithPackage pins it to runtime/mpk's rule.
func AppID(id string) error {
	ok := len(id) > 0 && len(id) <= MaxAppID && id[0] >= 'a' && id[0] <= 'z'
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_'
	}
	if !ok {
		return errors.New("app id " + quoteAppID(id) + " " + appIDRule)
	}
	return nil
}

// quoteAppID quotes id as runtime/mpk's quoteAppID does: one above the
// limit is cut to its first 24 bytes.
func quoteAppID(id string) string {
	const keep = 24
	if len(id) <= MaxAppID {
		return strconv.Quote(id)
	}
	return strconv.Quote(strings.ToValidUTF8(id[:keep], "")) + "..."
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
