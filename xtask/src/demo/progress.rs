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

use super::{processes::Controllers, repo::DemoRepository};

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

/// The objects the demo follows, read at their current API versions.
const WATCHED: &[(&str, &str, &str, &str)] = &[
    ("source.toolkit.fluxcd.io", "v1", "GitRepository", "myapp"),
    (
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "myapp",
    ),
];

fn api(client: &Client, group: &str, version: &str, kind: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Api::namespaced_with(client.clone(), "flux-system", &resource)
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

/// Polls the GitRepository and Kustomization, printing each change of their Ready condition,
/// until both are Ready or `timeout` passes.
pub async fn wait_until_ready(client: &Client, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut last_seen: Vec<Option<(String, String, String)>> = vec![None; WATCHED.len()];
    loop {
        let mut all_ready = true;
        for (index, (group, version, kind, name)) in WATCHED.iter().enumerate() {
            let condition = match api(client, group, version, kind).get_opt(name).await? {
                Some(object) => ready_condition(&object),
                None => None,
            };
            all_ready &= condition
                .as_ref()
                .is_some_and(|(status, _, _)| status == "True");
            if condition != last_seen[index] {
                if let Some((status, reason, message)) = &condition {
                    note(&format!(
                        "{kind}/{name}: Ready={status} {reason}: {message}"
                    ));
                }
                last_seen[index] = condition;
            }
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

pub async fn summary(
    client: &Client,
    started: Instant,
    kubeconfig: &Path,
    repository: &DemoRepository,
    controllers: &Controllers,
) -> anyhow::Result<()> {
    let git = api(client, "source.toolkit.fluxcd.io", "v1", "GitRepository")
        .get("myapp")
        .await?;
    let kustomization = api(client, "kustomize.toolkit.fluxcd.io", "v1", "Kustomization")
        .get("myapp")
        .await?;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), "production");
    let deployment = deployments.get("myapp").await?;
    let status = deployment.status.unwrap_or_default();
    let revision = |object: &DynamicObject, pointer: &str| {
        object
            .data
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_owned()
    };
    eprintln!();
    eprintln!("Everything is Ready after {:.1?}.", started.elapsed());
    eprintln!(
        "  GitRepository flux-system/myapp   artifact {}",
        revision(&git, "/status/artifact/revision")
    );
    eprintln!(
        "  Kustomization flux-system/myapp   applied  {}",
        revision(&kustomization, "/status/lastAppliedRevision")
    );
    eprintln!(
        "  Deployment production/myapp      {}/{} replicas available",
        status.available_replicas.unwrap_or(0),
        status.replicas.unwrap_or(0)
    );
    eprintln!(
        "  controllers (pids {}), logs in {}",
        controllers.pids(),
        controllers.log_dir().display()
    );
    eprintln!();
    eprintln!("Try it:");
    eprintln!("  export KUBECONFIG={}", kubeconfig.display());
    eprintln!("  kubectl get gitrepositories,kustomizations -A");
    eprintln!("  kubectl -n production get deployment myapp");
    eprintln!("  cd {}", repository.working_copy().display());
    eprintln!("  sed -i 's/count: 5/count: 3/' apps/myapp/overlays/production/kustomization.yaml");
    eprintln!("  git commit -am 'Scale down' && git push");
    eprintln!(
        "  kubectl annotate -n flux-system --overwrite gitrepository/myapp reconcile.fluxcd.io/requestedAt=\"$(date +%s)\""
    );
    Ok(())
}
