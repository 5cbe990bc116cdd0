//! View (4) of `cargo xtask bench kustomize`: how build time grows with the tree (issue #20). The
//! tree has N apps, each a base (Deployment, Service, ServiceAccount, ConfigMap generator) and an
//! overlay (replicas, a JSON patch, a merging generator), all pulled into one kustomization with
//! `namespace`, `namePrefix`, `commonLabels` and `images`. One process per build for both tools,
//! start-up included; kubectl is skipped above `--kubectl-max-apps` (it takes minutes there).

use std::path::{Path, PathBuf};

use super::{Measurement, measure_many, write};

/// Tree sizes of the table, in apps.
pub const SIZES: [usize; 4] = [100, 400, 1600, 3200];

pub fn run(
    temp: &Path,
    eddy: &dyn Fn(&Path) -> Vec<String>,
    kubectl: &dyn Fn(&Path) -> Vec<String>,
    runs: usize,
    kubectl_max_apps: usize,
) -> anyhow::Result<()> {
    println!(
        "(4) scaling: N apps (base + overlay each, 5 objects per app), one process per build, start-up included"
    );
    println!(
        "  {:>6} {:>9} {:>11} {:>10} {:>11} {:>12} {:>8} {:>14}",
        "apps", "objects", "eddy", "eddy RSS", "kubectl", "kubectl RSS", "ratio", "eddy growth"
    );
    let mut previous: Option<(usize, Measurement)> = None;
    for apps in SIZES {
        let target = write_tree(&temp.join(format!("scaling-{apps}")), apps)?;
        let targets = std::slice::from_ref(&target);
        let ours = measure_many(targets, eddy, runs)?;
        let theirs = if apps <= kubectl_max_apps {
            Some(measure_many(targets, kubectl, 1)?)
        } else {
            None
        };
        let (kubectl_time, kubectl_rss, ratio) = match theirs {
            Some(theirs) => (
                format!("{:.2}s", theirs.wall.as_secs_f64()),
                format!("{:.1}MiB", theirs.peak_kib as f64 / 1024.0),
                format!(
                    "{:.1}x",
                    theirs.wall.as_secs_f64() / ours.wall.as_secs_f64().max(1e-9)
                ),
            ),
            None => ("skipped".into(), "-".into(), "-".into()),
        };
        let growth = previous.map_or_else(
            || "-".to_string(),
            |(before_apps, before)| {
                format!(
                    "x{:.1} for x{}",
                    ours.wall.as_secs_f64() / before.wall.as_secs_f64().max(1e-9),
                    apps / before_apps
                )
            },
        );
        println!(
            "  {:>6} {:>9} {:>10.3}s {:>7.1}MiB {:>11} {:>12} {:>8} {:>14}",
            apps,
            apps * 5,
            ours.wall.as_secs_f64(),
            ours.peak_kib as f64 / 1024.0,
            kubectl_time,
            kubectl_rss,
            ratio,
            growth
        );
        previous = Some((apps, ours));
        std::fs::remove_dir_all(&target).ok();
    }
    println!(
        "(eddy: best of {runs} runs; kubectl: one run, skipped above {kubectl_max_apps} apps)"
    );
    Ok(())
}

/// Writes the tree of `apps` apps under `root` and returns the directory to build.
pub fn write_tree(root: &Path, apps: usize) -> anyhow::Result<PathBuf> {
    let mut top = String::from("resources:\n");
    for index in 0..apps {
        let app = format!("app{index}");
        write(
            root,
            &format!("apps/{app}/base/resources.yaml"),
            &base_objects(&app),
        )?;
        write(
            root,
            &format!("apps/{app}/base/kustomization.yaml"),
            &format!(
                "resources:\n- resources.yaml\nconfigMapGenerator:\n- name: {app}-config\n  literals:\n  - mode=base\n  - app={app}\n"
            ),
        )?;
        write(
            root,
            &format!("apps/{app}/overlay/kustomization.yaml"),
            &format!(
                "resources:\n- ../base\nreplicas:\n- name: {app}\n  count: 3\npatches:\n- target:\n    kind: Deployment\n    name: {app}\n  patch: |-\n    - op: add\n      path: /spec/template/spec/containers/0/env\n      value:\n      - name: STAGE\n        value: prod\nconfigMapGenerator:\n- name: {app}-config\n  behavior: merge\n  literals:\n  - mode=prod\n"
            ),
        )?;
        top.push_str(&format!("- apps/{app}/overlay\n"));
    }
    top.push_str(
        "namespace: prod\nnamePrefix: p-\ncommonLabels:\n  team: platform\nimages:\n- name: registry.local/app0\n  newTag: '2.0'\n",
    );
    write(root, "kustomization.yaml", &top)?;
    Ok(root.to_path_buf())
}

fn base_objects(app: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {app}\n  labels:\n    app: {app}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:\n      serviceAccountName: {app}\n      containers:\n      - name: main\n        image: registry.local/{app}:1.0\n        envFrom:\n        - configMapRef:\n            name: {app}-config\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {app}\nspec:\n  selector:\n    app: {app}\n  ports:\n  - port: 80\n    targetPort: 8080\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {app}\n"
    )
}
