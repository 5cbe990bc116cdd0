//! `cargo xtask bench kustomize [--runs N] [--apps N]`: Eddy's native engine (release `kbuild`
//! example) against `kubectl kustomize`, one process per build for both, on (a) every case of the
//! shared corpus and (b) a large synthetic overlay tree. Reports wall time, the ratio and the peak
//! RSS of the child (GNU `/usr/bin/time -f %M`, which reads the child's rusage).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

struct Settings {
    runs: usize,
    apps: usize,
}

fn parse(rest: &[String]) -> anyhow::Result<Settings> {
    let mut settings = Settings { runs: 3, apps: 400 };
    let mut iter = rest.iter();
    while let Some(flag) = iter.next() {
        let value = iter
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--runs" => settings.runs = value.parse()?,
            "--apps" => settings.apps = value.parse()?,
            other => bail!("unknown option {other} (known: --runs N, --apps N)"),
        }
    }
    Ok(settings)
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let settings = parse(rest)?;
    if !Path::new("/usr/bin/time").exists() {
        bail!("/usr/bin/time (GNU time) is needed to read the peak RSS of each build");
    }
    let kbuild = build_kbuild()?;
    let eddy = |dir: &Path| vec![kbuild.display().to_string(), dir.display().to_string()];
    let kubectl = |dir: &Path| {
        vec![
            "kubectl".to_string(),
            "kustomize".to_string(),
            dir.display().to_string(),
        ]
    };

    let cases = corpus_targets()?;
    let mut rows = Vec::new();
    let corpus_label = format!("corpus ({} cases, sum)", cases.len());
    rows.push((
        corpus_label,
        measure_many(&cases, &eddy, settings.runs)?,
        measure_many(&cases, &kubectl, settings.runs)?,
    ));

    let temp = tempfile::tempdir()?;
    let target = write_synthetic_tree(temp.path(), settings.apps)?;
    let probe = run_once(&eddy(&target))?;
    let synthetic_label = format!("synthetic ({} resources)", probe.documents);
    let single = std::slice::from_ref(&target);
    rows.push((
        synthetic_label,
        measure_many(single, &eddy, settings.runs)?,
        measure_many(single, &kubectl, settings.runs)?,
    ));

    println!(
        "{:<32} {:>11} {:>11} {:>8} {:>12} {:>12}",
        "workload", "eddy", "kubectl", "speedup", "eddy RSS", "kubectl RSS"
    );
    for (label, ours, theirs) in rows {
        println!(
            "{:<32} {:>9.1}ms {:>9.1}ms {:>7.1}x {:>9.1}MiB {:>9.1}MiB",
            label,
            ours.wall.as_secs_f64() * 1e3,
            theirs.wall.as_secs_f64() * 1e3,
            theirs.wall.as_secs_f64() / ours.wall.as_secs_f64().max(1e-9),
            ours.peak_kib as f64 / 1024.0,
            theirs.peak_kib as f64 / 1024.0,
        );
    }
    println!(
        "(best of {} runs; time per row is the sum over its builds, RSS the largest child)",
        settings.runs
    );
    Ok(())
}

fn build_kbuild() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "eddy-kustomize",
            "--example",
            "kbuild",
        ])
        .current_dir(crate::workspace::root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the kbuild example failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace::root().join("target"));
    Ok(target.join("release/examples/kbuild"))
}

/// The directory each corpus case builds (`input/<target>`).
fn corpus_targets() -> anyhow::Result<Vec<PathBuf>> {
    let corpus = crate::workspace::root().join("../shared/corpus/kustomize");
    let mut targets = Vec::new();
    for entry in std::fs::read_dir(&corpus).with_context(|| corpus.display().to_string())? {
        let case = entry?.path();
        let Ok(text) = std::fs::read_to_string(case.join("case.json")) else {
            continue;
        };
        let meta: serde_json::Value = serde_json::from_str(&text)?;
        let target = meta["target"].as_str().unwrap_or(".");
        targets.push(case.join("input").join(target));
    }
    targets.sort();
    Ok(targets)
}

#[derive(Clone, Copy)]
struct Measurement {
    wall: Duration,
    peak_kib: u64,
}

struct Single {
    wall: Duration,
    peak_kib: u64,
    documents: usize,
}

/// Runs `command` under GNU time; a failing build (expected for error cases) still counts.
fn run_once(command: &[String]) -> anyhow::Result<Single> {
    let report = tempfile::NamedTempFile::new()?;
    let started = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(report.path())
        .args(command)
        .stderr(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", command.join(" ")))?;
    let wall = started.elapsed();
    let peak_kib = std::fs::read_to_string(report.path())?
        .lines()
        .last()
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or(0);
    let documents = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with("kind:"))
        .count();
    Ok(Single {
        wall,
        peak_kib,
        documents,
    })
}

/// Best total wall time over `runs` passes across all directories.
fn measure_many(
    dirs: &[PathBuf],
    command: &dyn Fn(&Path) -> Vec<String>,
    runs: usize,
) -> anyhow::Result<Measurement> {
    let mut best: Option<Measurement> = None;
    for _ in 0..runs.max(1) {
        let mut total = Measurement {
            wall: Duration::ZERO,
            peak_kib: 0,
        };
        for dir in dirs {
            let single = run_once(&command(dir))?;
            total.wall += single.wall;
            total.peak_kib = total.peak_kib.max(single.peak_kib);
        }
        if best.is_none_or(|b| total.wall < b.wall) {
            best = Some(total);
        }
    }
    best.context("no runs")
}

fn write(root: &Path, relative: &str, content: &str) -> anyhow::Result<()> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, content).with_context(|| path.display().to_string())
}

/// Four bases of `apps / 4` apps (Deployment, Service, ConfigMap each, plus a generated ConfigMap
/// per base) under three overlays that prefix, relabel, patch, merge generators and namespace them.
fn write_synthetic_tree(root: &Path, apps: usize) -> anyhow::Result<PathBuf> {
    const BASES: usize = 4;
    for base in 0..BASES {
        let mut documents = Vec::new();
        for app in 0..apps.div_ceil(BASES) {
            let name = format!("app-{base}-{app}");
            documents.push(format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {name}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: main\n        image: nginx:1.{app}\n        envFrom:\n        - configMapRef:\n            name: {name}-config\n        - configMapRef:\n            name: shared-{base}\n"
            ));
            documents.push(format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
            ));
            documents.push(format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-config\ndata:\n  index: \"{app}\"\n"
            ));
        }
        write(
            root,
            &format!("base{base}/resources.yaml"),
            &documents.join("---\n"),
        )?;
        write(
            root,
            &format!("base{base}/kustomization.yaml"),
            &format!(
                "resources:\n- resources.yaml\nconfigMapGenerator:\n- name: shared-{base}\n  literals:\n  - region=eu\n  - base={base}\n"
            ),
        )?;
    }
    let bases: String = (0..BASES).map(|b| format!("- ../base{b}\n")).collect();
    write(
        root,
        "overlay1/kustomization.yaml",
        &format!(
            "resources:\n{bases}namePrefix: team-\nlabels:\n- pairs:\n    team: platform\n  includeSelectors: true\nimages:\n- name: nginx\n  newName: mirror.local/nginx\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: any\n    spec:\n      template:\n        spec:\n          containers:\n          - name: main\n            resources:\n              limits:\n                memory: 128Mi\n"
        ),
    )?;
    write(
        root,
        "overlay2/kustomization.yaml",
        "resources:\n- ../overlay1\nnamespace: production\ncommonAnnotations:\n  owner: sre\nconfigMapGenerator:\n- name: shared-0\n  behavior: merge\n  literals:\n  - region=us\npatches:\n- target:\n    kind: Service\n  patch: |-\n    - op: add\n      path: /metadata/labels/exposed\n      value: \"true\"\n",
    )?;
    write(
        root,
        "overlay3/kustomization.yaml",
        "resources:\n- ../overlay2\nnameSuffix: -v2\nreplicas:\n- name: app-0-0\n  count: 3\nimages:\n- name: mirror.local/nginx\n  newTag: stable\n",
    )?;
    Ok(root.join("overlay3"))
}
