package host_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReadmeEmbedding keeps README.md's "Embedding" code block and the
// body of embed (example_embed_test.go), which Example_embedding runs,
// identical, so the README's snippet always compiles and works.
func TestReadmeEmbedding(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	section := regexp.MustCompile("(?s)\n## Embedding\n.*?```go\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, section, "README.md: no go block under ## Embedding")

	src, err := os.ReadFile("example_embed_test.go")
	require.NoError(t, err)
	fn := regexp.MustCompile("(?s)\nfunc embed\\([^\n]*\\{\n(.*?)\n}\n").FindSubmatch(src)
	require.NotNil(t, fn, "example_embed_test.go: no func embed")
	var body strings.Builder
	for _, line := range strings.SplitAfter(string(fn[1])+"\n", "\n") {
		body.WriteString(strings.TrimPrefix(line, "\t"))
	}
	require.Equal(t, body.String(), string(section[1]), "README.md's Embedding block and embed's body differ")
}
