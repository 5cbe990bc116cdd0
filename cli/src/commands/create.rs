//! `eddy create source git` and `eddy create kustomization`: write (server-side apply) or, with
//! `--export`, print the object; then wait for it to be Ready like `flux create` does.

use anyhow::{Context, bail};
use kube::api::{Patch, PatchParams};
use serde_json::{Map, Value, json};

use crate::{
    cluster::{ConnectionArgs, FluxKind, KINDS, parse_duration},
    commands::apply::FIELD_MANAGER,
    output::Progress,
    wait::{Readiness, readiness, until},
};

#[derive(clap::Args)]
pub struct CreateArgs {
    #[command(subcommand)]
    command: CreateCommand,
    /// Print the object as YAML instead of writing it to the cluster.
    #[arg(long, global = true)]
    export: bool,
    /// After writing, wait until the controller reports the object Ready.
    #[arg(long, global = true, default_value_t = true, action = clap::ArgAction::Set)]
    wait: bool,
    /// How often the controller reconciles the object.
    #[arg(long, global = true, default_value = "1m", value_parser = parse_duration)]
    interval: std::time::Duration,
}

#[derive(clap::Subcommand)]
enum CreateCommand {
    /// Create a source (GitRepository).
    #[command(subcommand)]
    Source(SourceCommand),
    /// Create a Kustomization that applies a path of a source.
    #[command(alias = "ks")]
    Kustomization(KustomizationArgs),
}

#[derive(clap::Subcommand)]
enum SourceCommand {
    /// A GitRepository.
    Git(GitArgs),
}

#[derive(clap::Args)]
struct GitArgs {
    name: String,
    /// The repository URL (https://, http:// or ssh://).
    #[arg(long)]
    url: String,
    #[arg(long, conflicts_with_all = ["tag", "tag_semver", "commit"])]
    branch: Option<String>,
    #[arg(long)]
    tag: Option<String>,
    #[arg(long = "tag-semver")]
    tag_semver: Option<String>,
    #[arg(long)]
    commit: Option<String>,
    /// A Secret in the same namespace holding the credentials.
    #[arg(long)]
    secret_ref: Option<String>,
}

#[derive(clap::Args)]
struct KustomizationArgs {
    name: String,
    /// The source, as `[Kind/]name[.namespace]` (Kind defaults to GitRepository).
    #[arg(long)]
    source: String,
    /// The directory in the source to build.
    #[arg(long, default_value = "./")]
    path: String,
    /// Delete objects that left the source.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    prune: bool,
    /// Put every object in this namespace.
    #[arg(long)]
    target_namespace: Option<String>,
    /// Kustomizations that must be Ready first (`name` or `namespace/name`).
    #[arg(long, value_delimiter = ',')]
    depends_on: Vec<String>,
    /// Wait for the applied workloads to become ready before reporting Ready.
    #[arg(long = "wait-for-workloads")]
    health_wait: bool,
}

pub async fn run(args: CreateArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let interval = go_duration(args.interval);
    let namespace = connection.namespace.as_str();
    let (kind, object) = match &args.command {
        CreateCommand::Source(SourceCommand::Git(git)) => (
            kind("GitRepository")?,
            git_repository(git, namespace, &interval),
        ),
        CreateCommand::Kustomization(ks) => (
            kind("Kustomization")?,
            kustomization(ks, namespace, &interval)?,
        ),
    };
    if args.export {
        print!("---\n{}", serde_yaml_ng::to_string(&object)?);
        return Ok(());
    }
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let client = connection.client().await?;
    let api = kind.api(&client, Some(namespace));
    let progress = Progress::new();
    progress.step(&format!("applying {} {namespace}/{name}", kind.kind));
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&object),
    )
    .await
    .with_context(|| format!("cannot write {} {namespace}/{name}", kind.kind))?;
    println!("✔ {} {namespace}/{name} created", kind.kind);
    if !args.wait {
        return Ok(());
    }
    progress.step(&format!("waiting for {} reconciliation", kind.kind));
    until(
        &format!("{} {namespace}/{name} to be Ready", kind.kind),
        connection.timeout,
        async || match readiness(&api.get(&name).await?) {
            Readiness::Ready => Ok(Ok(())),
            Readiness::Pending(reason) => Ok(Err(reason)),
            Readiness::Failed(message) => bail!("{} {name} is not Ready: {message}", kind.kind),
        },
    )
    .await?;
    progress.done(&format!("{} {name} is Ready", kind.kind));
    Ok(())
}

fn kind(name: &str) -> anyhow::Result<&'static FluxKind> {
    FluxKind::find_by_kind(name).with_context(|| format!("{name} is not a known kind"))
}

/// `90s`, `1m0s`, `1h0m0s`: Go's spelling, as Flux writes intervals.
pub(crate) fn go_duration(duration: std::time::Duration) -> String {
    let total = duration.as_secs();
    let (hours, minutes, seconds) = (total / 3600, (total % 3600) / 60, total % 60);
    if hours > 0 {
        format!("{hours}h{minutes}m{seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{seconds}s")
    }
}

fn git_repository(git: &GitArgs, namespace: &str, interval: &str) -> Value {
    let mut reference = Map::new();
    if let Some(tag) = &git.tag {
        reference.insert("tag".into(), json!(tag));
    } else if let Some(semver) = &git.tag_semver {
        reference.insert("semver".into(), json!(semver));
    } else if let Some(commit) = &git.commit {
        reference.insert("commit".into(), json!(commit));
    } else {
        reference.insert(
            "branch".into(),
            json!(git.branch.as_deref().unwrap_or("main")),
        );
    }
    let mut spec = json!({"interval": interval, "url": git.url, "ref": reference});
    if let Some(secret) = &git.secret_ref {
        spec["secretRef"] = json!({"name": secret});
    }
    json!({
        "apiVersion": api_version("GitRepository"),
        "kind": "GitRepository",
        "metadata": {"name": git.name, "namespace": namespace},
        "spec": spec,
    })
}

fn kustomization(ks: &KustomizationArgs, namespace: &str, interval: &str) -> anyhow::Result<Value> {
    let (source_kind, rest) = match ks.source.split_once('/') {
        Some((kind, rest)) => (kind.to_string(), rest),
        None => ("GitRepository".to_string(), ks.source.as_str()),
    };
    if !matches!(
        source_kind.as_str(),
        "GitRepository" | "OCIRepository" | "Bucket" | "ExternalArtifact"
    ) {
        bail!(
            "--source kind {source_kind:?} is not one of GitRepository, OCIRepository, Bucket, ExternalArtifact"
        );
    }
    let mut source_ref = json!({"kind": source_kind});
    match rest.split_once('.') {
        Some((name, source_namespace)) => {
            source_ref["name"] = json!(name);
            source_ref["namespace"] = json!(source_namespace);
        }
        None => source_ref["name"] = json!(rest),
    }
    let mut spec = json!({
        "interval": interval,
        "path": ks.path,
        "prune": ks.prune,
        "sourceRef": source_ref,
    });
    if let Some(target) = &ks.target_namespace {
        spec["targetNamespace"] = json!(target);
    }
    if ks.health_wait {
        spec["wait"] = json!(true);
    }
    if !ks.depends_on.is_empty() {
        let dependencies: Vec<Value> = ks
            .depends_on
            .iter()
            .map(|dependency| match dependency.split_once('/') {
                Some((ns, name)) => json!({"name": name, "namespace": ns}),
                None => json!({"name": dependency}),
            })
            .collect();
        spec["dependsOn"] = json!(dependencies);
    }
    Ok(json!({
        "apiVersion": api_version("Kustomization"),
        "kind": "Kustomization",
        "metadata": {"name": ks.name, "namespace": namespace},
        "spec": spec,
    }))
}

fn api_version(kind: &str) -> String {
    KINDS
        .iter()
        .find(|candidate| candidate.kind == kind)
        .map(|found| format!("{}/{}", found.group, found.version))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn writes_intervals_the_way_go_does() {
        assert_eq!(go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(go_duration(Duration::from_secs(45)), "45s");
        assert_eq!(go_duration(Duration::from_secs(3660)), "1h1m0s");
    }

    #[test]
    fn a_kustomization_source_may_name_kind_and_namespace() {
        let args = KustomizationArgs {
            name: "apps".into(),
            source: "OCIRepository/manifests.shared".into(),
            path: "./apps".into(),
            prune: true,
            target_namespace: None,
            depends_on: vec!["infra/base".into()],
            health_wait: false,
        };
        let object = kustomization(&args, "team", "10m0s").unwrap();
        assert_eq!(
            object["spec"]["sourceRef"],
            json!({"kind": "OCIRepository", "name": "manifests", "namespace": "shared"})
        );
        assert_eq!(
            object["spec"]["dependsOn"],
            json!([{"name": "base", "namespace": "infra"}])
        );
        assert_eq!(object["apiVersion"], "kustomize.toolkit.fluxcd.io/v1");
    }

    #[test]
    fn a_git_repository_defaults_to_the_main_branch() {
        let args = GitArgs {
            name: "repo".into(),
            url: "https://example.com/repo.git".into(),
            branch: None,
            tag: None,
            tag_semver: None,
            commit: None,
            secret_ref: Some("creds".into()),
        };
        let object = git_repository(&args, "flux-system", "1m0s");
        assert_eq!(object["spec"]["ref"], json!({"branch": "main"}));
        assert_eq!(object["spec"]["secretRef"], json!({"name": "creds"}));
    }
}
