//! Where the chart comes from: the HelmChart helm-controller keeps for `spec.chart` (applied
//! server-side next to its source), or the object `spec.chartRef` names; either way, its
//! artifact once the source is ready.

use eddy_api::{
    helm::{
        HelmRelease,
        constants::{NAME_LABEL, NAMESPACE_LABEL, reason},
        helmrelease::{ChartReferenceKind, ChartSourceKind},
    },
    meta::{Artifact, reason::ACCESS_DENIED},
    source::HelmChart,
};
use eddy_runtime::outcome::Failure;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
};
use serde_json::{Value, json};

use super::{Context, FIELD_MANAGER};

/// The chart artifact and, for `spec.chart`, the HelmChart holding it (`<namespace>/<name>`).
pub struct ChartArtifact {
    pub artifact: Artifact,
    pub helm_chart: Option<String>,
}

pub fn reference_kind(kind: ChartReferenceKind) -> &'static str {
    match kind {
        ChartReferenceKind::OciRepository => "OCIRepository",
        ChartReferenceKind::HelmChart => "HelmChart",
        ChartReferenceKind::ExternalArtifact => "ExternalArtifact",
    }
}

fn source_kind(kind: ChartSourceKind) -> &'static str {
    match kind {
        ChartSourceKind::HelmRepository => "HelmRepository",
        ChartSourceKind::GitRepository => "GitRepository",
        ChartSourceKind::Bucket => "Bucket",
    }
}

/// The HelmChart object helm-controller applies for `hr`'s `spec.chart` (pure).
pub fn helm_chart_object(hr: &HelmRelease) -> Option<(String, Value)> {
    let template = hr.spec.chart.as_ref()?;
    let (namespace, name) = hr.generated_helm_chart()?;
    let spec = &template.spec;
    let mut labels = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(NAME_LABEL.to_owned(), hr.name_any());
    labels.insert(
        NAMESPACE_LABEL.to_owned(),
        hr.namespace().unwrap_or_default(),
    );
    let annotations = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    let mut chart_spec = json!({
        "chart": spec.chart,
        "version": spec.version.clone().unwrap_or_else(|| "*".to_owned()),
        "sourceRef": {"kind": source_kind(spec.source_ref.kind), "name": spec.source_ref.name},
        "interval": spec.interval.clone().unwrap_or_else(|| hr.spec.interval.clone()),
        "reconcileStrategy": spec.reconcile_strategy.unwrap_or_default(),
    });
    let values_files = spec.effective_values_files();
    if !values_files.is_empty() {
        chart_spec["valuesFiles"] = json!(values_files);
    }
    if let Some(ignore) = spec.ignore_missing_values_files {
        chart_spec["ignoreMissingValuesFiles"] = json!(ignore);
    }
    if let Some(verify) = &spec.verify {
        chart_spec["verify"] = json!(verify);
    }
    let mut metadata = json!({"name": name, "namespace": namespace, "labels": labels});
    if !annotations.is_empty() {
        metadata["annotations"] = json!(annotations);
    }
    let object = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmChart",
        "metadata": metadata,
        "spec": chart_spec,
    });
    Some((namespace, object))
}

/// Applies the HelmChart (for `spec.chart`) or reads the `chartRef`, then its artifact.
pub async fn resolve(hr: &HelmRelease, ctx: &Context) -> Result<ChartArtifact, Failure> {
    if let Some((namespace, object)) = helm_chart_object(hr) {
        check_namespace(hr, ctx, &namespace, "HelmChart")?;
        return apply_helm_chart(ctx, &namespace, &object).await;
    }
    let Some(reference) = &hr.spec.chart_ref else {
        let message = "either spec.chart or spec.chartRef must be set";
        return Err(Failure::stalled(reason::CHART_MUTATE_ERROR, message));
    };
    let namespace = reference
        .namespace
        .clone()
        .unwrap_or_else(|| hr.namespace().unwrap_or_default());
    let kind = reference_kind(reference.kind);
    check_namespace(hr, ctx, &namespace, kind)?;
    let source = eddy_artifact::SourceRef {
        kind,
        api_version: reference.api_version.as_deref(),
        name: &reference.name,
        namespace: &namespace,
    };
    let resolved = eddy_artifact::source::resolve(&ctx.client, source)
        .await
        .map_err(|error| Failure::dependency(reason::SOURCE_NOT_READY, error.to_string()))?;
    let artifact = resolved.artifact.ok_or_else(|| {
        let message = format!("{} is not ready: no artifact", source.display());
        Failure::dependency(reason::SOURCE_NOT_READY, message)
    })?;
    let helm_chart = (kind == "HelmChart").then(|| format!("{namespace}/{}", reference.name));
    Ok(ChartArtifact {
        artifact,
        helm_chart,
    })
}

fn check_namespace(
    hr: &HelmRelease,
    ctx: &Context,
    namespace: &str,
    kind: &str,
) -> Result<(), Failure> {
    let own = hr.namespace().unwrap_or_default();
    if ctx.settings.no_cross_namespace_refs && namespace != own {
        let message = format!(
            "can't access '{kind}/{namespace}', cross-namespace references have been blocked"
        );
        return Err(Failure::stalled(ACCESS_DENIED, message));
    }
    Ok(())
}

async fn apply_helm_chart(
    ctx: &Context,
    namespace: &str,
    object: &Value,
) -> Result<ChartArtifact, Failure> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let api: Api<HelmChart> = Api::namespaced(ctx.client.clone(), namespace);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let chart = api
        .patch(name, &params, &Patch::Apply(object))
        .await
        .map_err(|error| {
            let message = format!("failed to apply HelmChart '{namespace}/{name}': {error}");
            Failure::backoff(reason::SOURCE_NOT_READY, message)
        })?;
    let helm_chart = format!("{namespace}/{name}");
    let status = chart.status.as_ref();
    let ready = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let observed = status.and_then(|s| s.observed_generation) == chart.metadata.generation;
    let artifact = status.and_then(|s| s.artifact.clone());
    match (artifact, ready) {
        (Some(artifact), Some(ready)) if ready.status == "True" && observed => Ok(ChartArtifact {
            artifact,
            helm_chart: Some(helm_chart),
        }),
        (_, ready) => {
            let why = ready.map_or_else(
                || "no artifact yet".to_owned(),
                |ready| ready.message.clone(),
            );
            let message = format!("HelmChart '{helm_chart}' is not ready: {why}");
            Err(Failure::dependency(reason::SOURCE_NOT_READY, message))
        }
    }
}

/// Deletes the HelmChart helm-controller made for `hr` (deletion, or `spec.chart` replaced by
/// `spec.chartRef`).
pub async fn delete_helm_chart(ctx: &Context, helm_chart: &str) -> Result<(), kube::Error> {
    let Some((namespace, name)) = helm_chart.split_once('/') else {
        return Ok(());
    };
    let api: Api<HelmChart> = Api::namespaced(ctx.client.clone(), namespace);
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helm_chart_is_named_and_labelled_after_the_release() {
        let hr: HelmRelease = serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "myapp", "namespace": "production"},
            "spec": {"interval": "5m", "chart": {
                "metadata": {"labels": {"team": "a"}},
                "spec": {"chart": "myapp", "version": "1.0.0",
                         "sourceRef": {"kind": "HelmRepository", "name": "my-charts", "namespace": "flux"}}}},
        }))
        .unwrap();
        let (namespace, object) = helm_chart_object(&hr).unwrap();
        assert_eq!(namespace, "flux");
        assert_eq!(object["metadata"]["name"], "production-myapp");
        assert_eq!(object["metadata"]["labels"]["team"], "a");
        assert_eq!(object["metadata"]["labels"][NAME_LABEL], "myapp");
        assert_eq!(object["metadata"]["labels"][NAMESPACE_LABEL], "production");
        assert_eq!(
            object["spec"],
            json!({"chart": "myapp", "version": "1.0.0", "interval": "5m",
                   "sourceRef": {"kind": "HelmRepository", "name": "my-charts"},
                   "reconcileStrategy": "ChartVersion"})
        );
    }
}
