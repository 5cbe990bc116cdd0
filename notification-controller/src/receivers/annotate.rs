//! Turning a verified webhook call into reconcile requests: find the Receiver's target objects
//! and merge-patch `reconcile.fluxcd.io/requestedAt` onto each.

use eddy_api::notification::{FluxObjectKind, Receiver, ReceiverResourceReference};
use eddy_runtime::watch::RECONCILE_REQUEST_ANNOTATION;
use kube::{
    Api, Client, ResourceExt,
    api::{ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams},
};
use serde_json::{Value, json};

use crate::cel;

/// Why the targets could not (all) be annotated (answered with 500).
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    #[error("resource {kind} '{name}' needs an apiVersion")]
    NoApiVersion { kind: String, name: String },
    #[error("invalid apiVersion '{0}'")]
    BadApiVersion(String),
    #[error(
        "cross-namespace reference to '{namespace}/{name}' is not allowed (--no-cross-namespace-refs)"
    )]
    CrossNamespace { namespace: String, name: String },
    #[error("{kind} '{namespace}/{name}' not found")]
    NotFound {
        kind: String,
        namespace: String,
        name: String,
    },
    #[error("resource {kind} '*' needs matchLabels")]
    WildcardWithoutLabels { kind: String },
    #[error("cannot {action} {kind} '{namespace}/{name}': {source}")]
    Api {
        action: &'static str,
        kind: String,
        namespace: String,
        name: String,
        source: Box<kube::Error>,
    },
    #[error("filter of {kind} '{name}': {source}")]
    Filter {
        kind: String,
        name: String,
        source: cel::CelError,
    },
}

/// The API version a Receiver target defaults to when it names none.
pub fn default_api_version(kind: FluxObjectKind) -> Option<&'static str> {
    use FluxObjectKind as K;
    match kind {
        K::Bucket
        | K::GitRepository
        | K::HelmChart
        | K::HelmRepository
        | K::OciRepository
        | K::ExternalArtifact => Some("source.toolkit.fluxcd.io/v1"),
        K::ImageRepository => Some("image.toolkit.fluxcd.io/v1"),
        K::ArtifactGenerator => Some("source.extensions.fluxcd.io/v1beta1"),
        K::Kustomization | K::HelmRelease | K::ImagePolicy | K::ImageUpdateAutomation => None,
    }
}

/// The request time in the format Flux writes (Go's `time.Time.String()`), to nanoseconds so
/// two calls in one second are still two distinct requests.
pub fn requested_at_now() -> String {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = i64::try_from(elapsed.as_secs()).unwrap_or_default();
    let timestamp = k8s_openapi::jiff::Timestamp::from_second(seconds)
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
    format!(
        "{}.{:09} +0000 UTC",
        timestamp.strftime("%Y-%m-%d %H:%M:%S"),
        elapsed.subsec_nanos()
    )
}

/// Annotates every target of `receiver` that passes its filters. `request` is the call's JSON
/// body (`req` in CEL filters). Returns the annotated objects as `Kind/namespace/name`.
pub async fn request_reconcile(
    client: &Client,
    receiver: &Receiver,
    request: &Value,
    no_cross_namespace_refs: bool,
) -> Result<Vec<String>, AnnotateError> {
    let receiver_namespace = receiver.namespace().unwrap_or_default();
    let requested_at = requested_at_now();
    let mut annotated = Vec::new();
    for target in &receiver.spec.resources {
        let kind = target.kind.as_str().to_owned();
        let namespace = target
            .namespace
            .clone()
            .unwrap_or_else(|| receiver_namespace.clone());
        if no_cross_namespace_refs && namespace != receiver_namespace {
            return Err(AnnotateError::CrossNamespace {
                namespace,
                name: target.name.clone(),
            });
        }
        let api = dynamic_api(client, target, &namespace)?;
        let objects = find_targets(&api, target, &namespace).await?;
        for object in objects {
            let name = object.name_any();
            if !passes_filters(receiver, target, &object, request)? {
                continue;
            }
            let patch =
                json!({"metadata": {"annotations": {RECONCILE_REQUEST_ANNOTATION: requested_at}}});
            api.patch_metadata(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|source| AnnotateError::Api {
                    action: "annotate",
                    kind: kind.clone(),
                    namespace: namespace.clone(),
                    name: name.clone(),
                    source: Box::new(source),
                })?;
            annotated.push(format!("{kind}/{namespace}/{name}"));
        }
    }
    Ok(annotated)
}

fn dynamic_api(
    client: &Client,
    target: &ReceiverResourceReference,
    namespace: &str,
) -> Result<Api<DynamicObject>, AnnotateError> {
    let api_version = match target.api_version.as_deref().filter(|v| !v.is_empty()) {
        Some(version) => version,
        None => default_api_version(target.kind).ok_or_else(|| AnnotateError::NoApiVersion {
            kind: target.kind.to_string(),
            name: target.name.clone(),
        })?,
    };
    let (group, version) = api_version
        .split_once('/')
        .ok_or_else(|| AnnotateError::BadApiVersion(api_version.to_owned()))?;
    let resource =
        ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, target.kind.as_str()));
    Ok(Api::namespaced_with(client.clone(), namespace, &resource))
}

async fn find_targets(
    api: &Api<DynamicObject>,
    target: &ReceiverResourceReference,
    namespace: &str,
) -> Result<Vec<kube::core::PartialObjectMeta<DynamicObject>>, AnnotateError> {
    let kind = target.kind.to_string();
    if target.name == "*" {
        let labels = target
            .match_labels
            .as_ref()
            .filter(|labels| !labels.is_empty())
            .ok_or_else(|| AnnotateError::WildcardWithoutLabels { kind: kind.clone() })?;
        let selector: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let list = api
            .list_metadata(&ListParams::default().labels(&selector.join(",")))
            .await
            .map_err(|source| AnnotateError::Api {
                action: "list",
                kind,
                namespace: namespace.to_owned(),
                name: "*".into(),
                source: Box::new(source),
            })?;
        return Ok(list.items);
    }
    match api.get_metadata_opt(&target.name).await {
        Ok(Some(object)) => Ok(vec![object]),
        Ok(None) => Err(AnnotateError::NotFound {
            kind,
            namespace: namespace.to_owned(),
            name: target.name.clone(),
        }),
        Err(source) => Err(AnnotateError::Api {
            action: "get",
            kind,
            namespace: namespace.to_owned(),
            name: target.name.clone(),
            source: Box::new(source),
        }),
    }
}

/// The per-resource `filter` and the Receiver's `resourceFilter`, both with `res` (the object's
/// metadata) and `req` (the request body).
fn passes_filters(
    receiver: &Receiver,
    target: &ReceiverResourceReference,
    object: &kube::core::PartialObjectMeta<DynamicObject>,
    request: &Value,
) -> Result<bool, AnnotateError> {
    let expressions = [
        target.filter.as_deref(),
        receiver.spec.resource_filter.as_deref(),
    ];
    if expressions
        .iter()
        .all(|e| e.is_none_or(|e| e.trim().is_empty()))
    {
        return Ok(true);
    }
    let variables = json!({
        "res": {"apiVersion": object.types.as_ref().map(|t| t.api_version.clone()), "kind": target.kind.as_str(), "metadata": object.metadata},
        "req": request,
    });
    for expression in expressions
        .into_iter()
        .flatten()
        .filter(|e| !e.trim().is_empty())
    {
        let passes =
            cel::evaluate_bool(expression, &variables).map_err(|source| AnnotateError::Filter {
                kind: target.kind.to_string(),
                name: object.name_any(),
                source,
            })?;
        if !passes {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_kinds_default_their_api_version_and_others_must_name_one() {
        assert_eq!(
            default_api_version(FluxObjectKind::GitRepository),
            Some("source.toolkit.fluxcd.io/v1")
        );
        assert_eq!(
            default_api_version(FluxObjectKind::ImageRepository),
            Some("image.toolkit.fluxcd.io/v1")
        );
        assert_eq!(default_api_version(FluxObjectKind::Kustomization), None);
    }

    #[test]
    fn requested_at_looks_like_go_time_and_changes() {
        let first = requested_at_now();
        assert!(first.ends_with(" +0000 UTC"), "{first}");
        assert_eq!(
            first.len(),
            "2006-01-02 15:04:05.000000000 +0000 UTC".len(),
            "{first}"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert_ne!(first, requested_at_now());
    }
}
