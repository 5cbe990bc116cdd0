//! `eddy bootstrap git`: put the components and the sync objects in a Git repository, install
//! the components, and let the cluster follow the repository from then on.
//!
//! Works with any Git server over HTTP(S) (basic auth) or SSH (a private key); nothing is asked
//! of a hosting provider's API. The repository and credentials are checked before the cluster
//! is touched, every step only changes what differs, and so a failed or repeated bootstrap can
//! simply be run again.

mod cluster;
mod layout;
mod plan;
mod repository;
mod secret;

use std::{io::IsTerminal, path::PathBuf, time::Duration};

use anyhow::Context;
use serde_json::{Value, json};

use crate::{
    cluster::{ConnectionArgs, parse_duration},
    commands::{apply::Applier, create::go_duration},
    manifests::{self, DEFAULT_COMPONENTS},
    output::Progress,
};

use eddy_git::{Author, BootstrapHostKeyTrust, RecordedHostKey};
use layout::{COMPONENTS_FILE, KUSTOMIZATION_FILE, SYNC_FILE, SyncSettings};
use plan::{Credentials, Plan, plan};
use repository::WorkingCopy;
use secret::SecretData;

#[derive(clap::Args)]
pub struct BootstrapArgs {
    #[command(subcommand)]
    command: BootstrapCommand,
}

#[derive(clap::Subcommand)]
enum BootstrapCommand {
    /// Bootstrap from a repository on any Git server, over HTTP(S) or SSH.
    Git(GitArgs),
}

#[derive(clap::Args)]
pub struct GitArgs {
    /// The repository: https://host/repo.git, or ssh://user@host[:port]/repo.git.
    #[arg(long)]
    url: String,
    /// The branch to commit to and follow (created if the repository lacks it).
    #[arg(long, default_value = "main")]
    branch: String,
    /// The directory in the repository that holds this cluster's configuration.
    #[arg(long, default_value = "")]
    path: String,
    /// The user name for HTTP(S) basic auth, or the SSH user when the URL names none.
    #[arg(short = 'u', long, default_value = "git")]
    username: String,
    /// The password (or token) for HTTP(S) basic auth; with --private-key-file, the key's
    /// passphrase.
    #[arg(short = 'p', long)]
    password: Option<String>,
    /// The SSH private key to push with; it is also stored for the controllers to pull with.
    #[arg(long)]
    private_key_file: Option<PathBuf>,
    /// A PEM file of CA certificates that sign the HTTPS server's certificate.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Accept an http:// URL (credentials then travel unencrypted).
    #[arg(long)]
    allow_insecure_http: bool,
    /// The controllers to install (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_COMPONENTS.iter().map(|c| c.to_string()))]
    components: Vec<String>,
    /// Additional controllers, e.g. image-reflector-controller,image-automation-controller.
    #[arg(long, value_delimiter = ',')]
    components_extra: Vec<String>,
    /// How often source-controller fetches the repository.
    #[arg(long, default_value = "1m", value_parser = parse_duration)]
    interval: Duration,
    /// The Secret holding the credentials the controllers pull with.
    #[arg(long, default_value = "flux-system")]
    secret_name: String,
    /// The author of the bootstrap's commits.
    #[arg(long, default_value = "Eddy")]
    author_name: String,
    /// The email of the bootstrap's commits' author (libgit2 insists on one).
    #[arg(long, default_value = "eddy@users.noreply.invalid")]
    author_email: String,
    /// Text added to the commit messages, e.g. '[ci skip]'.
    #[arg(long)]
    commit_message_appendix: Option<String>,
    /// Assume yes to all questions (trust the SSH host key without asking).
    #[arg(short = 's', long)]
    silent: bool,
}

pub async fn run(args: BootstrapArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    match args.command {
        BootstrapCommand::Git(git) => bootstrap_git(git, connection).await,
    }
}

async fn bootstrap_git(args: GitArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let plan = plan(args)?;
    let args = &plan.args;
    let namespace = connection.namespace.as_str();
    let progress = Progress::new();

    // Reach the cluster and the repository before changing either, so a typo in either fails
    // with nothing half done.
    let client = connection.client().await?;
    client
        .apiserver_version()
        .await
        .context("cannot reach the Kubernetes API server; check --kubeconfig and --context")?;
    progress.step(&format!(
        "cloning branch {:?} from {}",
        args.branch, args.url
    ));
    // Trust on first use, as `flux bootstrap git` does with its host key scan: the key is
    // accepted and recorded, and the controllers later accept only this key.
    let host_keys = if !args.silent && std::io::stdin().is_terminal() {
        BootstrapHostKeyTrust::asking(confirmed)
    } else {
        BootstrapHostKeyTrust::unattended()
    };
    let working_copy = WorkingCopy::clone_branch(
        &args.url,
        &args.branch,
        plan.git_auth(&host_keys),
        &plan.credentials,
    )?;
    if let Some(host_key) = host_keys.recorded() {
        progress.note(&format!("SSH host key {} recorded", host_key.fingerprint));
    }
    progress.done(if working_copy.branch_existed() {
        "cloned repository"
    } else {
        "the branch is new; it starts with the bootstrap commit"
    });

    let revision = commit_and_push(&plan, &working_copy, namespace, &progress)?;

    let mut applier = Applier::new(client.clone());
    applier
        .apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}))
        .await?;
    // What the cluster gets is the built directory, so customisations people keep in its
    // kustomization.yaml (patches to the controllers, say) apply from the first install on.
    let (sync, components): (Vec<Value>, Vec<Value>) = build_flux_system(&plan, &working_copy)?
        .into_iter()
        .partition(layout::is_sync_object);
    if cluster::components_managed_by_git(&client, namespace).await? {
        progress.note("the components are already synced from Git; leaving them to the flux-system Kustomization");
    } else {
        cluster::install_components(&client, &mut applier, &components, connection, &progress)
            .await?;
    }

    progress.step(&format!(
        "storing the credentials in Secret {namespace}/{}",
        args.secret_name
    ));
    let data = secret_data(&plan, &host_keys)?;
    applier
        .apply(&secret::secret_object(&args.secret_name, namespace, &data))
        .await?;
    progress.step("applying the sync manifests");
    for object in &sync {
        applier.apply(object).await?;
    }

    progress.step(&format!(
        "waiting for GitRepository {namespace}/flux-system to fetch {revision}"
    ));
    cluster::wait_for_revision(
        &client,
        "GitRepository",
        namespace,
        &["status", "artifact", "revision"],
        &revision,
        connection,
    )
    .await?;
    progress.done("GitRepository reconciled");
    progress.step(&format!(
        "waiting for Kustomization {namespace}/flux-system to apply {revision}"
    ));
    cluster::wait_for_revision(
        &client,
        "Kustomization",
        namespace,
        &["status", "lastAppliedRevision"],
        &revision,
        connection,
    )
    .await?;
    progress.done("Kustomization reconciled");
    cluster::wait_for_components(&client, &plan.components, connection, &progress).await?;
    println!(
        "✔ bootstrap finished: the cluster follows {} at {revision}",
        args.url
    );
    Ok(())
}

/// Writes and commits the three files, pushes, and returns the revision the cluster must
/// reach, in Flux's `<branch>@sha1:<hash>` form.
fn commit_and_push(
    plan: &Plan,
    working_copy: &WorkingCopy,
    namespace: &str,
    progress: &Progress,
) -> anyhow::Result<String> {
    let args = &plan.args;
    let dir = plan.path.flux_system_dir();
    let author = Author {
        name: args.author_name.clone(),
        email: args.author_email.clone(),
    };
    let appendix = args
        .commit_message_appendix
        .as_deref()
        .map(|text| format!("\n\n{text}"))
        .unwrap_or_default();
    progress.step("generating the component manifests");
    let components = manifests::to_yaml_stream(&component_objects(&plan.components)?)?;
    working_copy.write(&format!("{dir}/{COMPONENTS_FILE}"), &components)?;
    let version = env!("CARGO_PKG_VERSION");
    let first = working_copy.commit_if_changed(
        &dir,
        &format!("Add Eddy v{version} component manifests{appendix}"),
        &author,
    )?;
    progress.step("generating the sync manifests");
    working_copy.write(
        &format!("{dir}/{SYNC_FILE}"),
        &layout::sync_file(&sync_objects(plan, namespace))?,
    )?;
    let kustomization_path = format!("{dir}/{KUSTOMIZATION_FILE}");
    let existing = working_copy.read(&kustomization_path)?;
    working_copy.write(
        &kustomization_path,
        &layout::kustomization_file(existing.as_deref())?,
    )?;
    let second = working_copy.commit_if_changed(
        &dir,
        &format!("Add Eddy sync manifests{appendix}"),
        &author,
    )?;
    let head = working_copy
        .head()?
        .context("the branch has no commit after the bootstrap commits")?;
    if working_copy.push_if_ahead()? {
        let commits = [first, second].iter().flatten().count();
        println!("✔ pushed {commits} commit(s) to {}: {head}", args.branch);
    } else {
        println!(
            "✔ {dir} is up to date on {} ({head}); nothing to commit",
            args.branch
        );
    }
    Ok(format!("{}@sha1:{head}", args.branch))
}

/// The committed `flux-system` directory, built as the sync Kustomization will build it.
fn build_flux_system(plan: &Plan, working_copy: &WorkingCopy) -> anyhow::Result<Vec<Value>> {
    let root = working_copy.root()?;
    let dir = root.join(plan.path.flux_system_dir());
    let options = eddy_kustomize::BuildOptions::new(root)
        .with_context(|| format!("cannot build {}", plan.path.flux_system_dir()))?;
    let built = eddy_kustomize::build(&dir, &options)
        .with_context(|| format!("cannot build {}", plan.path.flux_system_dir()))?;
    manifests::parse_objects(&built)
}

fn component_objects(components: &[String]) -> anyhow::Result<Vec<Value>> {
    Ok(manifests::select_components(
        manifests::parse_objects(&manifests::render()?)?,
        components,
    ))
}

fn sync_objects(plan: &Plan, namespace: &str) -> [Value; 2] {
    let interval = go_duration(plan.args.interval);
    layout::sync_objects(&SyncSettings {
        namespace,
        url: &plan.args.url,
        branch: &plan.args.branch,
        interval: &interval,
        path: &plan.path,
        secret_name: &plan.args.secret_name,
    })
}

/// Asks on the terminal whether to trust a host key seen for the first time.
fn confirmed(offered: &RecordedHostKey) -> bool {
    use std::io::Write as _;
    let entry = offered
        .known_hosts_line
        .split_whitespace()
        .next()
        .unwrap_or_default();
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "{entry} offers the {} host key {}.\n\
         The controllers will accept only this key. Trust it? [y/N] ",
        offered.key_type, offered.fingerprint
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}

fn secret_data(plan: &Plan, host_keys: &BootstrapHostKeyTrust) -> anyhow::Result<SecretData> {
    let mut data = SecretData::new();
    match &plan.credentials {
        Credentials::Basic { username, password } => {
            data.insert("username", username.clone());
            data.insert("password", password.clone());
        }
        Credentials::SshKey {
            private_key,
            passphrase,
            ..
        } => {
            let host_key = host_keys.recorded().context(
                "the SSH server's host key was not seen, so known_hosts cannot be written",
            )?;
            data.insert("identity", private_key.clone());
            data.insert("known_hosts", format!("{}\n", host_key.known_hosts_line));
            if let Some(public) = eddy_git::openssh_public_key(private_key) {
                data.insert("identity.pub", format!("{public}\n"));
            }
            if let Some(passphrase) = passphrase {
                data.insert("password", passphrase.clone());
            }
        }
    }
    if let Some(ca_pem) = &plan.ca_pem {
        data.insert(
            "ca.crt",
            String::from_utf8(ca_pem.clone()).context("--ca-file is not PEM text")?,
        );
    }
    Ok(data)
}
