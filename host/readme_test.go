package host_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeEmbedding keeps README.md's "Embedding" code block and the
// body of embed (example_embed_test.go), which Example_embedding runs,
// identical, so the README's snippet always compiles and works, and keeps
// it within the 10 lines an embedder should need (issue 13).
func TestReadmeEmbedding(t *testing.T) {
	block := firstGroup(t, "../README.md", "(?s)\n## Embedding\n.*?```go\n(.*?)```")
	body := firstGroup(t, "example_embed_test.go", "(?s)\nfunc embed\\([^\n]*\\{\n(.*?\n)}\n")
	if got := strings.ReplaceAll("\n"+body, "\n\t", "\n")[1:]; got != block {
		t.Errorf("README.md's Embedding block and embed's body differ:\nREADME.md:\n%s\nembed:\n%s", block, got)
	}
	if n := strings.Count(strings.TrimSpace(block), "\n") + 1; n > 10 {
		t.Errorf("README.md's Embedding block has %d lines, want at most 10", n)
	}
}

// firstGroup returns the first group of pattern's first match in file.
func firstGroup(t *testing.T, file, pattern string) string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(pattern).FindSubmatch(src)
	if m == nil {
		t.Fatalf("%s: nothing matches %s", file, pattern)
	}
	return string(m[1])
}
