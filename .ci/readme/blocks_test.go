package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseBlocks(t *testing.T) {
	tests := []struct {
		name    string
		readme  string
		want    []string // per shell block: "skip:why", "timeout:D" or "run"
		nginx   int
		wantErr string
	}{
		{"plain", "# A\n```sh\necho hi\n```\n", []string{"run"}, 0, ""},
		{"the test command", "```sh\ngo test ./...\n```\n", []string{"skip:the test command; CI runs it anyway"}, 0, ""},
		{"a timeout marker, blank line between", "<!-- ci: timeout 3s -->\n\n```bash\nminihost run x\n```\n", []string{"timeout:3s"}, 0, ""},
		{"a skip marker", "<!-- ci: skip (needs AWS) -->\n```sh\naws s3 ls\n```\n", []string{"skip:needs AWS"}, 0, ""},
		{"a marker a paragraph away does not count", "<!-- ci: timeout 3s -->\ntext\n```sh\nls\n```\n", []string{"run"}, 0, ""},
		{"go and nginx blocks", "```go\npackage x\n```\n```nginx\nserver {}\n```\n", nil, 1, ""},
		{"an unknown marker", "<!-- ci: slow -->\n```sh\nls\n```\n", nil, 0, "unknown marker"},
		{"a skip without a reason", "<!-- ci: skip -->\n```sh\nls\n```\n", nil, 0, "say why"},
		{"an unclosed block", "```sh\nls\n", nil, 0, "unclosed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shell, nginx, err := parseBlocks(tt.readme)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range shell {
				switch {
				case b.skip != "":
					got = append(got, "skip:"+b.skip)
				case b.timeout > 0:
					got = append(got, "timeout:"+b.timeout.String())
				default:
					got = append(got, "run")
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(nginx) != tt.nginx {
				t.Fatalf("shell %q, %d nginx; want %q, %d", got, len(nginx), tt.want, tt.nginx)
			}
		})
	}
}

func TestSplitLog(t *testing.T) {
	log := "pre\n" + blockMark + "0\na\nb\n" + blockMark + "2\nc\n" + blockMark + "done\n"
	parts := splitLog(log)
	got := []string{}
	for _, p := range parts {
		got = append(got, fmt.Sprintf("%s@%d", strings.TrimSpace(p.out), p.idx))
	}
	want := "pre@-1|a\nb@0|c@2|@-2"
	if strings.Join(got, "|") != want {
		t.Fatalf("splitLog = %q, want %q", strings.Join(got, "|"), want)
	}
}

// TestScriptTimeoutInSeconds: the bound goes to coreutils timeout, which
// refuses Go's duration spelling ("2m0s"); a README marker of 120s or 2m
// must reach it as seconds.
func TestScriptTimeoutInSeconds(t *testing.T) {
	for _, tt := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{"minutes", 2 * time.Minute, "__ci_bounded 120s minihost"},
		{"fraction", 1500 * time.Millisecond, "__ci_bounded 1.5s minihost"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := script([]block{{text: "minihost run x\n", timeout: tt.d}})
			if !strings.Contains(s, tt.want) {
				t.Errorf("script for a %v bound has no %q:\n%s", tt.d, tt.want, s)
			}
		})
	}
}
