package view

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	many := "[" + strings.Repeat("1,", MaxRangeSteps) + "1]"
	keys := make([]string, MaxObjectKeys+1)
	for i := range keys {
		keys[i] = fmt.Sprintf("%q:1", fmt.Sprint("k", i))
	}
	tests := []struct {
		name    string
		tmpl    string
		data    string
		want    string // the output, or a substring of the error
		wantErr bool
		tooBig  bool // the error wraps ErrTooBig
	}{
		{"field", `<p id=count>{{.count}}</p>`, `{"count":3}`, `<p id=count>3</p>`, false, false},
		{"big number keeps its spelling", `{{.n}}`, `{"n":12345678901}`, `12345678901`, false, false},
		{"range over array", `{{range .items}}<li>{{.}}</li>{{end}}`, `{"items":["a","b"]}`, `<li>a</li><li>b</li>`, false, false},
		{"data is escaped", `<p>{{.s}}</p>`, `{"s":"<script>alert(1)</script>"}`, `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>`, false, false},
		{"data in an attribute", `<a title="{{.s}}">x</a>`, `{"s":"\" onclick=\"x"}`, `<a title="&#34; onclick=&#34;x">x</a>`, false, false},
		{"data in a URL", `<a href="{{.u}}">x</a>`, `{"u":"javascript:alert(1)"}`, `<a href="#ZgotmplZ">x</a>`, false, false},
		{"no data", `<p>{{.count}}</p>`, ``, `<p></p>`, false, false},
		{"define refused", `{{define "x"}}a{{end}}{{template "x"}}`, `{}`, "no define", true, false},
		{"template call refused", `{{template "self" .}}`, `{}`, "{{template}} is not allowed", true, false},
		{"range over a literal refused", `{{range 1000000000}}x{{end}}`, `{}`, "ranges over its data only", true, false},
		{"ranges nested three deep refused", `{{range .a}}{{range .b}}{{range .c}}{{end}}{{end}}{{end}}`, `{}`, "nest at most 2", true, false},
		{"steps bounded", `{{range .a}}{{range $.a}}{{end}}{{end}}`, `{"a":` + many + `}`, "steps", true, true},
		{"object keys bounded", `{{.k1}}`, `{` + strings.Join(keys, ",") + `}`, "keys", true, true},
		{"output bounded", `{{range .a}}{{$.s}}{{end}}`, `{"s":"` + strings.Repeat("x", 1000) + `","a":` + many + `}`, "output over", true, true},
		{"template size bounded", strings.Repeat("x", MaxTemplateBytes+1), `{}`, "at most", true, true},
		{"bad template", `{{.a`, `{}`, "parse page", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p, err := Parse("index", []byte(tt.tmpl))
			if err == nil {
				err = p.Render(&out, []byte(tt.data))
			}
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one saying %q", err, tt.want)
				}
				if errors.Is(err, ErrTooBig) != tt.tooBig {
					t.Errorf("errors.Is(%v, ErrTooBig) = %t, want %t", err, !tt.tooBig, tt.tooBig)
				}
				if out.Len() != 0 {
					t.Errorf("a failed render wrote %d bytes", out.Len())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("rendered %q, want %q", out.String(), tt.want)
			}
		})
	}
}
