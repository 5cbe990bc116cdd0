//! `cargo xtask bench source`: how fast source-controller turns N GitRepositories into
//! artifacts, and what it costs.
//!
//! For each count: N GitRepositories (spread over a few local repositories served by a real
//! `git http-backend`) are created first, then the `source-controller` binary is started and we
//! measure the time until all are Ready, its peak RSS and CPU seconds. Then every object gets a
//! reconcile request while nothing changed upstream (the no-op path: ls-remote, no clone) and the
//! same figures are taken again.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use eddy_api::source::GitRepository;
use eddy_test_support::TestNamespace;
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};

use super::process::{Figures, MeasuredProcess, RUN_LABEL, build_controller};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask bench source")]
struct SourceBenchArgs {
    /// How many GitRepositories per run, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    counts: Vec<usize>,
    /// How many distinct Git repositories the objects are spread over.
    #[arg(long, default_value_t = 20)]
    repos: usize,
    /// `--concurrent` of the controller.
    #[arg(long, default_value_t = 4)]
    concurrent: usize,
    /// Measure a debug build instead of the release build.
    #[arg(long)]
    debug: bool,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let args = SourceBenchArgs::try_parse_from(
        std::iter::once("source".to_owned()).chain(rest.iter().cloned()),
    )?;
    let binary = build_controller("source-controller", args.debug)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let client = eddy_test_support::client().await?;
        eddy_test_support::install_crds(&client).await?;
        let root = RepoRoot::new()?;
        let names = create_repos(&root, args.repos)?;
        let server = GitHttpServer::start(root.path(), HttpServerOptions::default()).await?;
        let urls: Vec<String> = names.iter().map(|name| server.url(name)).collect();
        println!(
            "source-controller ({} build, --concurrent {}), {} Git repositories over HTTP",
            if args.debug { "debug" } else { "release" },
            args.concurrent,
            urls.len()
        );
        println!(
            "{:>6}  {:<9}  {:>9}  {:>9}  {:>13}",
            "objects", "phase", "seconds", "cpu s", "peak RSS MiB"
        );
        for &count in &args.counts {
            let (fetch, noop) = measure(&client, &binary, &urls, count, &args).await?;
            for (phase, figures) in [("all Ready", fetch), ("no-op", noop)] {
                println!(
                    "{count:>7}  {phase:<9}  {:>9.2}  {:>9.2}  {:>13.1}",
                    figures.seconds, figures.cpu_seconds, figures.peak_rss_mib
                );
            }
        }
        Ok(())
    })
}

/// Repositories with a realistic handful of manifests each.
fn create_repos(root: &RepoRoot, count: usize) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for index in 0..count.max(1) {
        let name = format!("repo-{index}");
        let repo = root.create(&name)?;
        for file in 0..30 {
            repo.write(
                &format!("apps/app-{file}/deployment.yaml"),
                format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{file}\n  labels: {{repo: \"{index}\"}}\n"),
            )?;
        }
        repo.write("README.md", format!("# {name}\n"))?;
        repo.commit_all("initial manifests")?;
        repo.push("master")?;
        names.push(name);
    }
    Ok(names)
}

async fn measure(
    client: &kube::Client,
    binary: &Path,
    urls: &[String],
    count: usize,
    args: &SourceBenchArgs,
) -> anyhow::Result<(Figures, Figures)> {
    let namespace = TestNamespace::new(client, "bench-source").await?;
    let run_id = namespace.name().to_owned();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), namespace.name());
    for index in 0..count {
        let object: GitRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": format!("repo-{index}"), "labels": {RUN_LABEL: run_id}},
            "spec": {"url": urls[index % urls.len()], "interval": "60m", "ref": {"branch": "master"}},
        }))?;
        api.create(&PostParams::default(), &object).await?;
    }
    let storage = tempfile::tempdir()?;
    let mut controller = start_controller(binary, storage.path(), &run_id, args.concurrent)?;
    let timeout = Duration::from_secs(args.timeout_secs);

    let started = Instant::now();
    let outcome = async {
        wait_all(&api, &mut controller, count, timeout, is_ready).await?;
        let fetch = Figures {
            seconds: started.elapsed().as_secs_f64(),
            cpu_seconds: controller.cpu_seconds()?,
            peak_rss_mib: controller.peak_rss_mib()?,
        };

        let cpu_before = controller.cpu_seconds()?;
        controller.reset_peak_rss()?;
        let token = format!("bench-{}", started.elapsed().as_nanos());
        let requested = Instant::now();
        for index in 0..count {
            api.patch(
                &format!("repo-{index}"),
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({
                    "metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}
                })),
            )
            .await?;
        }
        wait_all(&api, &mut controller, count, timeout, |object| {
            is_ready(object)
                && object
                    .status
                    .as_ref()
                    .and_then(|status| status.last_handled_reconcile_at.as_deref())
                    == Some(token.as_str())
        })
        .await?;
        let noop = Figures {
            seconds: requested.elapsed().as_secs_f64(),
            cpu_seconds: controller.cpu_seconds()? - cpu_before,
            peak_rss_mib: controller.peak_rss_mib()?,
        };
        anyhow::Ok((fetch, noop))
    }
    .await;
    controller.stop();
    namespace.cleanup().await?;
    outcome
}

fn is_ready(object: &GitRepository) -> bool {
    object
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// Polls until `done` holds for `count` objects, failing early if the controller dies.
async fn wait_all(
    api: &Api<GitRepository>,
    controller: &mut MeasuredProcess,
    count: usize,
    timeout: Duration,
    done: impl Fn(&GitRepository) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        controller.check_alive()?;
        let list = api.list(&ListParams::default()).await?;
        let finished = list.items.iter().filter(|object| done(object)).count();
        if finished >= count {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {finished} of {count} objects finished within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Starts source-controller on the objects of run `run_id`, storing artifacts in `storage`.
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
    ];
    MeasuredProcess::spawn(binary, &args, &storage.join("controller.log"))
}
