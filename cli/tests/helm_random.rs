//! A live differential test of the Helm engine: random value sets drawn from each corpus chart's
//! own `values.yaml` (booleans flipped, numbers and strings changed, keys set to null, tables
//! and lists emptied, globals added), rendered by the real `helm template` (v4.3.2, the corpus
//! oracle) and by eddy-helm, compared byte for byte. Both failing counts as agreement (the first
//! lines of both errors are printed). A difference is re-rendered by helm: when helm disagrees
//! with itself (a random value turned a generated secret back on) the set is not counted.
//!
//! Seeded and small by default (a CI size); `EDDY_HELM_RANDOM=2000` renders 2000 sets,
//! `EDDY_HELM_RANDOM_SEED=n` picks another seed, `EDDY_HELM_CORPUS_CASE=name` one chart.

// Test helpers may unwrap: a failure should stop the test right there, loudly.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use eddy_helm::{LoadLimits, Table, TemplateOptions, load_dir, merge_maps, parse_values};
use serde_json::{Map, Value as Json};

const CI_RENDERS: usize = 30;
const DEFAULT_SEED: u64 = 0x5eed_4e1d;

/// splitmix64: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn corpus() -> PathBuf {
    let shared = std::env::var_os("EDDY_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    shared.join("corpus/helm")
}

/// One corpus case's `default` value set: its `-f` files and flags, as the oracle ran it.
struct Case {
    dir: PathBuf,
    value_files: Vec<String>,
    flags: Vec<String>,
    /// Every path of the chart's own values.yaml, with its default.
    paths: Vec<(Vec<String>, Json)>,
}

fn cases() -> Vec<Case> {
    let only = std::env::var("EDDY_HELM_CORPUS_CASE").ok();
    let mut names: Vec<_> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("case.json").is_file())
        .filter(|p| only.as_ref().is_none_or(|o| p.ends_with(o)))
        .collect();
    names.sort();
    names.into_iter().filter_map(|dir| case(&dir)).collect()
}

fn case(dir: &Path) -> Option<Case> {
    let json: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).ok()?).ok()?;
    let set = json["valueSets"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "default" && s["expect"] == "success")?;
    let strings = |key: &str| -> Vec<String> {
        set[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let defaults = std::fs::read_to_string(dir.join("chart/values.yaml")).unwrap_or_default();
    let mut paths = Vec::new();
    if let Ok(table) = parse_values(&defaults) {
        collect_paths(&mut Vec::new(), &Json::Object(table), &mut paths);
    }
    Some(Case {
        dir: dir.to_path_buf(),
        value_files: strings("valuesFiles"),
        flags: strings("flags"),
        paths,
    })
}

fn collect_paths(prefix: &mut Vec<String>, value: &Json, out: &mut Vec<(Vec<String>, Json)>) {
    if !prefix.is_empty() {
        out.push((prefix.clone(), value.clone()));
    }
    if let Json::Object(map) = value {
        for (key, child) in map {
            prefix.push(key.clone());
            collect_paths(prefix, child, out);
            prefix.pop();
        }
    }
}

/// A changed value for a default, or null (which deletes the key).
fn mutate(rng: &mut Rng, default: &Json) -> Json {
    if rng.below(6) == 0 {
        return Json::Null;
    }
    match default {
        Json::Bool(b) => Json::Bool(!b),
        Json::Number(n) => {
            let choices = [
                Json::from(0),
                Json::from(1),
                Json::from(3),
                Json::from(n.as_f64().unwrap_or(0.0) + 1.5),
            ];
            choices[rng.below(choices.len())].clone()
        }
        Json::String(s) => {
            let choices = [
                Json::from(""),
                Json::from(format!("{s}-x")),
                Json::from("42"),
                Json::from("true"),
            ];
            choices[rng.below(choices.len())].clone()
        }
        Json::Array(_) => [Json::Array(Vec::new()), Json::from("not-a-list")][rng.below(2)].clone(),
        Json::Object(_) => [Json::Object(Map::new()), Json::Bool(true)][rng.below(2)].clone(),
        Json::Null => [Json::from("set"), Json::from(2), Json::Bool(true)][rng.below(3)].clone(),
    }
}

fn set_path(table: &mut Map<String, Json>, path: &[String], value: Json) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| Json::Object(Map::new()));
        if !entry.is_object() {
            *entry = Json::Object(Map::new());
        }
        current = entry.as_object_mut().unwrap();
    }
    current.insert(last.clone(), value);
}

/// One random value set: one to four mutations of the chart's own keys, sometimes a global.
fn random_values(rng: &mut Rng, case: &Case) -> Map<String, Json> {
    let mut values = Map::new();
    for _ in 0..=rng.below(4) {
        if case.paths.is_empty() || rng.below(8) == 0 {
            let globals = [
                ("imageRegistry", Json::from("registry.example.com")),
                ("storageClass", Json::from("fast")),
                ("imagePullSecrets", serde_json::json!(["pull-secret"])),
                ("labels", serde_json::json!({"team": "a"})),
                ("random", Json::from(7)),
            ];
            let (key, value) = globals[rng.below(globals.len())].clone();
            set_path(&mut values, &["global".to_string(), key.to_string()], value);
            continue;
        }
        let (path, default) = &case.paths[rng.below(case.paths.len())];
        set_path(&mut values, path, mutate(rng, default));
    }
    values
}

enum Verdict {
    Same,
    BothFailed(String, String),
    HelmUnstable,
    Differs(String),
}

fn helm_template(helm: &Path, case: &Case, extra: &Path) -> Result<String, String> {
    let home = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = [
        "template",
        "rel",
        "chart",
        "--namespace",
        "ns",
        "--kube-version",
        "v1.34.0",
        "--skip-tests",
    ]
    .map(String::from)
    .to_vec();
    for file in &case.value_files {
        args.extend(["-f".to_string(), file.clone()]);
    }
    args.extend(["-f".to_string(), extra.display().to_string()]);
    args.extend(case.flags.iter().cloned());
    let out = Command::new(helm)
        .current_dir(&case.dir)
        .args(&args)
        .env("KUBECONFIG", home.path().join("none"))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(stderr
            .lines()
            .find(|l| l.starts_with("Error: "))
            .unwrap_or_default()
            .to_string())
    }
}

fn engine_template(case: &Case, extra: &Map<String, Json>) -> Result<String, String> {
    let mut values = Table::new();
    for file in &case.value_files {
        let text = std::fs::read_to_string(case.dir.join(file)).map_err(|e| e.to_string())?;
        values = merge_maps(values, parse_values(&text)?);
    }
    let extra_text = serde_json::to_string(extra).unwrap();
    values = merge_maps(values, parse_values(&extra_text)?);
    let mut options = TemplateOptions::new("rel", "ns", "v1.34.0").unwrap();
    options.include_crds = case.flags.iter().any(|f| f == "--include-crds");
    let chart =
        load_dir(&case.dir.join("chart"), LoadLimits::default()).map_err(|e| e.to_string())?;
    eddy_helm::template(chart, &values, &options).map_err(|e| e.to_string())
}

fn verdict(helm: &Path, case: &Case, extra: &Map<String, Json>, file: &Path) -> Verdict {
    let theirs = helm_template(helm, case, file);
    let ours = engine_template(case, extra);
    match (theirs, ours) {
        (Ok(h), Ok(e)) if h == e => Verdict::Same,
        (Err(h), Err(e)) => {
            Verdict::BothFailed(h, e.lines().next().unwrap_or_default().to_string())
        }
        (Ok(h), Ok(e)) => {
            if helm_template(helm, case, file).ok().as_ref() != Some(&h) {
                return Verdict::HelmUnstable;
            }
            let line = h.split('\n').zip(e.split('\n')).position(|(a, b)| a != b);
            let at = line.unwrap_or_else(|| h.lines().count().min(e.lines().count()));
            Verdict::Differs(format!(
                "line {}: helm {:?}, engine {:?}",
                at + 1,
                h.split('\n').nth(at),
                e.split('\n').nth(at)
            ))
        }
        (Ok(_), Err(e)) => Verdict::Differs(format!(
            "engine failed: {}",
            e.lines().next().unwrap_or_default()
        )),
        (Err(h), Ok(_)) => Verdict::Differs(format!("helm failed: {h}")),
    }
}

#[test]
fn random_value_sets_render_as_helm_renders_them() {
    let renders: usize = std::env::var("EDDY_HELM_RANDOM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CI_RENDERS);
    let seed: u64 = std::env::var("EDDY_HELM_RANDOM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let helm = eddy_test_support::helm::oracle_binary().unwrap();
    let cases = cases();
    assert!(
        !cases.is_empty(),
        "no corpus cases found under {}",
        corpus().display()
    );
    let scratch = tempfile::tempdir().unwrap();
    let mut rng = Rng(seed);
    let (mut same, mut both_failed, mut unstable) = (0, 0, 0);
    let mut differences = Vec::new();
    for render in 0..renders {
        let case = &cases[rng.below(cases.len())];
        let extra = random_values(&mut rng, case);
        let file = scratch.path().join(format!("random-{render}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&extra).unwrap()).unwrap();
        let name = case.dir.file_name().unwrap().to_string_lossy().into_owned();
        match verdict(&helm, case, &extra, &file) {
            Verdict::Same => same += 1,
            Verdict::BothFailed(h, e) => {
                both_failed += 1;
                println!("both failed {name} #{render}:\n  helm   {h}\n  engine {e}");
            }
            Verdict::HelmUnstable => unstable += 1,
            Verdict::Differs(what) => {
                // Printed as found too, so a long run cut short still shows them.
                println!("DIFFERS {name} #{render}: {what}");
                differences.push(format!(
                    "{name} #{render} {}: {what}",
                    serde_json::to_string(&extra).unwrap()
                ));
            }
        }
    }
    println!(
        "seed {seed}: {renders} renders, {same} identical, {both_failed} failed in both, \
         {unstable} not deterministic in helm, {} differ",
        differences.len()
    );
    assert!(
        differences.is_empty(),
        "{} differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
