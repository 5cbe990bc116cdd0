// Command oracle runs templates through Go's text/template with Sprig v3.3.0 and Helm v4's
// function map, for eddy-gotemplate's differential tests and benchmark.
//
// stdin: a JSON array of cases; stdout: one JSON object per case, one per line.
// A case is {"templates": [[name, text], ...], "entry": name, "data": typed-JSON,
// "missingkey": "zero"|"default"|"error"}. Typed JSON is JSON where a plain number is a
// float64 (as Helm's values are) and an object with the single key "$int", "$int64",
// "$uint", "$float32", "$int32", "$uint8" … is a number of that Go type.
//
// With the argument "fill", the cases are printed back with their "expected" field set.
// With the argument "bench N" the first case is executed N times and the mean nanoseconds per
// execution are printed instead.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/template"
	"time"
	_ "unsafe" // go:linkname

	"github.com/Masterminds/sprig/v3"
	"helm.sh/helm/v4/pkg/engine"
)

// initFunMap is Helm's own function-map builder (include, tpl, required, fail, lookup and the
// Sprig set); linking to it keeps the oracle's functions exactly Helm's.
//
//go:linkname initFunMap helm.sh/helm/v4/pkg/engine.Engine.initFunMap
func initFunMap(e engine.Engine, t *template.Template)

type testCase struct {
	Name       string          `json:"name,omitempty"`
	Templates  [][2]string     `json:"templates"`
	Entry      string          `json:"entry"`
	Data       json.RawMessage `json:"data,omitempty"`
	MissingKey string          `json:"missingkey,omitempty"`
	// Funcs selects the function map: "helm" (default), "sprig" or "builtins".
	Funcs    string  `json:"funcs,omitempty"`
	Expected *result `json:"expected,omitempty"`
	// Shape is a regular expression the output must match, for functions whose output is
	// random or time-dependent; kept as is by "fill".
	Shape string `json:"shape,omitempty"`
}

type result struct {
	Output string `json:"output"`
	Error  string `json:"error,omitempty"`
	Failed bool   `json:"failed"`
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "helmtests" {
		if err := extractHelmTests(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "oracle:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "sprigtests" {
		if err := extractSprigTests(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "oracle:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "exectests" {
		if err := extractExecTests(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "oracle:", err)
			os.Exit(1)
		}
		return
	}
	var cases []testCase
	dec := json.NewDecoder(os.Stdin)
	if err := dec.Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, "oracle: bad input:", err)
		os.Exit(2)
	}
	if len(os.Args) == 2 && os.Args[1] == "fill" {
		for i := range cases {
			r := run(cases[i])
			cases[i].Expected = &r
		}
		out := json.NewEncoder(os.Stdout)
		out.SetEscapeHTML(false)
		out.SetIndent("", "  ")
		_ = out.Encode(cases)
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "bench" {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || len(cases) == 0 {
			fmt.Fprintln(os.Stderr, "oracle: bench N needs a number and a case")
			os.Exit(2)
		}
		bench(cases[0], n)
		return
	}
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	for _, c := range cases {
		_ = out.Encode(run(c))
	}
}

func bench(c testCase, n int) {
	t, data, err := prepare(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
	var buf bytes.Buffer
	start := time.Now()
	for i := 0; i < n; i++ {
		buf.Reset()
		if err := t.ExecuteTemplate(&buf, c.Entry, data); err != nil {
			fmt.Fprintln(os.Stderr, "oracle:", err)
			os.Exit(1)
		}
	}
	fmt.Println(time.Since(start).Nanoseconds() / int64(n))
}

func prepare(c testCase) (*template.Template, any, error) {
	t := template.New("gotpl")
	switch c.MissingKey {
	case "", "default":
	default:
		t.Option("missingkey=" + c.MissingKey)
	}
	switch c.Funcs {
	case "", "helm":
		initFunMap(engine.Engine{}, t)
	case "sprig":
		t.Funcs(sprig.TxtFuncMap())
	case "builtins":
	default:
		return nil, nil, fmt.Errorf("unknown function map %q", c.Funcs)
	}
	for _, nt := range c.Templates {
		if _, err := t.New(nt[0]).Parse(nt[1]); err != nil {
			return nil, nil, err
		}
	}
	data, err := decodeTyped(c.Data)
	return t, data, err
}

func run(c testCase) (res result) {
	defer func() {
		if r := recover(); r != nil {
			res = result{Error: fmt.Sprintf("panic: %v", r), Failed: true}
		}
	}()
	t, data, err := prepare(c)
	if err != nil {
		return result{Error: err.Error(), Failed: true}
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, c.Entry, data); err != nil {
		return result{Output: buf.String(), Error: err.Error(), Failed: true}
	}
	return result{Output: buf.String()}
}

func decodeTyped(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return convert(v)
}

func convert(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return x.Float64()
	case []any:
		for i := range x {
			c, err := convert(x[i])
			if err != nil {
				return nil, err
			}
			x[i] = c
		}
		return x, nil
	case map[string]any:
		if len(x) == 1 {
			for k, inner := range x {
				if n, ok := inner.(json.Number); ok && strings.HasPrefix(k, "$") {
					return typedNumber(k[1:], string(n))
				}
			}
		}
		for k := range x {
			c, err := convert(x[k])
			if err != nil {
				return nil, err
			}
			x[k] = c
		}
		return x, nil
	}
	return v, nil
}

func typedNumber(kind, text string) (any, error) {
	switch kind {
	case "int":
		n, err := strconv.ParseInt(text, 10, 64)
		return int(n), err
	case "int64":
		return strconv.ParseInt(text, 10, 64)
	case "int32":
		n, err := strconv.ParseInt(text, 10, 32)
		return int32(n), err
	case "int8":
		n, err := strconv.ParseInt(text, 10, 8)
		return int8(n), err
	case "uint":
		n, err := strconv.ParseUint(text, 10, 64)
		return uint(n), err
	case "uint64":
		return strconv.ParseUint(text, 10, 64)
	case "uint8":
		n, err := strconv.ParseUint(text, 10, 8)
		return uint8(n), err
	case "float32":
		f, err := strconv.ParseFloat(text, 32)
		return float32(f), err
	case "float64":
		return strconv.ParseFloat(text, 64)
	}
	return nil, fmt.Errorf("unknown typed number $%s", kind)
}
