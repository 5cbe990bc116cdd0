//! `cargo xtask bench source`: how fast source-controller turns N GitRepositories into
//! artifacts, and what it costs.
//!
//! For each count: N GitRepositories (spread over a few local repositories served by a real
//! `git http-backend`) are created first, then the `source-controller` binary is started and we
//! measure the time until all are Ready, its peak RSS and CPU seconds. Then every object gets a
//! reconcile request while nothing changed upstream (the no-op path: ls-remote, no clone) and the
//! same figures are taken again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use eddy_api::source::GitRepository;
use eddy_test_support::TestNamespace;
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};

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

const RUN_LABEL: &str = "bench.eddy.dev/run";

/// What one phase cost.
struct Figures {
    seconds: f64,
    cpu_seconds: f64,
    peak_rss_mib: f64,
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let args = SourceBenchArgs::try_parse_from(
        std::iter::once("source".to_owned()).chain(rest.iter().cloned()),
    )?;
    let binary = build_controller(args.debug)?;
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

fn build_controller(debug: bool) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(["build", "-p", "source-controller"]);
    if !debug {
        command.arg("--release");
    }
    let status = command
        .current_dir(crate::workspace::root())
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building source-controller failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace::root().join("target"));
    Ok(target
        .join(if debug { "debug" } else { "release" })
        .join("source-controller"))
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
    let mut controller =
        ControllerProcess::start(binary, storage.path(), &run_id, args.concurrent)?;
    let timeout = Duration::from_secs(args.timeout_secs);

    let started = Instant::now();
    let outcome = async {
        wait_all(&api, &mut controller, count, timeout, is_ready).await?;
        let fetch = Figures {
            seconds: started.elapsed().as_secs_f64(),
            cpu_seconds: controller.cpu_seconds()?,
            peak_rss_mib: controller.peak_rss_mib,
        };

        let cpu_before = controller.cpu_seconds()?;
        controller.peak_rss_mib = controller.rss_mib()?;
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
            peak_rss_mib: controller.peak_rss_mib,
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

/// Polls until `done` holds for `count` objects, sampling the controller's memory meanwhile.
async fn wait_all(
    api: &Api<GitRepository>,
    controller: &mut ControllerProcess,
    count: usize,
    timeout: Duration,
    done: impl Fn(&GitRepository) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        controller.sample()?;
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

/// The controller binary under measurement.
struct ControllerProcess {
    child: Child,
    peak_rss_mib: f64,
}

impl ControllerProcess {
    fn start(
        binary: &Path,
        storage: &Path,
        run_id: &str,
        concurrent: usize,
    ) -> anyhow::Result<Self> {
        let kubeconfig = eddy_testenv::kubeconfig_path()?;
        let log = std::fs::File::create(storage.join("controller.log"))?;
        let child = Command::new(binary)
            .env("KUBECONFIG", kubeconfig)
            .args([
                "--storage-path",
                &storage.display().to_string(),
                "--storage-addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
                "--health-addr",
                "127.0.0.1:0",
                "--watch-label-selector",
                &format!("{RUN_LABEL}={run_id}"),
                "--concurrent",
                &concurrent.to_string(),
            ])
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        Ok(ControllerProcess {
            child,
            peak_rss_mib: 0.0,
        })
    }

    fn sample(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("source-controller exited early: {status}");
        }
        self.peak_rss_mib = self.peak_rss_mib.max(self.rss_mib()?);
        Ok(())
    }

    fn rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc status")?;
        Ok(kib / 1024.0)
    }

    /// User plus system CPU time so far (clock ticks are 1/100 s on Linux).
    fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))?;
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let after_name = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .context("malformed /proc stat")?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks = |index: usize| -> anyhow::Result<f64> {
            Ok(fields
                .get(index)
                .context("short /proc stat")?
                .parse::<f64>()?)
        };
        Ok((ticks(11)? + ticks(12)?) / 100.0)
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
