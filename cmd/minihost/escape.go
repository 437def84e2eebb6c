package main

import (
	"strconv"
	"strings"
	"unicode"
)

// guestText makes a string that came from a guest (a log line, modal text,
// an error it caused) safe to print on a terminal: control characters
// (newlines included, so a guest cannot start a line of its own), escape
// sequences and bidirectional overrides are written as Go escapes. Together
// with the "log:" mark on guest lines, no guest output can pass for a host
// line or drive the terminal.
func guestText(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !unsafeRune(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRuneToASCII(r) // 'x' with x escaped
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == unicode.ReplacementChar ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) // bidi overrides and isolates
}
