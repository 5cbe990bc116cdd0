//! `cargo xtask bench image-reflector`: N ImageRepositories of M tags each on a local registry
//! (Debian's docker-registry), one semver ImagePolicy each. Measured: the time until every
//! policy has resolved the newest tag, the controller's peak RSS, and the registry requests it
//! made; then a restart on the same tag storage with every policy's `latestRef` cleared: the
//! time until all are resolved again, peak and settled RSS, and the tag-list requests the
//! restart made (none expected: the tags are read back from storage).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use eddy_api::image::{ImagePolicy, ImageRepository};
use eddy_test_support::TestNamespace;
use eddy_test_support::registry::Registry;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::process::{MeasuredProcess, RUN_LABEL, build_controller};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask bench image-reflector")]
struct ImageReflectorBenchArgs {
    /// ImageRepositories (each with one ImagePolicy).
    #[arg(long, default_value_t = 200)]
    repositories: usize,
    /// Tags pushed to each repository.
    #[arg(long, default_value_t = 1000)]
    tags: usize,
    /// Measure a debug build instead of the release build.
    #[arg(long)]
    debug: bool,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let args = ImageReflectorBenchArgs::try_parse_from(
        std::iter::once("image-reflector".to_owned()).chain(rest.iter().cloned()),
    )?;
    if args.repositories == 0 || args.tags == 0 {
        bail!("--repositories and --tags must be at least 1");
    }
    let binary = build_controller("eddy-image-automation", args.debug)?
        .with_file_name("image-reflector-controller");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(measure(&args, &binary))
}

/// Tags `1.<n / 100>.<n % 100>` for n in 0..count: all semver, the newest the last.
fn tags(count: usize) -> Vec<String> {
    (0..count)
        .map(|n| format!("1.{}.{}", n / 100, n % 100))
        .collect()
}

async fn measure(args: &ImageReflectorBenchArgs, binary: &Path) -> anyhow::Result<()> {
    let registry = Registry::start().await?;
    let tags = tags(args.tags);
    let newest = tags.last().context("no tags")?.clone();
    let pushing = Instant::now();
    let (first, rest) = tags.split_first().context("no tags")?;
    for index in 0..args.repositories {
        let repository = format!("bench/app-{index}");
        registry.push_tags(&repository, &[first]).await?;
        registry.link_tags_in_storage(&repository, first, rest)?;
    }
    println!(
        "tagged {} tags in each of {} repositories in {:.1}s (the first pushed, the rest linked in storage)",
        args.tags,
        args.repositories,
        pushing.elapsed().as_secs_f64()
    );
    let client = eddy_test_support::client().await?;
    eddy_test_support::install_crds(&client).await?;
    let namespace = TestNamespace::new(&client, "bench-irc").await?;
    let ns = namespace.name().to_owned();
    let storage = tempfile::tempdir()?;
    let outcome = run_phases(
        args,
        binary,
        &registry,
        &client,
        &ns,
        storage.path(),
        &newest,
    )
    .await;
    namespace.cleanup().await?;
    outcome
}

async fn run_phases(
    args: &ImageReflectorBenchArgs,
    binary: &Path,
    registry: &Registry,
    client: &kube::Client,
    ns: &str,
    storage: &Path,
    newest: &str,
) -> anyhow::Result<()> {
    create_objects(args, registry, client, ns).await?;
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), ns);
    let timeout = Duration::from_secs(args.timeout_secs);
    let flags = [
        "--metrics-addr=127.0.0.1:0".to_owned(),
        "--health-addr=127.0.0.1:0".to_owned(),
        format!("--watch-label-selector={RUN_LABEL}={ns}"),
        format!("--storage-path={}", storage.display()),
    ];
    let log = std::env::temp_dir().join(format!("{ns}-image-reflector-controller.log"));
    let tag_lists = |registry: &Registry| registry.requests_matching("/tags/list");

    let before = tag_lists(registry)?;
    let mut controller = MeasuredProcess::spawn(binary, &flags, &log)?;
    let started = Instant::now();
    let waited = wait_all_resolved(
        &policies,
        &mut controller,
        args.repositories,
        newest,
        timeout,
    )
    .await;
    let first_seconds = started.elapsed().as_secs_f64();
    let first_peak = controller.peak_rss_mib();
    let first_cpu = controller.cpu_seconds();
    controller.stop();
    waited?;
    let first_lists = tag_lists(registry)? - before;
    let stored = std::fs::read_dir(storage)?.count();

    clear_latest_refs(&policies).await?;
    let before = tag_lists(registry)?;
    let mut controller = MeasuredProcess::spawn(binary, &flags, &log)?;
    let restarted = Instant::now();
    let waited = wait_all_resolved(
        &policies,
        &mut controller,
        args.repositories,
        newest,
        timeout,
    )
    .await;
    let restart_seconds = restarted.elapsed().as_secs_f64();
    let restart_peak = controller.peak_rss_mib();
    // Settled: what the process holds once the burst after the restart is over.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let settled = controller.rss_mib();
    let restart_cpu = controller.cpu_seconds();
    controller.stop();
    waited?;
    let restart_lists = tag_lists(registry)? - before;

    println!(
        "image-reflector-controller ({} build): {} ImageRepositories × {} tags, one semver ImagePolicy each",
        if args.debug { "debug" } else { "release" },
        args.repositories,
        args.tags
    );
    println!(
        "first start → all policies resolved: {first_seconds:.2}s, CPU {:.2}s, peak RSS {:.1} MiB, {first_lists} tag-list requests, {stored} tag files stored",
        first_cpu?, first_peak?
    );
    println!(
        "restart → all policies resolved again: {restart_seconds:.2}s, CPU {:.2}s, peak RSS {:.1} MiB, settled RSS {:.1} MiB, {restart_lists} tag-list requests",
        restart_cpu?, restart_peak?, settled?
    );
    Ok(())
}

async fn create_objects(
    args: &ImageReflectorBenchArgs,
    registry: &Registry,
    client: &kube::Client,
    ns: &str,
) -> anyhow::Result<()> {
    let repositories: Api<ImageRepository> = Api::namespaced(client.clone(), ns);
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), ns);
    for index in 0..args.repositories {
        let name = format!("app-{index}");
        let labels = json!({ RUN_LABEL: ns });
        let repository: ImageRepository = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageRepository",
            "metadata": {"name": name, "labels": labels},
            "spec": {"image": registry.image(&format!("bench/{name}")), "interval": "60m"},
        }))?;
        repositories
            .create(&PostParams::default(), &repository)
            .await?;
        let policy: ImagePolicy = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": name, "labels": labels},
            "spec": {"imageRepositoryRef": {"name": name}, "policy": {"semver": {"range": ">=1.0.0"}}},
        }))?;
        policies.create(&PostParams::default(), &policy).await?;
    }
    Ok(())
}

/// Removes every policy's `latestRef`, so the restarted controller must resolve them again.
async fn clear_latest_refs(policies: &Api<ImagePolicy>) -> anyhow::Result<()> {
    let clear = json!({"status": {"latestRef": null, "observedPreviousRef": null}});
    for policy in policies.list(&ListParams::default()).await? {
        let name = policy.metadata.name.context("a policy without a name")?;
        policies
            .patch_status(&name, &PatchParams::default(), &Patch::Merge(&clear))
            .await?;
    }
    Ok(())
}

async fn wait_all_resolved(
    policies: &Api<ImagePolicy>,
    controller: &mut MeasuredProcess,
    expected: usize,
    newest: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        controller.check_alive()?;
        let resolved = policies
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|policy| {
                policy
                    .status
                    .as_ref()
                    .and_then(|status| status.latest_ref.as_ref())
                    .is_some_and(|latest| latest.tag == newest)
            })
            .count();
        if resolved >= expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{resolved} of {expected} policies resolved within {}s",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
