// Package view renders a mini program's pages: one html/template per
// page, shipped in the package as pages/<name>.html, executed on the data
// the guest set (abi.ViewData). html/template escapes by context, so data
// can never become markup or script; the template language gets no
// functions beyond html/template's own. What a page can cost is bounded:
// the template's size, its shape (no sub-templates, ranges only over the
// data, nested at most two deep), the steps its ranges take over arrays,
// the keys of one object and the bytes it writes. Pages are immutable once
// parsed and safe for concurrent use.
package view

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"iter"
	textparse "text/template/parse"
)

// Bounds of a page.
const (
	// MaxTemplateBytes bounds a page's template file.
	MaxTemplateBytes = 64 << 10
	// MaxOutputBytes bounds what one render writes.
	MaxOutputBytes = 1 << 20
	// MaxRangeSteps bounds the elements all ranges over arrays visit in
	// one render.
	MaxRangeSteps = 10_000
	// MaxObjectKeys bounds the keys of one object in the data, which
	// bounds a range over it.
	MaxObjectKeys = 256
	// maxRangeDepth bounds the nesting of ranges.
	maxRangeDepth = 2
)

// ErrTooBig is wrapped by render errors past a bound.
var ErrTooBig = errors.New("over a bound")

// Page is one parsed page template.
type Page struct {
	name string
	t    *template.Template
}

// Parse parses the template src of page name, refusing one over
// MaxTemplateBytes or outside the allowed shape.
func Parse(name string, src []byte) (*Page, error) {
	if len(src) > MaxTemplateBytes {
		return nil, fmt.Errorf("parse page %s: template is %d bytes, at most %d: %w", name, len(src), MaxTemplateBytes, ErrTooBig)
	}
	t, err := template.New(name).Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parse page %s: %w", name, err)
	}
	if n := len(t.Templates()); n != 1 {
		return nil, fmt.Errorf("parse page %s: defines %d templates; a page is one template (no define or block)", name, n)
	}
	if err := checkShape(t.Tree.Root, 0); err != nil {
		return nil, fmt.Errorf("parse page %s: %w", name, err)
	}
	return &Page{name: name, t: t}, nil
}

// checkShape refuses template calls, ranges over anything but the data
// (a literal number would loop as long as it says), and ranges nested
// deeper than maxRangeDepth.
func checkShape(n textparse.Node, depth int) error {
	switch n := n.(type) {
	case *textparse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkShape(c, depth); err != nil {
				return err
			}
		}
	case *textparse.TemplateNode:
		return fmt.Errorf("line %d: {{template}} is not allowed in a page", n.Line)
	case *textparse.RangeNode:
		if depth >= maxRangeDepth {
			return fmt.Errorf("line %d: ranges nest at most %d deep", n.Line, maxRangeDepth)
		}
		if !dataPipe(n.Pipe) {
			return fmt.Errorf("line %d: range over %s: a page ranges over its data only (.field or $var.field)", n.Line, n.Pipe)
		}
		if err := checkShape(n.List, depth+1); err != nil {
			return err
		}
		return checkShape(n.ElseList, depth)
	case *textparse.IfNode:
		if err := checkShape(n.List, depth); err != nil {
			return err
		}
		return checkShape(n.ElseList, depth)
	case *textparse.WithNode:
		if err := checkShape(n.List, depth); err != nil {
			return err
		}
		return checkShape(n.ElseList, depth)
	}
	return nil
}

// dataPipe reports whether a range's pipeline is one field of the data:
// .items, .a.b, or $x.items.
func dataPipe(p *textparse.PipeNode) bool {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return false
	}
	switch a := p.Cmds[0].Args[0].(type) {
	case *textparse.FieldNode, *textparse.DotNode:
		return true
	case *textparse.VariableNode:
		return len(a.Ident) > 1
	}
	return false
}

// Render executes the page on data, a JSON object, into w. Nothing is
// written to w when rendering fails.
func (p *Page) Render(w io.Writer, data json.RawMessage) error {
	var steps int
	v, err := decode(data, &steps)
	if err != nil {
		return fmt.Errorf("render page %s: %w", p.name, err)
	}
	var buf limitedBuffer
	if err := p.t.Execute(&buf, v); err != nil {
		return fmt.Errorf("render page %s: %w", p.name, err)
	}
	if steps > MaxRangeSteps {
		return fmt.Errorf("render page %s: ranges took over %d steps: %w", p.name, MaxRangeSteps, ErrTooBig)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// decode turns JSON data into what the template sees: objects are maps
// (fields by name), arrays are iterators that count their steps in
// *steps and stop past MaxRangeSteps, numbers keep their JSON spelling.
func decode(data json.RawMessage, steps *int) (any, error) {
	if len(data) == 0 {
		return map[string]any{}, nil
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode data: %w", err)
	}
	return counted(v, steps)
}

func counted(v any, steps *int) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) > MaxObjectKeys {
			return nil, fmt.Errorf("an object has %d keys, at most %d: %w", len(v), MaxObjectKeys, ErrTooBig)
		}
		for k, e := range v {
			c, err := counted(e, steps)
			if err != nil {
				return nil, err
			}
			v[k] = c
		}
		return v, nil
	case []any:
		for i, e := range v {
			c, err := counted(e, steps)
			if err != nil {
				return nil, err
			}
			v[i] = c
		}
		return iter.Seq[any](func(yield func(any) bool) {
			for _, e := range v {
				*steps++
				if *steps > MaxRangeSteps || !yield(e) {
					return
				}
			}
		}), nil
	}
	return v, nil
}

// limitedBuffer is a bytes.Buffer that refuses to grow past
// MaxOutputBytes, which ends the template's execution.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxOutputBytes {
		return 0, fmt.Errorf("page output over %d bytes: %w", MaxOutputBytes, ErrTooBig)
	}
	return b.Buffer.Write(p)
}
