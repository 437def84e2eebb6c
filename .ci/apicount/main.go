// Command apicount prints the size of minihost's public surface: the
// top-level exported names of every public package (types, functions,
// methods of exported types, constants, variables; not struct fields or
// interface methods), package by package, and the total. Packages under
// internal/, main packages and test files do not count.
//
//	go run ./.ci/apicount [-max N] [-list]
//
// With -max, it exits 1 when the total is above N; with -list, it prints
// every name it counts first.
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
	if *limit > 0 && total > *limit {
		fmt.Fprintf(os.Stderr, "apicount: %d exported names, limit %d\n", total, *limit)
		os.Exit(1)
	}
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
