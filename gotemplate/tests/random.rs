//! Random differential test: templates generated from a grammar over the functions charts use
//! most (nindent, printf, quote, default, include, toYaml, toYamlPretty, tpl, dict, merge,
//! semverCompare, …) with random data (ints vs floats, nested maps, nils), run through the Go
//! oracle and through eddy-gotemplate; output and error text must be identical.
//!
//! CI runs `EDDY_GOTEMPLATE_RANDOM_CASES` (default 300) cases; a long run sets it to 10000+.
//! `EDDY_GOTEMPLATE_RANDOM_SEED` replays a run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value as Json, json};
use support::{Case, mismatch, oracle, run_case, run_oracle};

struct Gen {
    rng: StdRng,
}

const KEYS: &[&str] = &[
    "name", "port", "replicas", "labels", "image", "enabled", "items", "empty", "nothing", "ratio",
    "count", "tag",
];
const STRINGS: &[&str] = &[
    "nginx",
    "v1.2.3",
    "1.21.0",
    "",
    "a b",
    "yes",
    "08",
    "0x1F",
    "3.0",
    "line1\nline2",
    "<b>&",
    "héllo",
    "Hello World",
    "-x-",
    "true",
    "null",
    "123456789012",
];

impl Gen {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.gen_range(0..items.len())]
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.rng.gen_range(0..100) < percent
    }

    fn scalar(&mut self) -> Json {
        match self.rng.gen_range(0..8) {
            0 => json!({"$int": self.rng.gen_range(-5..2000)}),
            1 => json!(self.rng.gen_range(-3..5) as f64 * 0.5),
            2 => json!(*self.pick(&[0.0, 1.0, 3.0, 1e6, 1e21, 1e-7, 8080.0, 2.5, -1.0])),
            3 => json!({"$int64": self.rng.gen_range(-100..100)}),
            4 => Json::Bool(self.chance(50)),
            5 => Json::Null,
            _ => json!(*self.pick(STRINGS)),
        }
    }

    fn data(&mut self, depth: usize) -> Json {
        if depth > 2 || self.chance(40) {
            return self.scalar();
        }
        if self.chance(50) {
            let n = self.rng.gen_range(0..4);
            Json::Array((0..n).map(|_| self.data(depth + 1)).collect())
        } else {
            let n = self.rng.gen_range(0..5);
            let mut map = serde_json::Map::new();
            for _ in 0..n {
                let key = self.pick(KEYS).to_string();
                map.insert(key, self.data(depth + 1));
            }
            Json::Object(map)
        }
    }

    fn root(&mut self) -> Json {
        let mut map = serde_json::Map::new();
        for key in KEYS {
            if self.chance(80) {
                map.insert(key.to_string(), self.data(1));
            }
        }
        map.insert(
            "kube".to_string(),
            json!(*self.pick(&["v1.31.0", "v1.18.3-gke.1", "1.20.0-rc.1"])),
        );
        Json::Object(map)
    }

    fn field(&mut self) -> String {
        let mut path = String::new();
        let depth = self.rng.gen_range(1..3);
        for _ in 0..depth {
            path.push('.');
            let key = *self.pick(KEYS);
            path.push_str(key);
        }
        if self.chance(15) {
            format!("${path}")
        } else {
            path
        }
    }

    fn literal(&mut self) -> String {
        match self.rng.gen_range(0..5) {
            0 => self.rng.gen_range(-2..100).to_string(),
            1 => format!("{:?}", self.pick(STRINGS)),
            2 => self
                .pick(&["1.5", "2.0", "1e3", "true", "false", "nil"])
                .to_string(),
            3 => "(list 1 \"a\" 2.5)".to_string(),
            _ => "(dict \"k\" 1 \"name\" \"x\")".to_string(),
        }
    }

    fn operand(&mut self, depth: usize) -> String {
        if depth < 2 && self.chance(35) {
            return format!("({})", self.call(depth + 1));
        }
        if self.chance(65) {
            self.field()
        } else {
            self.literal()
        }
    }

    fn call(&mut self, depth: usize) -> String {
        let a = self.operand(depth);
        let b = self.operand(depth);
        let n = self.rng.gen_range(0..6);
        match self.rng.gen_range(0..46) {
            0 => format!("nindent {n} (toYaml {a})"),
            1 => format!("indent {n} {a}"),
            2 => format!(
                "printf {:?} {a} {b}",
                self.pick(&[
                    "%v %v",
                    "%d",
                    "%s-%s",
                    "%q",
                    "%5.2f",
                    "%x",
                    "%t",
                    "%v",
                    "%T %T",
                    "%03d|%-4s|"
                ])
            ),
            3 => format!("quote {a} {b}"),
            4 => format!("default {a} {b}"),
            5 => format!("toYaml {a}"),
            6 => format!("toJson {a}"),
            7 => format!("dict \"a\" {a} \"b\" {b}"),
            8 => format!("merge (dict \"x\" {a}) (dict \"x\" {b} \"y\" 1)"),
            9 => format!(
                "semverCompare {:?} .kube",
                self.pick(&[">=1.19-0", "<1.20", "^1.18", "~1.31.0", ">=1.19"])
            ),
            10 => format!("trunc {n} {a}"),
            11 => format!("trimSuffix \"-\" {a}"),
            12 => format!("replace \"a\" \"b\" {a}"),
            13 => format!("upper {a}"),
            14 => format!("b64enc {a}"),
            15 => format!("list {a} {b}"),
            16 => format!("hasKey {a} \"name\""),
            17 => format!("len {a}"),
            18 => format!("empty {a}"),
            19 => format!("ternary {a} {b} (empty {a})"),
            20 => format!("int {a}"),
            21 => format!("int64 {a}"),
            22 => format!("add {a} {b}"),
            23 => format!("eq {a} {b}"),
            24 => format!("lt {a} {b}"),
            25 => format!("and {a} {b}"),
            26 => format!("or {a} {b}"),
            27 => format!("not {a}"),
            28 => format!("include \"helper\" {a}"),
            29 => "tpl \"{{ .name }}/{{ .tag | default \\\"latest\\\" }}\" $".to_string(),
            30 => format!("toString {a}"),
            31 => format!("join \",\" {a}"),
            32 => format!("coalesce {a} {b}"),
            33 => format!("kindOf {a}"),
            34 => format!("typeOf {a}"),
            35 => format!("contains \"a\" {a}"),
            36 => format!("cat {a} {b}"),
            37 => format!("squote {a}"),
            38 => format!("sha256sum (toString {a})"),
            39 => format!("index {a} {b}"),
            40 => format!("required \"needed\" {a}"),
            41 => format!("print {a} {b}"),
            42 => format!("float64 {a}"),
            43 => format!("toYamlPretty {a}"),
            44 => format!("nindent {n} (toYamlPretty (dict \"v\" {a} \"w\" {b}))"),
            _ => format!("mul {a} {b}"),
        }
    }

    fn action(&mut self) -> String {
        let trim_left = if self.chance(30) { "- " } else { " " };
        let trim_right = if self.chance(30) { " -" } else { " " };
        match self.rng.gen_range(0..10) {
            0..=4 => format!("{{{{{trim_left}{}{trim_right}}}}}", self.call(0)),
            5 => format!("{{{{ {} }}}}", self.field()),
            6 => format!("{{{{ if {} }}}}T{{{{ else }}}}F{{{{ end }}}}", self.call(1)),
            7 => format!(
                "{{{{ range $k, $v := {} }}}}[{{{{ $k }}}}={{{{ $v }}}}]{{{{ end }}}}",
                self.field()
            ),
            8 => format!(
                "{{{{ with {} }}}}<{{{{ . }}}}>{{{{ else }}}}none{{{{ end }}}}",
                self.field()
            ),
            _ => format!("{{{{ $x := {} }}}}{{{{ $x }}}}", self.call(1)),
        }
    }

    fn case(&mut self, index: usize) -> Case {
        let n = self.rng.gen_range(1..4);
        let body: Vec<String> = (0..n).map(|_| self.action()).collect();
        let text = body.join("\n  ");
        let helper = "{{- define \"helper\" -}}h:{{ . }}{{- end -}}".to_string();
        Case {
            name: format!("random-{index}"),
            templates: vec![("t".to_string(), format!("x:\n  {text}\n{helper}"))],
            entry: "t".to_string(),
            data: Some(self.root()),
            missingkey: "zero".to_string(),
            funcs: String::new(),
            expected: None,
            shape: None,
        }
    }
}

#[test]
fn random_templates_match_go() {
    let Some(binary) = oracle() else {
        eprintln!("random differential test not run: the Go oracle is unavailable");
        return;
    };
    let count: usize = std::env::var("EDDY_GOTEMPLATE_RANDOM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let seed: u64 = std::env::var("EDDY_GOTEMPLATE_RANDOM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut generator = Gen {
        rng: StdRng::seed_from_u64(seed),
    };
    let cases: Vec<Case> = (0..count).map(|i| generator.case(i)).collect();
    let mut failures = Vec::new();
    let mut failed_in_go = 0;
    for chunk in cases.chunks(500) {
        let expected = run_oracle(&binary, chunk);
        assert_eq!(
            expected.len(),
            chunk.len(),
            "the oracle answered every case"
        );
        for (case, expected) in chunk.iter().zip(&expected) {
            failed_in_go += usize::from(expected.failed);
            let got = run_case(case);
            if let Some(m) = mismatch(case, &got, expected) {
                failures.push(m);
            }
        }
    }
    eprintln!(
        "{count} random templates (seed {seed}): {} rendered in Go, {failed_in_go} failed in Go, {} differ",
        count - failed_in_go,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {count} differ (seed {seed}):\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Characters that decide how go-yaml v3 writes a string: indicators, spaces and breaks, the
/// letters of YAML 1.1 words, digits and number punctuation, and characters it must escape.
const YAML_ALPHABET: &[&str] = &[
    " ", " ", "\n", "\n", "\t", "\r", ":", "#", "-", "?", "'", "\"", ",", "[", "{", "}", "&", "*",
    "!", "|", ">", "%", "@", "`", "~", ".", ".", "_", "+", "e", "x", "o", "b", "0", "1", "2", "7",
    "9", "y", "n", "t", "r", "u", "a", "l", "f", "s", "N", "Y", "T", "é", "😀", "\u{a0}", "\u{85}",
    "\u{2028}", "\u{feff}", "\u{7}", "\0",
];

fn random_yaml_string(rng: &mut StdRng) -> String {
    let length = rng.gen_range(0..7);
    (0..length)
        .map(|_| YAML_ALPHABET[rng.gen_range(0..YAML_ALPHABET.len())])
        .collect()
}

/// Random strings as map keys, map values and list items through `toYamlPretty`, compared with
/// Go. CI runs `EDDY_GOTEMPLATE_RANDOM_CASES` / 10 documents (each holds 8 keys and 8 items).
#[test]
fn random_strings_print_as_go_yaml_v3() {
    let Some(binary) = oracle() else {
        eprintln!("random toYamlPretty test not run: the Go oracle is unavailable");
        return;
    };
    let count: usize = std::env::var("EDDY_GOTEMPLATE_RANDOM_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
        / 10;
    let seed: u64 = std::env::var("EDDY_GOTEMPLATE_RANDOM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut rng = StdRng::seed_from_u64(seed);
    let cases: Vec<Case> = (0..count.max(1))
        .map(|index| {
            let mut map = serde_json::Map::new();
            for _ in 0..8 {
                map.insert(random_yaml_string(&mut rng), json!(random_yaml_string(&mut rng)));
            }
            let items: Vec<Json> = (0..8).map(|_| json!(random_yaml_string(&mut rng))).collect();
            Case {
                name: format!("random-yaml-{index}"),
                templates: vec![(
                    "t".to_string(),
                    "{{ toYamlPretty .m }}\n---\n{{ toYamlPretty .l }}\n---\n{{ toYamlPretty (index .l 0) }}".to_string(),
                )],
                entry: "t".to_string(),
                data: Some(json!({"m": map, "l": items})),
                missingkey: "zero".to_string(),
                funcs: String::new(),
                expected: None,
                shape: None,
            }
        })
        .collect();
    let expected = run_oracle(&binary, &cases);
    assert_eq!(
        expected.len(),
        cases.len(),
        "the oracle answered every case"
    );
    let failures: Vec<String> = cases
        .iter()
        .zip(&expected)
        .filter_map(|(case, expected)| mismatch(case, &run_case(case), expected))
        .collect();
    eprintln!(
        "{} random toYamlPretty documents (seed {seed}): {} differ",
        cases.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} differ (seed {seed}):\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
