package main

// The "sprigtests DIR" subcommand collects the template/expected pairs of Sprig's own tests
// (runt(template, expected) calls and map[string]string tables keyed by templates) from the
// module source in DIR, as cases in the oracle's table format with the Sprig function map.
// regen.sh then fills in what Go prints for each; tests/table.rs runs them.

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Functions whose output is random or depends on the clock: their cases are left out (their
// shape is tested elsewhere).
var nondeterministic = regexp.MustCompile(`\b(rand\w*|uuidv4|now|ago|date\w*|htmlDate\w*|unixEpoch|shuffle|gen\w+|derivePassword|bcrypt|htpasswd|encryptAES|decryptAES|getHostByName|env|expandenv|durationRound|toDate|mustToDate|buildCustomCert)\b`)

func extractSprigTests(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	seen := map[string]bool{}
	var cases []testCase
	add := func(file string, tpl string) {
		if seen[tpl] || !strings.Contains(tpl, "{{") || nondeterministic.MatchString(tpl) {
			return
		}
		seen[tpl] = true
		name := "sprig-test-" + strings.TrimSuffix(filepath.Base(file), "_test.go") + "-" + itoa(len(cases))
		cases = append(cases, testCase{Name: name, Templates: [][2]string{{"test", tpl}}, Entry: "test", Data: json.RawMessage(`{}`), Funcs: "sprig"})
	}
	for _, file := range files {
		if strings.Contains(file, "windows") {
			continue
		}
		fset := token.NewFileSet()
		parsed, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(parsed, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.CallExpr:
				if fn, ok := x.Fun.(*ast.Ident); ok && fn.Name == "runt" && len(x.Args) == 2 {
					if tpl, err := stringValue(x.Args[0]); err == nil {
						add(file, tpl)
					}
				}
			case *ast.KeyValueExpr:
				if tpl, err := stringValue(x.Key); err == nil {
					if _, err := stringValue(x.Value); err == nil {
						add(file, tpl)
					}
				}
			}
			return true
		})
	}
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	out.SetIndent("", "  ")
	return out.Encode(cases)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
