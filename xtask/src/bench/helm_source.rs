//! `cargo xtask bench helm-source`: source-controller on a large Helm repository index.
//!
//! A synthetic `index.yaml` of 20 000 chart versions (100 charts × 200 versions, entries shaped
//! like `helm repo index` writes them; about the size of the largest public indexes) is served
//! over HTTP with one small archive per chart's newest version. 50 HelmRepositories point at it
//! and 200 HelmCharts (version `*`) resolve from them. We measure the time until all are Ready,
//! the controller's peak RSS and CPU seconds; then every object gets a reconcile request while
//! nothing changed (the no-op path: the index is downloaded and found unchanged, charts are not
//! pulled again) and the same figures are taken again.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use eddy_api::source::{HelmChart, HelmRepository};
use eddy_test_support::TestNamespace;
use eddy_test_support::helm::ChartRepository;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;

use super::process::{Figures, MeasuredProcess, RUN_LABEL, build_controller};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask bench helm-source")]
struct HelmSourceBenchArgs {
    /// Charts in the index.
    #[arg(long, default_value_t = 100)]
    charts: usize,
    /// Versions of each chart.
    #[arg(long, default_value_t = 200)]
    versions: usize,
    #[arg(long, default_value_t = 50)]
    repositories: usize,
    #[arg(long, default_value_t = 200)]
    helm_charts: usize,
    /// `--concurrent` of the controller.
    #[arg(long, default_value_t = 4)]
    concurrent: usize,
    /// Measure a debug build instead of the release build.
    #[arg(long)]
    debug: bool,
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let args = HelmSourceBenchArgs::try_parse_from(
        std::iter::once("helm-source".to_owned()).chain(rest.iter().cloned()),
    )?;
    let binary = build_controller("source-controller", args.debug)?;
    let served = tempfile::tempdir()?;
    let index_size = write_repository(served.path(), args.charts, args.versions)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let client = eddy_test_support::client().await?;
        eddy_test_support::install_crds(&client).await?;
        let server = ChartRepository::serve(served.path(), None).await;
        println!(
            "source-controller ({} build, --concurrent {}): index of {} versions ({:.1} MiB), \
             {} HelmRepositories, {} HelmCharts",
            if args.debug { "debug" } else { "release" },
            args.concurrent,
            args.charts * args.versions,
            index_size as f64 / (1024.0 * 1024.0),
            args.repositories,
            args.helm_charts
        );
        let (ready, noop) = measure(&client, &binary, &server.url(), &args).await?;
        println!(
            "{:<9}  {:>9}  {:>9}  {:>13}",
            "phase", "seconds", "cpu s", "peak RSS MiB"
        );
        for (phase, figures) in [("all Ready", ready), ("no-op", noop)] {
            println!(
                "{phase:<9}  {:>9.2}  {:>9.2}  {:>13.1}",
                figures.seconds, figures.cpu_seconds, figures.peak_rss_mib
            );
        }
        Ok(())
    })
}

/// Writes `index.yaml` and the newest archive of every chart; returns the index size.
fn write_repository(dir: &Path, charts: usize, versions: usize) -> anyhow::Result<u64> {
    let index_path = dir.join("index.yaml");
    let mut index = std::io::BufWriter::new(std::fs::File::create(&index_path)?);
    writeln!(index, "apiVersion: v1\nentries:")?;
    for chart in 0..charts {
        let name = format!("chart-{chart}");
        writeln!(index, "  {name}:")?;
        for version in (0..versions).rev() {
            let digest = format!("{:064x}", chart * 1_000_000 + version);
            writeln!(
                index,
                "  - apiVersion: v2\n    appVersion: {version}.0.0\n    created: \"2024-05-01T10:00:00.{version:06}Z\"\n    \
                 description: A synthetic chart for the helm-source benchmark, version {version}\n    \
                 digest: {digest}\n    home: https://charts.example.invalid/{name}\n    keywords:\n    - bench\n    - synthetic\n    \
                 maintainers:\n    - email: bench@example.invalid\n      name: bench\n    name: {name}\n    \
                 sources:\n    - https://git.example.invalid/{name}\n    type: application\n    urls:\n    - {name}-1.{version}.0.tgz\n    \
                 version: 1.{version}.0"
            )?;
        }
        let newest = versions.saturating_sub(1);
        let chart_yaml = format!("apiVersion: v2\nname: {name}\nversion: 1.{newest}.0\n");
        let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n";
        eddy_test_support::artifact_server::write_tarball(
            &dir.join(format!("{name}-1.{newest}.0.tgz")),
            vec![
                (
                    &format!("{name}/Chart.yaml"),
                    chart_yaml.len() as u64,
                    Box::new(std::io::Cursor::new(chart_yaml.clone().into_bytes())),
                ),
                (
                    &format!("{name}/templates/cm.yaml"),
                    template.len() as u64,
                    Box::new(std::io::Cursor::new(template.as_bytes())),
                ),
            ],
        );
    }
    writeln!(index, "generated: \"2024-05-01T10:00:00Z\"")?;
    index.flush()?;
    drop(index);
    Ok(std::fs::metadata(index_path)?.len())
}

async fn measure(
    client: &kube::Client,
    binary: &Path,
    url: &str,
    args: &HelmSourceBenchArgs,
) -> anyhow::Result<(Figures, Figures)> {
    let namespace = TestNamespace::new(client, "bench-helm").await?;
    let run_id = namespace.name().to_owned();
    let repositories: Api<HelmRepository> = Api::namespaced(client.clone(), namespace.name());
    let charts: Api<HelmChart> = Api::namespaced(client.clone(), namespace.name());
    for index in 0..args.repositories {
        let object: HelmRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": {"name": format!("repo-{index}"), "labels": {RUN_LABEL: run_id}},
            "spec": {"url": url, "interval": "60m"},
        }))?;
        repositories.create(&PostParams::default(), &object).await?;
    }
    for index in 0..args.helm_charts {
        let object: HelmChart = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmChart",
            "metadata": {"name": format!("chart-{index}"), "labels": {RUN_LABEL: run_id}},
            "spec": {"chart": format!("chart-{}", index % args.charts), "interval": "60m",
                     "sourceRef": {"kind": "HelmRepository",
                                   "name": format!("repo-{}", index % args.repositories)}},
        }))?;
        charts.create(&PostParams::default(), &object).await?;
    }
    let storage = tempfile::tempdir()?;
    let mut controller = start_controller(binary, storage.path(), &run_id, args.concurrent)?;
    let timeout = Duration::from_secs(args.timeout_secs);
    let started = Instant::now();
    let outcome = async {
        wait_all(
            &repositories,
            &mut controller,
            args.repositories,
            timeout,
            |_| true,
        )
        .await?;
        wait_all(&charts, &mut controller, args.helm_charts, timeout, |_| {
            true
        })
        .await?;
        let ready = Figures {
            seconds: started.elapsed().as_secs_f64(),
            cpu_seconds: controller.cpu_seconds()?,
            peak_rss_mib: controller.peak_rss_mib()?,
        };
        let cpu_before = controller.cpu_seconds()?;
        controller.reset_peak_rss()?;
        let token = format!("bench-{}", started.elapsed().as_nanos());
        let requested = Instant::now();
        let annotate = Patch::Merge(serde_json::json!({
            "metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}
        }));
        for index in 0..args.repositories {
            repositories
                .patch(&format!("repo-{index}"), &PatchParams::default(), &annotate)
                .await?;
        }
        for index in 0..args.helm_charts {
            charts
                .patch(
                    &format!("chart-{index}"),
                    &PatchParams::default(),
                    &annotate,
                )
                .await?;
        }
        let handled = |handled: Option<&str>| handled == Some(token.as_str());
        wait_all(
            &repositories,
            &mut controller,
            args.repositories,
            timeout,
            |object| {
                handled(
                    object
                        .status
                        .as_ref()
                        .and_then(|s| s.last_handled_reconcile_at.as_deref()),
                )
            },
        )
        .await?;
        wait_all(
            &charts,
            &mut controller,
            args.helm_charts,
            timeout,
            |object| {
                handled(
                    object
                        .status
                        .as_ref()
                        .and_then(|s| s.last_handled_reconcile_at.as_deref()),
                )
            },
        )
        .await?;
        let noop = Figures {
            seconds: requested.elapsed().as_secs_f64(),
            cpu_seconds: controller.cpu_seconds()? - cpu_before,
            peak_rss_mib: controller.peak_rss_mib()?,
        };
        anyhow::Ok((ready, noop))
    }
    .await;
    controller.stop();
    namespace.cleanup().await?;
    outcome
}

/// The `Ready` condition of any object, read from its JSON.
fn is_ready<K: serde::Serialize>(object: &K) -> bool {
    let value = serde_json::to_value(object).unwrap_or_default();
    value["status"]["conditions"]
        .as_array()
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// Polls until `count` objects are Ready and satisfy `done`, failing early if the controller
/// dies.
async fn wait_all<K>(
    api: &Api<K>,
    controller: &mut MeasuredProcess,
    count: usize,
    timeout: Duration,
    done: impl Fn(&K) -> bool,
) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + DeserializeOwned + std::fmt::Debug + serde::Serialize,
{
    let deadline = Instant::now() + timeout;
    loop {
        controller.check_alive()?;
        let list = api.list(&ListParams::default()).await?;
        let finished = list
            .items
            .iter()
            .filter(|object| is_ready(*object) && done(object))
            .count();
        if finished >= count {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {finished} of {count} objects finished within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn start_controller(
    binary: &Path,
    storage: &Path,
    run_id: &str,
    concurrent: usize,
) -> anyhow::Result<MeasuredProcess> {
    let args = [
        "--storage-path".to_owned(),
        storage.display().to_string(),
        "--storage-addr".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--metrics-addr".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--health-addr".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--watch-label-selector".to_owned(),
        format!("{RUN_LABEL}={run_id}"),
        "--concurrent".to_owned(),
        concurrent.to_string(),
        "--requeue-dependency".to_owned(),
        "1s".to_owned(),
    ];
    MeasuredProcess::spawn(binary, &args, &storage.join("controller.log"))
}
