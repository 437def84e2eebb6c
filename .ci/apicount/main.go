// Command apicount prints the size of minihost's public surface: the
// top-level exported names of every public package (types, functions,
// methods of exported types, constants, variables; not struct fields or
// interface methods), package by package, and the total. Packages under
// internal/, main packages and test files do not count.
//
//	go run ./.ci/apicount [-max N] [-budget FILE] [-list]
//
// With -max, it exits 1 when the total is above N. With -budget, it exits 1
// when a package is above its line in FILE ("N package" lines, # starts a
// comment) or has no line there, so the surface grows only by an edit that
// review sees (.ci/apicount/budget.txt; RATIONALE.md says why per-package
// budgets). With -list, it prints every name it counts first.
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	limit := flag.Int("max", 0, "fail when the total is above this (0: no limit)")
	budget := flag.String("budget", "", "fail when a package is above its budget in this file")
	list := flag.Bool("list", false, "print every counted name")
	flag.Parse()
	counts := map[string]int{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "internal") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		names := exported(f)
		counts[filepath.Dir(path)] += len(names)
		if *list {
			for _, n := range names {
				fmt.Printf("%s.%s\n", filepath.Dir(path), n)
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicount:", err)
		os.Exit(2)
	}
	var pkgs []string
	total := 0
	for p, n := range counts {
		pkgs = append(pkgs, p)
		total += n
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		fmt.Printf("%5d  %s\n", counts[p], p)
	}
	fmt.Printf("%5d  total exported names\n", total)
	failed := false
	if *limit > 0 && total > *limit {
		fmt.Fprintf(os.Stderr, "apicount: %d exported names, limit %d\n", total, *limit)
		failed = true
	}
	if *budget != "" {
		over, err := overBudget(*budget, counts)
		if err != nil {
			fmt.Fprintln(os.Stderr, "apicount:", err)
			os.Exit(2)
		}
		for _, o := range over {
			fmt.Fprintln(os.Stderr, "apicount:", o)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// overBudget reads a budget file and returns one line per package whose
// count is above its budget or that has none.
func overBudget(path string, counts map[string]int) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read budget: %w", err)
	}
	budget := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(f[0], "%d", &n); err != nil || len(f) != 2 {
			return nil, fmt.Errorf("read budget: %s:%d: want \"N package\", got %q", path, i+1, line)
		}
		budget[f[1]] = n
	}
	var over []string
	for p, n := range counts {
		b, ok := budget[p]
		switch {
		case !ok:
			over = append(over, fmt.Sprintf("%s: %d exported names and no budget in %s", p, n, path))
		case n > b:
			over = append(over, fmt.Sprintf("%s: %d exported names, budget %d (%s)", p, n, b, path))
		}
	}
	sort.Strings(over)
	return over, nil
}

// exported returns f's top-level exported names, methods as Type.Method.
func exported(f *ast.File) []string {
	var n []string
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv == nil {
				n = append(n, d.Name.Name)
			} else if recv, ok := receiverName(d.Recv); ok {
				n = append(n, recv+"."+d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						n = append(n, s.Name.Name)
					}
				case *ast.ValueSpec:
					for _, name := range s.Names {
						if name.IsExported() {
							n = append(n, name.Name)
						}
					}
				}
			}
		}
	}
	return n
}

// receiverName returns the name of a method's receiver type and whether
// that type is exported.
func receiverName(recv *ast.FieldList) (string, bool) {
	if len(recv.List) == 0 {
		return "", false
	}
	t := recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.Name, x.IsExported()
		default:
			return "", false
		}
	}
}
