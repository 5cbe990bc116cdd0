//! `cargo xtask bench image-automation`: one Git repository with many marked files and many
//! ImagePolicies, then one policy's `latestRef` changes. Measured: the first run (clone, scan,
//! nothing to change), the time from the `latestRef` change to the pushed commit, the
//! controller's peak RSS in each phase, and what the commit changed (files, lines, bytes — only
//! the marked values should differ).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use eddy_api::image::{ImagePolicy, ImageUpdateAutomation};
use eddy_test_support::TestNamespace;
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot, git};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::process::{MeasuredProcess, RUN_LABEL, build_controller};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask bench image-automation")]
struct ImageAutomationBenchArgs {
    /// Marked YAML files in the repository.
    #[arg(long, default_value_t = 500)]
    files: usize,
    /// ImagePolicies (the files' markers are spread over them).
    #[arg(long, default_value_t = 100)]
    policies: usize,
    /// Measure a debug build instead of the release build.
    #[arg(long)]
    debug: bool,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let args = ImageAutomationBenchArgs::try_parse_from(
        std::iter::once("image-automation".to_owned()).chain(rest.iter().cloned()),
    )?;
    if args.policies == 0 {
        bail!("--policies must be at least 1");
    }
    let binary = build_controller("eddy-image-automation", args.debug)?
        .with_file_name("image-automation-controller");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(measure(&args, &binary))
}

async fn measure(args: &ImageAutomationBenchArgs, binary: &Path) -> anyhow::Result<()> {
    let client = eddy_test_support::client().await?;
    eddy_test_support::install_crds(&client).await?;
    let namespace = TestNamespace::new(&client, "bench-iac").await?;
    let ns = namespace.name().to_owned();
    let root = RepoRoot::new()?;
    let repo = root.create("config")?;
    for index in 0..args.files {
        repo.write(
            &format!("apps/app-{index}/deployment.yaml"),
            deployment(&ns, index, args.policies),
        )?;
    }
    repo.commit_all("marked manifests")?;
    repo.push("master")?;
    git(&repo.bare, &["config", "http.receivepack", "true"])?;
    let server = GitHttpServer::start(root.path(), HttpServerOptions::default()).await?;
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), &ns);
    for index in 0..args.policies {
        let name = format!("p-{index}");
        let policy: ImagePolicy = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImagePolicy",
            "metadata": {"name": name},
            "spec": {"imageRepositoryRef": {"name": name}, "policy": {"semver": {"range": ">=1.0.0"}}},
        }))?;
        policies.create(&PostParams::default(), &policy).await?;
        set_tag(&policies, &name, "1.0.0").await?;
    }
    let sources: Api<eddy_api::source::GitRepository> = Api::namespaced(client.clone(), &ns);
    sources
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "config"},
                "spec": {"url": server.url("config"), "interval": "60m", "ref": {"branch": "master"}},
            }))?,
        )
        .await?;
    let automations: Api<ImageUpdateAutomation> = Api::namespaced(client.clone(), &ns);
    automations
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "apiVersion": "image.toolkit.fluxcd.io/v1", "kind": "ImageUpdateAutomation",
                "metadata": {"name": "bench", "labels": {RUN_LABEL: ns}},
                "spec": {
                    "interval": "60m",
                    "sourceRef": {"kind": "GitRepository", "name": "config"},
                    "git": {"commit": {"author": {"name": "bench", "email": "bench@example.com"}}},
                    "update": {"path": "./apps"},
                },
            }))?,
        )
        .await?;
    let log = std::env::temp_dir().join(format!("{ns}-image-automation-controller.log"));
    let mut controller = MeasuredProcess::spawn(
        binary,
        &[
            "--metrics-addr=127.0.0.1:0".to_owned(),
            "--health-addr=127.0.0.1:0".to_owned(),
            format!("--watch-label-selector={RUN_LABEL}={ns}"),
        ],
        &log,
    )?;
    let timeout = Duration::from_secs(args.timeout_secs);
    let outcome = async {
        let started = Instant::now();
        wait(&automations, &mut controller, timeout, |status| status.last_automation_run_time.is_some()).await?;
        let first = started.elapsed().as_secs_f64();
        let first_rss = controller.peak_rss_mib()?;
        controller.reset_peak_rss()?;
        let before = git(&repo.bare, &["rev-parse", "master"])?;
        let changed_at = Instant::now();
        set_tag(&policies, "p-0", "1.0.1").await?;
        wait(&automations, &mut controller, timeout, |status| status.last_push_commit.is_some()).await?;
        let push_seconds = changed_at.elapsed().as_secs_f64();
        let push_rss = controller.peak_rss_mib()?;
        let after = git(&repo.bare, &["rev-parse", "master"])?;
        let (files, lines, removed, added) = diff_size(&repo.bare, &before, &after)?;
        println!(
            "image-automation-controller ({} build): {} marked files, {} policies",
            if args.debug { "debug" } else { "release" },
            args.files,
            args.policies
        );
        println!("first run (clone, scan, no change): {first:.2}s, peak RSS {first_rss:.1} MiB");
        println!("latestRef change → pushed commit:   {push_seconds:.2}s, peak RSS {push_rss:.1} MiB");
        println!(
            "the commit: {files} files, {lines} lines changed; bytes replaced {removed} → {added} (expected {} files, one line and 1 → 1 byte each)",
            args.files.div_ceil(args.policies)
        );
        anyhow::Ok(())
    }
    .await;
    controller.stop();
    namespace.cleanup().await?;
    outcome
}

fn deployment(ns: &str, index: usize, policies: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{index}\n  labels: {{app: \"{index}\"}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app  # the main container\n          image: registry.local/app-{policy}:1.0.0 # {{\"$imagepolicy\": \"{ns}:p-{policy}\"}}\n          args: [\"--port\", '8080']\n",
        policy = index % policies
    )
}

async fn set_tag(api: &Api<ImagePolicy>, name: &str, tag: &str) -> anyhow::Result<()> {
    let policy = name.trim_start_matches("p-");
    let status = json!({"status": {"latestRef": {"name": format!("registry.local/app-{policy}"), "tag": tag}}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .with_context(|| format!("setting the latestRef of {name}"))?;
    Ok(())
}

async fn wait(
    api: &Api<ImageUpdateAutomation>,
    controller: &mut MeasuredProcess,
    timeout: Duration,
    done: impl Fn(&eddy_api::image::ImageUpdateAutomationStatus) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        controller.check_alive()?;
        if let Some(status) = api.get("bench").await?.status
            && done(&status)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the automation did not finish within {}s",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Files and lines changed between two commits, and the bytes the changes replaced (per file,
/// what lies between the common prefix and the common suffix).
fn diff_size(
    bare: &Path,
    before: &str,
    after: &str,
) -> anyhow::Result<(usize, usize, usize, usize)> {
    let names = git(bare, &["diff", "--name-only", before, after])?;
    let (mut files, mut lines, mut removed, mut added) = (0, 0, 0, 0);
    for name in names.lines().filter(|name| !name.is_empty()) {
        let old = git(bare, &["show", &format!("{before}:{name}")])?;
        let new = git(bare, &["show", &format!("{after}:{name}")])?;
        let prefix = old
            .bytes()
            .zip(new.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = old
            .bytes()
            .rev()
            .zip(new.bytes().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let suffix = suffix.min(old.len().min(new.len()) - prefix);
        files += 1;
        lines += old.lines().zip(new.lines()).filter(|(a, b)| a != b).count();
        removed += old.len() - prefix - suffix;
        added += new.len() - prefix - suffix;
    }
    Ok((files, lines, removed, added))
}
