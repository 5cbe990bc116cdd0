//! The ImagePolicy reconciler: resolve the ImageRepository → read its stored tags → select the
//! latest (pure, in `policy`) → report `latestRef` and `observedPreviousRef`, with the event
//! "Latest image tag for '…' resolved to …" when the selection changes.

use std::{sync::Arc, time::Duration};

use eddy_api::image::{
    ImagePolicy, ImagePolicyStatus, ImageRef, ImageRepository, imagepolicy::DigestReflectionPolicy,
    reasons,
};
use eddy_api::meta::reason;
use eddy_runtime::{
    conclude::{Ending, Outlet, conclude},
    conditions,
    events::{Event, EventRecorder},
    outcome::{self, Failure, Timing},
    requeue::Backoff,
    time, watch,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, Client, ResourceExt, runtime::controller::Action};

use super::access;
use super::connection::connect;
use super::image::ImageName;
use super::policy::{CompiledFilter, PolicyError, select_latest};
use super::registry::{ScanError, manifest_digest};
use super::storage::TagStore;

pub const FIELD_MANAGER: &str = "image-reflector-controller";
/// Re-evaluation period when the policy has no `interval`; repository scans also trigger one.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(600);

pub struct Context {
    pub client: Client,
    pub recorder: EventRecorder,
    pub failure_backoff: Backoff,
    pub store: Arc<TagStore>,
    /// The client digest lookups use unless the repository brings its own TLS material.
    pub http: reqwest::Client,
    /// `--no-cross-namespace-refs`: a policy may only use a repository in its own namespace.
    pub no_cross_namespace_refs: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot write status: {0}")]
    Status(#[source] kube::Error),
}

/// The `latestRef` and whether it differs from the one in the status.
pub fn next_refs(
    previous: &ImagePolicyStatus,
    latest: ImageRef,
) -> (Option<ImageRef>, ImageRef, bool) {
    match &previous.latest_ref {
        Some(current) if *current == latest => {
            (previous.observed_previous_ref.clone(), latest, false)
        }
        Some(current) => (Some(current.clone()), latest, true),
        None => (None, latest, true),
    }
}

pub async fn reconcile(
    policy: Arc<ImagePolicy>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    if policy.spec.suspend == Some(true) {
        tracing::info!("reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }
    let namespace = policy.namespace().unwrap_or_default();
    let generation = policy.metadata.generation;
    let previous = policy.status.clone().unwrap_or_default();
    let mut status = ImagePolicyStatus {
        last_handled_reconcile_at: watch::requested_at(policy.as_ref())
            .or(previous.last_handled_reconcile_at.clone()),
        ..previous.clone()
    };
    let mut conditions = status.conditions.take().unwrap_or_default();
    let ending = match resolve(&policy, &ctx, &previous).await {
        Ok(latest) => {
            let (observed_previous, latest, changed) = next_refs(&previous, latest);
            let message = format!(
                "Latest image tag for '{}' resolved to {}",
                latest.name, latest.tag
            );
            outcome::report_success(
                &mut conditions,
                &[],
                conditions::SUCCEEDED,
                &message,
                generation,
            );
            status.observed_previous_ref = observed_previous;
            status.latest_ref = Some(latest);
            status.observed_generation = generation;
            Ending::succeeded(changed.then(|| Event::info(conditions::SUCCEEDED, message)))
        }
        Err(failure) => Ending::failed(
            &mut conditions,
            &failure,
            generation,
            &mut status.observed_generation,
        ),
    };
    status.conditions = Some(conditions);
    let interval = time::duration_or(policy.spec.interval.as_deref(), DEFAULT_INTERVAL);
    let api: Api<ImagePolicy> = Api::namespaced(ctx.client.clone(), &namespace);
    let outlet = Outlet {
        field_manager: FIELD_MANAGER,
        recorder: &ctx.recorder,
        backoff: &ctx.failure_backoff,
    };
    let previous = policy.status.as_ref();
    conclude(
        policy.as_ref(),
        &api,
        &outlet,
        (previous, &status),
        ending,
        &Timing::fixed(interval),
    )
    .await
    .map_err(ReconcileError::Status)
}

async fn resolve(
    policy: &ImagePolicy,
    ctx: &Context,
    previous: &ImagePolicyStatus,
) -> Result<ImageRef, Failure> {
    let namespace = policy.namespace().unwrap_or_default();
    let reference = &policy.spec.image_repository_ref;
    let repository_namespace = reference
        .namespace
        .clone()
        .unwrap_or_else(|| namespace.clone());
    let cross_namespace = repository_namespace != namespace;
    if cross_namespace && ctx.no_cross_namespace_refs {
        return Err(Failure::stalled(
            reason::ACCESS_DENIED,
            format!(
                "cannot access ImageRepository '{repository_namespace}/{}': cross-namespace references are disabled (--no-cross-namespace-refs)",
                reference.name
            ),
        ));
    }
    let digests = policy.spec.digest_reflection_policy.unwrap_or_default();
    if digests == DigestReflectionPolicy::Always && policy.spec.interval.is_none() {
        return Err(Failure::stalled(
            reasons::INTERVAL_NOT_CONFIGURED,
            "spec.interval must be set when spec.digestReflectionPolicy is 'Always'",
        ));
    }
    let filter = CompiledFilter::compile(policy.spec.filter_tags.as_ref()).map_err(invalid)?;
    let api: Api<ImageRepository> = Api::namespaced(ctx.client.clone(), &repository_namespace);
    let not_ready = |detail: String| {
        Failure::dependency(
            reason::DEPENDENCY_NOT_READY,
            format!(
                "ImageRepository '{repository_namespace}/{}' {detail}",
                reference.name
            ),
        )
    };
    let repository = api
        .get_opt(&reference.name)
        .await
        .map_err(|error| not_ready(format!("cannot be read: {error}")))?
        .ok_or_else(|| not_ready("not found".to_owned()))?;
    if cross_namespace {
        check_access(&repository, &namespace, &ctx.client).await?;
    }
    let scanned = repository.status.as_ref().and_then(|status| {
        Some((
            status.canonical_image_name.clone()?,
            status.last_scan_result.as_ref()?.revision.clone()?,
        ))
    });
    let Some((canonical, revision)) = scanned else {
        return Err(not_ready("has not been scanned yet".to_owned()));
    };
    let store = ctx.store.clone();
    let repository_name = reference.name.clone();
    let load_namespace = repository_namespace.clone();
    let stored = tokio::task::spawn_blocking(move || store.load(&load_namespace, &repository_name))
        .await
        .ok()
        .flatten()
        .filter(|stored| stored.revision == revision)
        .ok_or_else(|| not_ready("has no stored tags for its last scan yet".to_owned()))?;
    let tag = select_latest(&stored.tags, policy.spec.policy.selected(), filter.as_ref())
        .map_err(invalid)?
        .to_owned();
    let kept = previous
        .latest_ref
        .as_ref()
        .filter(|latest| latest.name == canonical && latest.tag == tag)
        .and_then(|latest| latest.digest.clone());
    let digest = match digests {
        DigestReflectionPolicy::Never => None,
        DigestReflectionPolicy::IfNotPresent if kept.is_some() => kept,
        _ => Some(reflect_digest(&repository, &tag, ctx).await?),
    };
    Ok(ImageRef {
        name: canonical,
        tag,
        digest,
    })
}

/// A policy in another namespace than its repository needs the repository's `accessFrom` to
/// select the policy's namespace.
async fn check_access(
    repository: &ImageRepository,
    namespace: &str,
    client: &Client,
) -> Result<(), Failure> {
    let denied = |detail: String| {
        Failure::backoff(
            reason::ACCESS_DENIED,
            format!(
                "cannot access ImageRepository '{}/{}': {detail}",
                repository.namespace().unwrap_or_default(),
                repository.name_any()
            ),
        )
    };
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let labels = namespaces
        .get_opt(namespace)
        .await
        .map_err(|error| denied(format!("cannot read namespace '{namespace}': {error}")))?
        .map(|found| found.labels().clone())
        .unwrap_or_default();
    if access::allows(repository.spec.access_from.as_ref(), &labels) {
        return Ok(());
    }
    Err(denied(match repository.spec.access_from {
        None => format!(
            "it has no spec.accessFrom, so policies in namespace '{namespace}' may not use it"
        ),
        Some(_) => format!("its spec.accessFrom does not select namespace '{namespace}'"),
    }))
}

/// The digest the chosen tag points at, asked of the registry with the repository's
/// credentials and TLS settings.
async fn reflect_digest(
    repository: &ImageRepository,
    tag: &str,
    ctx: &Context,
) -> Result<String, Failure> {
    let image = ImageName::parse(&repository.spec.image)
        .map_err(|error| Failure::stalled(reasons::IMAGE_URL_INVALID, error.to_string()))?;
    let connection = connect(repository, &ctx.client, &ctx.http, &image).await?;
    manifest_digest(&connection.http, &image, tag, &connection.options)
        .await
        .map_err(|error| match error {
            ScanError::Authentication { .. } => {
                Failure::backoff(reasons::AUTHENTICATION_FAILED, error.to_string())
            }
            ScanError::Read { .. } => {
                Failure::backoff(reasons::READ_OPERATION_FAILED, error.to_string())
            }
        })
}

fn invalid(error: PolicyError) -> Failure {
    match error {
        PolicyError::NoMatchingTag { .. } => {
            Failure::backoff(reason::RECONCILIATION_FAILED, error.to_string())
        }
        other => Failure::stalled(reason::RECONCILIATION_FAILED, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(tag: &str) -> ImageRef {
        ImageRef {
            name: "docker.io/library/app".into(),
            tag: tag.into(),
            digest: None,
        }
    }

    #[test]
    fn previous_ref_moves_only_on_change() {
        let first = next_refs(&ImagePolicyStatus::default(), image("1.0.0"));
        assert_eq!(first, (None, image("1.0.0"), true));
        let status = ImagePolicyStatus {
            latest_ref: Some(image("1.0.0")),
            ..Default::default()
        };
        assert_eq!(
            next_refs(&status, image("1.1.0")),
            (Some(image("1.0.0")), image("1.1.0"), true)
        );
        let settled = ImagePolicyStatus {
            latest_ref: Some(image("1.1.0")),
            observed_previous_ref: Some(image("1.0.0")),
            ..Default::default()
        };
        assert_eq!(
            next_refs(&settled, image("1.1.0")),
            (Some(image("1.0.0")), image("1.1.0"), false)
        );
    }
}
