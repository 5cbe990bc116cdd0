//! Go's own `text/template` exec tests as data: `tests/data/go_exec_tests.json` is extracted from
//! `$(go env GOROOT)/src/text/template/exec_test.go` by `oracle/regen_exec_tests.sh` (name,
//! template, expected output, the data expression's source text, whether it succeeds). Each row
//! runs against eddy-gotemplate with a model of the test's data (`tVal`, a `*T` with fields and
//! methods) and its function map. As in Go's test, a succeeding row must print the expected
//! output and a failing row must fail. Rows that need Go-only features are excluded by a rule
//! that names the feature (see `EXCLUDED`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::rc::Rc;

use eddy_gotemplate::{
    ElemType, FuncError, FuncMap, Function, HostObject, IntKind, List, Param, TemplateSet,
    UintKind, Value,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Row {
    name: String,
    input: String,
    output: String,
    data: String,
    ok: bool,
}

/// Features of Go's test data that have no counterpart in a template engine fed with
/// JSON/YAML-shaped values, and the pattern (in the template or the data expression) that marks
/// a row using one.
const EXCLUDED: &[(&str, &str)] = &[
    (r"\.ComplexZero\b|[0-9.]i\b|16\.2 - 17i", "complex numbers"),
    (r"\.SICap\b", "slice capacity beyond length"),
    (
        r"\.(MXI|MII|MI32S|MI64S|MUI32S|MUI64S|MI8S|MUI8S)\b",
        "maps with non-string keys",
    ),
    (
        r"\.(PI|PS|PSI|PAI|NonEmptyInterfacePtS)\b",
        "pointers to non-struct values",
    ),
    (r"\.(UPI|EmptyUPI)\b|uintptr", "unsafe.Pointer and uintptr"),
    (
        r"\.(BinaryFunc|VariadicFunc|VariadicFuncInt|NilOKFunc|ErrFunc|PanicFunc|TooFewReturnCountFunc|TooManyReturnCountFunc|InvalidReturnTypeFunc)\b|\bcall\b",
        "function values (call)",
    ),
    (r"\bcount\b", "channels"),
    (r"\.Tmpl\b", "a *Template as data"),
    (r"\bvfunc\b", "struct-typed function parameters"),
    (r"^fVal[12]\(", "iterator functions (range over func)"),
    (r"^struct", "structs with unexported fields"),
    (r"^&iVal", "pointers to interfaces"),
    (r"\.AI\b", "arrays ([3]int)"),
];

fn excluded(row: &Row) -> Option<&'static str> {
    EXCLUDED.iter().find_map(|(pattern, reason)| {
        let re = regex::Regex::new(pattern).unwrap();
        (re.is_match(&row.input) || re.is_match(&row.data)).then_some(*reason)
    })
}

/// A host object built from closures: Go type name, fields, methods, optional String()/Error().
struct Object {
    type_name: &'static str,
    fields: Vec<(&'static str, Value)>,
    methods: fn(&str, &Object) -> Option<Function>,
    display: Option<String>,
    nil: bool,
}

impl HostObject for Object {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn method(&self, name: &str) -> Option<Function> {
        (self.methods)(name, self)
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
    fn is_nil(&self) -> bool {
        self.nil
    }
    fn display(&self) -> Option<String> {
        self.display.clone()
    }
    fn fields(&self) -> Vec<(String, Value)> {
        self.fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect()
    }
}

fn no_methods(_: &str, _: &Object) -> Option<Function> {
    None
}

fn stringer(type_name: &'static str, text: &str, nil: bool) -> Value {
    Value::Object(Rc::new(Object {
        type_name,
        fields: vec![],
        methods: no_methods,
        display: Some(text.to_string()),
        nil,
    }))
}

fn int_list(items: &[i64]) -> Value {
    Value::List(Rc::new(List {
        elem: ElemType::Int,
        items: items.iter().map(|i| Value::int(*i)).collect(),
    }))
}

fn int_map(entries: &[(&str, i64)]) -> Value {
    Value::typed_map(
        ElemType::Int,
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), Value::int(*v)))
            .collect(),
    )
}

fn u_methods(name: &str, _: &Object) -> Option<Function> {
    match name {
        "TrueFalse" => Some(Function::local(&[Param::Bool], None, |_, a| {
            Ok(Value::string(if a[0].truth() { "true" } else { "" }))
        })),
        _ => None,
    }
}

fn u(v: &str) -> Value {
    Value::Object(Rc::new(Object {
        type_name: "*template.U",
        fields: vec![("V", Value::string(v))],
        methods: u_methods,
        display: None,
        nil: false,
    }))
}

fn t_methods(name: &str, this: &Object) -> Option<Function> {
    let f = match name {
        "Method0" => Function::local(&[], None, |_, _| Ok(Value::string("M0"))),
        "Method1" => Function::local(&[Param::Int], None, |_, a| Ok(a[0].clone())),
        "Method2" => Function::local(
            &[Param::UintOf(UintKind::Uint16), Param::String],
            None,
            |_, a| {
                Ok(Value::string(eddy_gotemplate::fmt::sprintf(
                    "Method2: %d %s",
                    &a,
                )))
            },
        ),
        "Method3" => Function::local(&[Param::Any], None, |_, a| {
            Ok(Value::string(eddy_gotemplate::fmt::sprintf(
                "Method3: %v",
                &a,
            )))
        }),
        "MAdd" => Function::local(&[Param::Int, Param::Reflect], None, |_, a| {
            let Value::Int(add, _) = a[0] else {
                return Err(FuncError::msg("bad int"));
            };
            let Some(list) = a[1].as_list().filter(|l| l.elem == ElemType::Int) else {
                return Err(FuncError::msg(format!(
                    "wrong type for value; expected []int; got {}",
                    a[1].type_name()
                )));
            };
            Ok(int_list(
                &list
                    .items
                    .iter()
                    .map(|v| if let Value::Int(i, _) = v { i + add } else { 0 })
                    .collect::<Vec<_>>(),
            ))
        }),
        "MyError" => Function::local(&[Param::Bool], None, |_, a| {
            if a[0].truth() {
                Err(FuncError::msg("my error"))
            } else {
                Ok(Value::Bool(false))
            }
        }),
        "GetU" => {
            let u = this
                .fields
                .iter()
                .find(|(n, _)| *n == "U")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            Function::local(&[], None, move |_, _| Ok(u.clone()))
        }
        "Copy" => {
            let fields = this.fields.clone();
            Function::local(&[], None, move |_, _| {
                Ok(Value::Object(Rc::new(Object {
                    type_name: "*template.T",
                    fields: fields.clone(),
                    methods: t_methods,
                    display: None,
                    nil: false,
                })))
            })
        }
        _ => return None,
    };
    Some(f)
}

fn t(fields: Vec<(&'static str, Value)>, nil: bool) -> Value {
    Value::Object(Rc::new(Object {
        type_name: "*template.T",
        fields,
        methods: t_methods,
        display: None,
        nil,
    }))
}

/// `tVal`, field by field (the fields the excluded features use are left out).
fn t_val() -> Value {
    t(
        vec![
            ("True", Value::Bool(true)),
            ("I", Value::int(17)),
            ("U16", Value::Uint(16, UintKind::Uint16)),
            ("X", Value::string("x")),
            ("S", Value::string("xyz")),
            ("FloatZero", Value::float(0.0)),
            ("U", u("v")),
            ("V0", stringer("template.V", "<6666>", false)),
            ("V1", stringer("*template.V", "<7777>", false)),
            ("V2", stringer("*template.V", "nilV", true)),
            ("W0", stringer("template.W", "[888]", false)),
            ("W1", stringer("*template.W", "[999]", false)),
            ("W2", stringer("*template.W", "nilW", true)),
            ("SI", int_list(&[3, 4, 5])),
            ("SICap", int_list(&[0, 0, 0, 0, 0])),
            (
                "SIEmpty",
                Value::List(Rc::new(List {
                    elem: ElemType::Int,
                    items: vec![],
                })),
            ),
            (
                "SB",
                Value::List(Rc::new(List {
                    elem: ElemType::Bool,
                    items: vec![Value::Bool(true), Value::Bool(false)],
                })),
            ),
            ("MSI", int_map(&[("one", 1), ("two", 2), ("three", 3)])),
            ("MSIone", int_map(&[("one", 1)])),
            ("MSIEmpty", int_map(&[])),
            (
                "SMSI",
                Value::List(Rc::new(List {
                    elem: ElemType::Named("map[string]int".into()),
                    items: vec![
                        int_map(&[("one", 1), ("two", 2)]),
                        int_map(&[("eleven", 11), ("twelve", 12)]),
                    ],
                })),
            ),
            ("Empty0", Value::Nil),
            ("Empty1", Value::int(3)),
            ("Empty2", Value::string("empty2")),
            ("Empty3", int_list(&[7, 8])),
            ("Empty4", u("UinEmpty")),
            (
                "NonEmptyInterface",
                t(vec![("X", Value::string("x"))], false),
            ),
            ("NonEmptyInterfaceNil", Value::Nil),
            ("NonEmptyInterfaceTypedNil", t(vec![], true)),
            ("Str", stringer("*bytes.Buffer", "foozle", false)),
            ("Err", stringer("*errors.errorString", "erroozle", false)),
            (
                "NIL",
                Value::Object(Rc::new(Object {
                    type_name: "*int",
                    fields: vec![],
                    methods: no_methods,
                    display: None,
                    nil: true,
                })),
            ),
        ],
        false,
    )
}

/// The data expressions of the table, as values.
fn data(expression: &str) -> Option<Value> {
    Some(match expression {
        "tVal" => t_val(),
        "nil" => Value::Nil,
        "T{}" => t(
            vec![
                ("True", Value::Bool(false)),
                ("I", Value::int(0)),
                ("X", Value::string("")),
                ("S", Value::string("")),
            ],
            false,
        ),
        "uint(14)" => Value::Uint(14, UintKind::Uint),
        "true" => Value::Bool(true),
        "15.1" => Value::float(15.1),
        "\"hello\"" => Value::string("hello"),
        "`It'd be nice.`" => Value::string("It'd be nice."),
        "[]int{-1, -2, -3}" => int_list(&[-1, -2, -3]),
        "map[string]int{\"two\": 22}" => int_map(&[("two", 22)]),
        "map[string]string{\"cause\": \"neglect\"}" => Value::typed_map(
            ElemType::String,
            [("cause".to_string(), Value::string("neglect"))]
                .into_iter()
                .collect(),
        ),
        "map[string]any{\"S\": bytes.NewBufferString(\"foozle\")}" => Value::map(
            [("S".to_string(), stringer("*bytes.Buffer", "foozle", false))]
                .into_iter()
                .collect(),
        ),
        "tSliceOfNil" => Value::List(Rc::new(List {
            elem: ElemType::Named("*template.T".into()),
            items: vec![t(vec![], true)],
        })),
        "'.'" | "'e'" | "'P'" => Value::Int(i64::from(expression.as_bytes()[1]), IntKind::Int32),
        other => {
            if let Ok(i) = other.parse::<i64>() {
                return Some(Value::int(i));
            }
            let (kind, inner) = other.split_once('(')?;
            let n: i64 = inner.trim_end_matches(')').parse().ok()?;
            match kind {
                "int8" => Value::Int(n, IntKind::Int8),
                "int16" => Value::Int(n, IntKind::Int16),
                "int32" => Value::Int(n, IntKind::Int32),
                "int64" => Value::Int(n, IntKind::Int64),
                "int" => Value::int(n),
                "uint8" => Value::Uint(n as u64, UintKind::Uint8),
                "uint16" => Value::Uint(n as u64, UintKind::Uint16),
                "uint32" => Value::Uint(n as u64, UintKind::Uint32),
                "uint64" => Value::Uint(n as u64, UintKind::Uint64),
                "uint" => Value::Uint(n as u64, UintKind::Uint),
                _ => return None,
            }
        }
    })
}

/// The function map Go's test adds to the builtins.
fn test_funcs() -> FuncMap {
    let mut map = FuncMap::go_builtins();
    map.insert(
        "zeroArgs",
        Function::new(&[], None, |_, _| Ok(Value::string("zeroArgs"))),
    );
    map.insert(
        "oneArg",
        Function::new(&[Param::String], None, |_, a| {
            Ok(Value::string(format!(
                "oneArg={}",
                a[0].as_str().unwrap_or("")
            )))
        }),
    );
    map.insert(
        "twoArgs",
        Function::new(&[Param::String, Param::String], None, |_, a| {
            Ok(Value::string(format!(
                "twoArgs={}{}",
                a[0].as_str().unwrap_or(""),
                a[1].as_str().unwrap_or("")
            )))
        }),
    );
    map.insert(
        "dddArg",
        Function::new(&[Param::Int], Some(Param::String), |_, a| {
            let rest =
                Value::string_list(a[1..].iter().map(|v| v.as_str().unwrap_or("").to_string()));
            Ok(Value::string(eddy_gotemplate::fmt::sprintln(&[
                a[0].clone(),
                rest,
            ])))
        }),
    );
    map.insert(
        "valueString",
        Function::new(&[Param::String], None, |_, _| {
            Ok(Value::string("value is ignored"))
        }),
    );
    map.insert(
        "returnInt",
        Function::new(&[], None, |_, _| Ok(Value::int(7))),
    );
    map.insert(
        "add",
        Function::new(&[], Some(Param::Int), |_, a| {
            Ok(Value::int(
                a.iter()
                    .map(|v| if let Value::Int(i, _) = v { *i } else { 0 })
                    .sum(),
            ))
        }),
    );
    map.insert(
        "echo",
        Function::new(&[Param::Any], None, |_, a| Ok(a[0].clone())),
    );
    map.insert(
        "makemap",
        Function::new(&[], Some(Param::String), |_, a| {
            if a.len() % 2 != 0 {
                return Err(FuncError::msg("bad makemap"));
            }
            let entries: BTreeMap<String, Value> = a
                .chunks(2)
                .map(|p| (p[0].as_str().unwrap_or("").to_string(), p[1].clone()))
                .collect();
            Ok(Value::typed_map(ElemType::String, entries))
        }),
    );
    map.insert(
        "stringer",
        Function::new(&[Param::Any], None, |_, a| match &a[0] {
            Value::Object(o) => Ok(Value::string(o.display().unwrap_or_default())),
            other => Err(FuncError::msg(format!(
                "wrong type for value; expected fmt.Stringer; got {}",
                other.type_name()
            ))),
        }),
    );
    map.insert(
        "typeOf",
        Function::new(&[Param::Any], None, |_, a| {
            Ok(Value::string(eddy_gotemplate::fmt::sprintf("%T", &a)))
        }),
    );
    // Go's `die` panics; a panic inside a template function becomes an execution error.
    map.insert(
        "die",
        Function::new(&[], None, |_, _| Err(FuncError::msg("die"))),
    );
    map.insert(
        "mapOfThree",
        Function::new(&[], None, |_, _| Ok(int_map(&[("three", 3)]))),
    );
    map
}

#[test]
fn go_exec_tests_pass() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/go_exec_tests.json");
    let rows: Vec<Row> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let funcs = test_funcs();
    let mut failures = Vec::new();
    let mut excluded_rows: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut passed = 0;
    for row in &rows {
        if let Some(reason) = excluded(row) {
            excluded_rows.entry(reason).or_default().push(&row.name);
            continue;
        }
        let Some(value) = data(&row.data) else {
            failures.push(format!("{}: data {:?} is not modeled", row.name, row.data));
            continue;
        };
        let mut set = TemplateSet::new(row.name.clone(), funcs.clone());
        let result = set
            .parse(&row.name, &row.input)
            .and_then(|()| set.execute(&row.name, value));
        match (row.ok, result) {
            (true, Ok(out)) if out == row.output => passed += 1,
            (false, Err(_)) => passed += 1,
            (ok, result) => failures.push(format!(
                "{} {:?}: expected ok={ok} {:?}, got {:?}",
                row.name, row.input, row.output, result
            )),
        }
    }
    let excluded_count: usize = excluded_rows.values().map(Vec::len).sum();
    eprintln!(
        "Go exec tests: {} rows, {passed} pass, {excluded_count} excluded, {} fail",
        rows.len(),
        failures.len()
    );
    for (reason, names) in &excluded_rows {
        eprintln!("  excluded ({reason}): {}", names.join(", "));
    }
    assert!(
        failures.is_empty(),
        "{} rows fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
