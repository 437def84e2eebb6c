package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// block is one fenced code block of the README.
type block struct {
	n       int    // 1-based, among the blocks of its language group
	line    int    // the line of its opening fence
	lang    string // sh, bash or nginx
	section string // the heading above it
	text    string
	// skip is why the runner does not run it ("" runs it).
	skip string
	// timeout bounds each minihost command of the block (0: none).
	timeout time.Duration
}

func (b block) String() string {
	return fmt.Sprintf("block %d (README.md:%d, %q)", b.n, b.line, b.section)
}

// marker is the HTML comment on the line before a fence (blank lines
// between allowed): "<!-- ci: timeout 3s -->" or "<!-- ci: skip (why) -->".
var marker = regexp.MustCompile(`^<!--\s*ci:\s*(.*?)\s*-->$`)

// parseBlocks returns the README's shell blocks and nginx blocks, in order.
// A shell block that runs "go test" is the test command, which CI runs
// anyway: it is skipped.
func parseBlocks(readme string) (shell, nginx []block, err error) {
	lines := strings.Split(readme, "\n")
	section, pending := "", ""
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(l, "#"):
			section, pending = strings.TrimSpace(strings.TrimLeft(l, "#")), ""
		case marker.MatchString(l):
			pending = marker.FindStringSubmatch(l)[1]
		case strings.HasPrefix(l, "```"):
			lang := strings.TrimPrefix(l, "```")
			start := i
			var body []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				body = append(body, lines[i])
			}
			if i == len(lines) {
				return nil, nil, fmt.Errorf("README.md:%d: unclosed code block", start+1)
			}
			b := block{line: start + 1, lang: lang, section: section, text: strings.Join(body, "\n") + "\n"}
			if err := b.apply(pending); err != nil {
				return nil, nil, fmt.Errorf("README.md:%d: %w", start, err)
			}
			pending = ""
			switch lang {
			case "sh", "bash":
				if b.skip == "" && strings.Contains(b.text, "go test") {
					b.skip = "the test command; CI runs it anyway"
				}
				b.n = len(shell) + 1
				shell = append(shell, b)
			case "nginx":
				b.n = len(nginx) + 1
				nginx = append(nginx, b)
			}
		case l != "":
			pending = ""
		}
	}
	return shell, nginx, nil
}

// apply sets what a marker asks for.
func (b *block) apply(m string) error {
	switch {
	case m == "":
	case strings.HasPrefix(m, "skip"):
		b.skip = strings.Trim(strings.TrimSpace(strings.TrimPrefix(m, "skip")), "()")
		if b.skip == "" {
			return fmt.Errorf("marker %q: say why the block is skipped", m)
		}
	case strings.HasPrefix(m, "timeout "):
		d, err := time.ParseDuration(strings.TrimPrefix(m, "timeout "))
		if err != nil || d <= 0 {
			return fmt.Errorf("marker %q: want a positive duration", m)
		}
		b.timeout = d
	default:
		return fmt.Errorf("unknown marker %q: want \"ci: timeout D\" or \"ci: skip (why)\"", m)
	}
	return nil
}
