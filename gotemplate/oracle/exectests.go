package main

// The "exectests FILE" subcommand turns the rows of Go's text/template exec tests
// ($(go env GOROOT)/src/text/template/exec_test.go) into data: name, input, expected output,
// the data expression's source text and whether execution succeeds. Nothing is copied by hand;
// gotemplate/tests/go_exec.rs runs the rows against eddy-gotemplate.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"strconv"
)

type execRow struct {
	Name   string `json:"name"`
	Input  string `json:"input"`
	Output string `json:"output"`
	Data   string `json:"data"`
	OK     bool   `json:"ok"`
}

// Package-level strings the table refers to, with the values they have on 64-bit Go.
var knownStrings = map[string]string{
	"bigInt":  "0x7fffffffffffffff",
	"bigUint": "0x8000000000000000",
}

func stringValue(e ast.Expr) (string, error) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			return strconv.Unquote(x.Value)
		}
	case *ast.BinaryExpr:
		if x.Op == token.ADD {
			a, err := stringValue(x.X)
			if err != nil {
				return "", err
			}
			b, err := stringValue(x.Y)
			if err != nil {
				return "", err
			}
			return a + b, nil
		}
	case *ast.Ident:
		if v, ok := knownStrings[x.Name]; ok {
			return v, nil
		}
	case *ast.ParenExpr:
		return stringValue(x.X)
	case *ast.CallExpr:
		// rangeTestData[T]() renders "T0T1T2T3T4" with T's name.
		if index, ok := x.Fun.(*ast.IndexExpr); ok {
			if fn, ok := index.X.(*ast.Ident); ok && fn.Name == "rangeTestData" {
				if typ, ok := index.Index.(*ast.Ident); ok {
					var out string
					for i := 0; i < 5; i++ {
						out += fmt.Sprintf("%s%d", typ.Name, i)
					}
					return out, nil
				}
			}
		}
		// fmt.Sprintf("...%s...", bigInt) and the like.
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sprintf" && len(x.Args) >= 1 {
			format, err := stringValue(x.Args[0])
			if err != nil {
				return "", err
			}
			var args []any
			for _, a := range x.Args[1:] {
				v, err := stringValue(a)
				if err != nil {
					return "", err
				}
				args = append(args, v)
			}
			return fmt.Sprintf(format, args...), nil
		}
	}
	return "", fmt.Errorf("not a constant string: %T", e)
}

func extractExecTests(path string) error {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return err
	}
	// Top-level string constants (such as rangeTestInt) may be used as inputs.
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			value, ok := spec.(*ast.ValueSpec)
			if !ok || len(value.Names) != 1 || len(value.Values) != 1 {
				continue
			}
			if s, err := stringValue(value.Values[0]); err == nil {
				knownStrings[value.Names[0].Name] = s
			}
		}
	}
	var rows []execRow
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || spec.Names[0].Name != "execTests" || len(spec.Values) != 1 {
			return true
		}
		list, ok := spec.Values[0].(*ast.CompositeLit)
		if !ok {
			return false
		}
		for _, elt := range list.Elts {
			row, ok := elt.(*ast.CompositeLit)
			if !ok || len(row.Elts) != 5 {
				continue
			}
			name, err1 := stringValue(row.Elts[0])
			input, err2 := stringValue(row.Elts[1])
			output, err3 := stringValue(row.Elts[2])
			if err1 != nil || err2 != nil || err3 != nil {
				fmt.Fprintf(os.Stderr, "skipping a row at %s: %v %v %v\n", fset.Position(row.Pos()), err1, err2, err3)
				continue
			}
			var data bytes.Buffer
			_ = printer.Fprint(&data, fset, row.Elts[3])
			okIdent, _ := row.Elts[4].(*ast.Ident)
			rows = append(rows, execRow{Name: name, Input: input, Output: output, Data: data.String(), OK: okIdent != nil && okIdent.Name == "true"})
		}
		return false
	})
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	out.SetIndent("", " ")
	return out.Encode(rows)
}
