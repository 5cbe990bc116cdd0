//! What the demo prints while it works: steps with elapsed time, then a summary.

use std::{
    path::Path,
    sync::OnceLock,
    time::{Duration, Instant},
};

use anyhow::bail;
use kube::{
    Client,
    api::{Api, DynamicObject},
    core::{ApiResource, GroupVersionKind},
};
use serde_json::Value;

use super::{manifests::APP_KUSTOMIZATIONS, processes::Controllers, repo::DemoRepository};

fn clock() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

pub fn step(text: &str) {
    eprintln!("[{:>6.1}s] ==> {text}", clock().elapsed().as_secs_f64());
}

pub fn note(text: &str) {
    eprintln!("[{:>6.1}s]     {text}", clock().elapsed().as_secs_f64());
}

/// The sync objects `eddy bootstrap git` created.
const SYNC_NAME: &str = "flux-system";

fn api(client: &Client, group: &str, version: &str, kind: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Api::namespaced_with(client.clone(), "flux-system", &resource)
}

fn git_repositories(client: &Client) -> Api<DynamicObject> {
    api(client, "source.toolkit.fluxcd.io", "v1", "GitRepository")
}

fn kustomizations(client: &Client) -> Api<DynamicObject> {
    api(client, "kustomize.toolkit.fluxcd.io", "v1", "Kustomization")
}

/// Every Kustomization the demo follows: the bootstrap's and the app's.
fn followed_kustomizations() -> Vec<&'static str> {
    std::iter::once(SYNC_NAME)
        .chain(APP_KUSTOMIZATIONS.iter().map(|(name, _)| *name))
        .collect()
}

fn ready_condition(object: &DynamicObject) -> Option<(String, String, String)> {
    let conditions = object.data.get("status")?.get("conditions")?.as_array()?;
    let ready = conditions.iter().find(|c| c["type"] == "Ready")?;
    Some((
        ready["status"].as_str().unwrap_or_default().to_owned(),
        ready["reason"].as_str().unwrap_or_default().to_owned(),
        ready["message"].as_str().unwrap_or_default().to_owned(),
    ))
}

fn string_at(object: &DynamicObject, pointer: &str) -> String {
    object
        .data
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_owned()
}

/// Polls the GitRepository and the Kustomizations, printing each change of their Ready
/// condition, until all are Ready and every Kustomization applied the revision the
/// GitRepository holds (a Ready left over from an earlier demo run does not count), or
/// `timeout` passes.
pub async fn wait_until_ready(client: &Client, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let names = followed_kustomizations();
    let mut last_seen: Vec<Option<(String, String, String)>> = vec![None; names.len() + 1];
    loop {
        let source = git_repositories(client).get_opt(SYNC_NAME).await?;
        let fetched = source
            .as_ref()
            .map(|object| string_at(object, "/status/artifact/revision"));
        let mut all_ready = report(
            &mut last_seen[0],
            "GitRepository",
            SYNC_NAME,
            source.as_ref(),
        );
        for (index, name) in names.iter().enumerate() {
            let object = kustomizations(client).get_opt(name).await?;
            let ready = report(
                &mut last_seen[index + 1],
                "Kustomization",
                name,
                object.as_ref(),
            );
            let current = object.as_ref().is_some_and(|object| {
                Some(string_at(object, "/status/lastAppliedRevision")) == fetched
            });
            all_ready &= ready && current;
        }
        if all_ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "not everything became Ready within {timeout:?}; controller logs are in target/demo/logs"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Prints the object's Ready condition when it changed; returns whether it is Ready.
fn report(
    last_seen: &mut Option<(String, String, String)>,
    kind: &str,
    name: &str,
    object: Option<&DynamicObject>,
) -> bool {
    let condition = object.and_then(ready_condition);
    let ready = condition
        .as_ref()
        .is_some_and(|(status, _, _)| status == "True");
    if condition != *last_seen {
        if let Some((status, reason, message)) = &condition {
            note(&format!(
                "{kind}/{name}: Ready={status} {reason}: {message}"
            ));
        }
        *last_seen = condition;
    }
    ready
}

pub async fn summary(
    client: &Client,
    started: Instant,
    kubeconfig: &Path,
    repository: &DemoRepository,
    controllers: &Controllers,
) -> anyhow::Result<()> {
    let git = git_repositories(client).get(SYNC_NAME).await?;
    eprintln!();
    eprintln!("Everything is Ready after {:.1?}.", started.elapsed());
    eprintln!(
        "  GitRepository flux-system/flux-system      artifact {}",
        string_at(&git, "/status/artifact/revision")
    );
    for name in followed_kustomizations() {
        let kustomization = kustomizations(client).get(name).await?;
        eprintln!(
            "  Kustomization flux-system/{name:<17} applied  {}",
            string_at(&kustomization, "/status/lastAppliedRevision")
        );
    }
    for (_, namespace) in APP_KUSTOMIZATIONS {
        let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(client.clone(), namespace);
        let status = deployments.get("myapp").await?.status.unwrap_or_default();
        eprintln!(
            "  Deployment {:<31} {}/{} replicas available",
            format!("{namespace}/myapp"),
            status.available_replicas.unwrap_or(0),
            status.replicas.unwrap_or(0)
        );
    }
    eprintln!(
        "  controllers (pids {}), logs in {}",
        controllers.pids(),
        controllers.log_dir().display()
    );
    eprintln!();
    eprintln!("Try it:");
    eprintln!("  export KUBECONFIG={}", kubeconfig.display());
    eprintln!("  alias eddy={}", super::bootstrap::eddy_binary().display());
    eprintln!("  eddy get all -A");
    eprintln!("  eddy tree kustomization flux-system");
    eprintln!("  cd {}", repository.working_copy().display());
    eprintln!("  git pull    # fetch the bootstrap's commits (clusters/demo/flux-system)");
    eprintln!("  sed -i 's/count: 5/count: 3/' apps/myapp/overlays/production/kustomization.yaml");
    eprintln!("  git commit -am 'Scale down' && git push");
    eprintln!("  eddy reconcile kustomization myapp-production --with-source");
    Ok(())
}
