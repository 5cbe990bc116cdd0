package main

// The "helmtests DIR" subcommand collects the {tpl, vars} rows of Helm's function tests
// (pkg/engine/funcs_test.go in the module source at DIR) whose data is a plain literal, as cases
// in the oracle's table format with Helm's function map; regen.sh fills in what Go prints.

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
)

// literalJSON converts a Go literal (strings, numbers, bools, nil, map and slice literals) to
// the typed JSON the oracle reads: an integer constant held as `any` is a Go int.
func literalJSON(e ast.Expr, elemKind string) (any, error) {
	switch x := e.(type) {
	case *ast.BasicLit:
		switch x.Kind {
		case token.STRING:
			return strconv.Unquote(x.Value)
		case token.INT:
			n, err := strconv.ParseInt(x.Value, 0, 64)
			if elemKind == "float64" {
				return float64(n), err
			}
			return map[string]any{"$int": n}, err
		case token.FLOAT:
			return strconv.ParseFloat(x.Value, 64)
		}
	case *ast.Ident:
		switch x.Name {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "nil":
			return nil, nil
		}
	case *ast.CompositeLit:
		switch t := x.Type.(type) {
		case *ast.MapType:
			if key, ok := t.Key.(*ast.Ident); !ok || key.Name != "string" {
				return nil, fmt.Errorf("non-string map keys")
			}
			out := map[string]any{}
			for _, elt := range x.Elts {
				kv, ok := elt.(*ast.KeyValueExpr)
				if !ok {
					return nil, fmt.Errorf("unkeyed map element")
				}
				k, err := strconv.Unquote(kv.Key.(*ast.BasicLit).Value)
				if err != nil {
					return nil, err
				}
				v, err := literalJSON(kv.Value, "")
				if err != nil {
					return nil, err
				}
				out[k] = v
			}
			return out, nil
		case *ast.ArrayType:
			kind := ""
			if ident, ok := t.Elt.(*ast.Ident); ok {
				kind = ident.Name
			}
			out := []any{}
			for _, elt := range x.Elts {
				v, err := literalJSON(elt, kind)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("not a literal: %T", e)
}

func extractHelmTests(dir string) error {
	path := filepath.Join(dir, "pkg/engine/funcs_test.go")
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return err
	}
	var cases []testCase
	ast.Inspect(file, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		var tpl string
		var vars ast.Expr
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, ok := kv.Key.(*ast.Ident)
			if !ok {
				continue
			}
			switch key.Name {
			case "tpl":
				tpl, _ = stringValue(kv.Value)
			case "vars":
				vars = kv.Value
			}
		}
		if tpl == "" || vars == nil {
			return true
		}
		data, err := literalJSON(vars, "")
		if err != nil {
			fmt.Fprintf(os.Stderr, "skipping %s: data %v\n", fset.Position(lit.Pos()), err)
			return true
		}
		raw, err := json.Marshal(data)
		if err != nil {
			return true
		}
		cases = append(cases, testCase{Name: fmt.Sprintf("helm-funcs-test-%d", len(cases)), Templates: [][2]string{{"test", tpl}}, Entry: "test", Data: raw, Funcs: "helm"})
		return true
	})
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	out.SetIndent("", "  ")
	return out.Encode(cases)
}
