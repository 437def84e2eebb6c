package host

import (
	"bytes"
	"encoding/json"
	"html/template"
	"os"
	"testing"

	"github.com/minihost/minihost/host/internal/view"
)

// BenchmarkPageRender renders the counter sample's page as RenderPage
// does once the page is parsed and cached (a bounded render of the JSON
// data), beside the floor: html/template executing the same template on
// the same data decoded once. "uncached" parses at every render, as a
// page's first render does.
func BenchmarkPageRender(b *testing.B) {
	src, err := os.ReadFile("../samples/counter/pages/index.html")
	if err != nil {
		b.Fatal(err)
	}
	data := json.RawMessage(`{"count":42,"version":"1.0.0","launches":7}`)
	var out bytes.Buffer
	b.Run("minihost", func(b *testing.B) {
		p, err := view.Parse("index", src)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			out.Reset()
			if err := p.Render(&out, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			out.Reset()
			p, err := view.Parse("index", src)
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Render(&out, data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("floor", func(b *testing.B) {
		t := template.Must(template.New("index").Parse(string(src)))
		var v map[string]any
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			out.Reset()
			if err := t.Execute(&out, v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
