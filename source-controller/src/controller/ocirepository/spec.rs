//! What an OCIRepository's spec asks for, as plain values: the fields Eddy refuses, the ref
//! selector, the layer choice, and when a stored artifact still answers the spec. No I/O.

use std::time::Duration;

use eddy_api::meta::condition_type;
use eddy_api::source::ocirepository::{OCILayerOperation, OCILayerSelector};
use eddy_api::source::v1::common::OciProvider;
use eddy_api::source::{OCIRepositorySpec, OCIRepositoryStatus};
use eddy_oci::{Layer, Manifest, RefSelector, RepositoryUrl};
use eddy_runtime::unsupported::NOT_SUPPORTED;

use super::reason;
use crate::controller::outcome::Failure;

/// `spec.timeout` when unset or unparsable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The media type `flux push artifact` gives its one layer.
pub const FLUX_CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";

/// `spec.interval` as a duration.
pub fn interval(spec: &OCIRepositorySpec) -> Duration {
    eddy_runtime::time::interval(&spec.interval)
}

/// `spec.timeout` as a duration.
pub fn timeout(spec: &OCIRepositorySpec) -> Duration {
    eddy_runtime::time::timeout(Some(&spec.timeout), DEFAULT_TIMEOUT)
}

/// The first field asking for something Eddy does not do yet: Stalled `NotSupported`, since
/// pulling without the verification, proxy or cloud login asked for would be something else
/// than what the user wrote.
pub fn unsupported(spec: &OCIRepositorySpec) -> Option<Failure> {
    let field = if spec.verify.is_some() {
        "spec.verify"
    } else if spec.provider != OciProvider::Generic {
        "spec.provider"
    } else if spec.proxy_secret_ref.is_some() {
        "spec.proxySecretRef"
    } else {
        return None;
    };
    Some(Failure::stalled(
        NOT_SUPPORTED,
        format!("{field} is not supported yet"),
    ))
}

/// `spec.url`, parsed; an unusable URL stalls until the spec changes.
pub fn url(spec: &OCIRepositorySpec) -> Result<RepositoryUrl, Failure> {
    RepositoryUrl::parse(&spec.url).map_err(|error| {
        Failure::stalled(reason::URL_INVALID, error.to_string())
            .with_condition(condition_type::FETCH_FAILED)
    })
}

/// `spec.ref` as a selector; a malformed digest, range or filter stalls.
pub fn selector(spec: &OCIRepositorySpec) -> Result<RefSelector, Failure> {
    let fields = spec.r#ref.clone().unwrap_or_default();
    RefSelector::from_fields(
        fields.digest.as_deref(),
        fields.semver.as_deref(),
        fields.semver_filter.as_deref(),
        fields.tag.as_deref(),
    )
    .map_err(|error| {
        Failure::stalled(reason::PULL_FAILED, error.to_string())
            .with_condition(condition_type::FETCH_FAILED)
    })
}

/// `spec.layerSelector`, with Flux's defaults (any media type, extract) made explicit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerChoice {
    pub media_type: Option<String>,
    pub operation: OCILayerOperation,
}

impl LayerChoice {
    pub fn of_spec(spec: &OCIRepositorySpec) -> LayerChoice {
        let selector = spec.layer_selector.clone().unwrap_or_default();
        LayerChoice {
            media_type: selector.media_type.filter(|m| !m.is_empty()),
            operation: selector.operation.unwrap_or_default(),
        }
    }

    /// The layer to take: the first with the media type asked for, or the first layer.
    pub fn select<'m>(&self, manifest: &'m Manifest) -> Result<&'m Layer, Failure> {
        let found = match &self.media_type {
            Some(media_type) => manifest
                .layers
                .iter()
                .find(|layer| &layer.media_type == media_type),
            None => manifest.layers.first(),
        };
        found.ok_or_else(|| {
            let wanted = match &self.media_type {
                Some(media_type) => format!("no layer with media type '{media_type}'"),
                None => "no layers".to_owned(),
            };
            let present: Vec<&str> = manifest
                .layers
                .iter()
                .map(|layer| layer.media_type.as_str())
                .collect();
            layer_failed(format!(
                "failed to find artifact layer: {wanted} in the OCI artifact {} (layers: [{}])",
                manifest.digest,
                present.join(", ")
            ))
        })
    }
}

/// Selecting, unpacking or copying the layer failed: `FetchFailed`,
/// `OCIArtifactLayerOperationFailed`, retried with backoff.
pub fn layer_failed(message: String) -> Failure {
    Failure::backoff(reason::LAYER_OPERATION_FAILED, message)
        .with_condition(condition_type::FETCH_FAILED)
}

/// What `status` records of the settings that shaped the artifact.
pub fn record_content_config(status: &mut OCIRepositoryStatus, spec: &OCIRepositorySpec) {
    status.observed_ignore = spec.ignore.clone();
    status.observed_layer_selector = Some(observed_layer_selector(spec));
}

fn observed_layer_selector(spec: &OCIRepositorySpec) -> OCILayerSelector {
    let choice = LayerChoice::of_spec(spec);
    OCILayerSelector {
        media_type: choice.media_type,
        operation: Some(choice.operation),
    }
}

/// Whether the stored artifact already is what `revision` and the spec would produce: then the
/// layer is not downloaded again.
pub fn artifact_is_current(
    status: &OCIRepositoryStatus,
    spec: &OCIRepositorySpec,
    revision: &str,
    in_storage: bool,
) -> bool {
    in_storage
        && status
            .artifact
            .as_ref()
            .is_some_and(|artifact| artifact.revision == revision)
        && status.observed_ignore == spec.ignore
        && status.observed_layer_selector.as_ref() == Some(&observed_layer_selector(spec))
}

/// `<hex>.tar.gz` for the manifest digest `<algorithm>:<hex>`.
pub fn artifact_file(manifest_digest: &str) -> String {
    let hex = manifest_digest
        .split_once(':')
        .map_or(manifest_digest, |(_, hex)| hex);
    format!("{hex}.tar.gz")
}

#[cfg(test)]
mod tests {
    use eddy_api::meta::Artifact;
    use eddy_api::source::ocirepository::{OCIRepositoryRef, OCIRepositoryVerification};

    use super::*;

    fn spec() -> OCIRepositorySpec {
        serde_json::from_value(serde_json::json!({
            "url": "oci://127.0.0.1:5000/app", "interval": "5m"
        }))
        .unwrap()
    }

    fn layer(media_type: &str) -> Layer {
        Layer {
            media_type: media_type.into(),
            digest: format!("sha256:{media_type}"),
            size: 1,
        }
    }

    fn manifest(layers: Vec<Layer>) -> Manifest {
        Manifest {
            digest: "sha256:m".into(),
            layers,
            annotations: Default::default(),
        }
    }

    #[test]
    fn verify_provider_and_proxy_are_refused_by_name() {
        assert!(unsupported(&spec()).is_none());
        let mut verify = spec();
        verify.verify = Some(OCIRepositoryVerification::default());
        verify.provider = OciProvider::Aws;
        let failure = unsupported(&verify).unwrap();
        assert_eq!(failure.reason, "NotSupported");
        assert_eq!(failure.message, "spec.verify is not supported yet");
        verify.verify = None;
        assert_eq!(
            unsupported(&verify).unwrap().message,
            "spec.provider is not supported yet"
        );
        let mut proxy = spec();
        proxy.proxy_secret_ref = Some(eddy_api::meta::LocalObjectReference {
            name: "proxy".into(),
        });
        assert_eq!(
            unsupported(&proxy).unwrap().message,
            "spec.proxySecretRef is not supported yet"
        );
    }

    #[test]
    fn bad_urls_and_refs_stall() {
        let mut bad = spec();
        bad.url = "oci://host/app:1.0".into();
        assert_eq!(url(&bad).unwrap_err().reason, "URLInvalid");
        bad.r#ref = Some(OCIRepositoryRef {
            semver: Some("not a range".into()),
            ..Default::default()
        });
        let failure = selector(&bad).unwrap_err();
        assert_eq!(failure.reason, "OCIArtifactPullFailed");
        assert_eq!(failure.retry, eddy_runtime::outcome::Retry::Never);
    }

    #[test]
    fn the_first_layer_is_the_default_and_a_media_type_picks_its_layer() {
        let both = manifest(vec![layer("a/x"), layer(FLUX_CONTENT_MEDIA_TYPE)]);
        let default = LayerChoice::of_spec(&spec());
        assert_eq!(default.operation, OCILayerOperation::Extract);
        assert_eq!(default.select(&both).unwrap().media_type, "a/x");
        let mut by_type = spec();
        by_type.layer_selector = Some(OCILayerSelector {
            media_type: Some(FLUX_CONTENT_MEDIA_TYPE.into()),
            operation: Some(OCILayerOperation::Copy),
        });
        let choice = LayerChoice::of_spec(&by_type);
        assert_eq!(
            choice.select(&both).unwrap().media_type,
            FLUX_CONTENT_MEDIA_TYPE
        );
        let only_other = manifest(vec![layer("a/x")]);
        let failure = choice.select(&only_other).unwrap_err();
        assert_eq!(failure.reason, "OCIArtifactLayerOperationFailed");
        assert!(
            failure.message.contains(FLUX_CONTENT_MEDIA_TYPE),
            "{}",
            failure.message
        );
        assert!(failure.message.contains("a/x"), "{}", failure.message);
        assert!(default.select(&manifest(Vec::new())).is_err());
    }

    #[test]
    fn the_artifact_is_current_only_for_the_same_revision_and_content_settings() {
        let spec = spec();
        let mut status = OCIRepositoryStatus {
            artifact: Some(Artifact {
                path: "p".into(),
                url: "u".into(),
                revision: "latest@sha256:1".into(),
                digest: "sha256:00".into(),
                last_update_time: eddy_runtime::time::now(),
                size: None,
                metadata: None,
            }),
            ..Default::default()
        };
        assert!(
            !artifact_is_current(&status, &spec, "latest@sha256:1", true),
            "no observed settings"
        );
        record_content_config(&mut status, &spec);
        assert!(artifact_is_current(&status, &spec, "latest@sha256:1", true));
        assert!(!artifact_is_current(
            &status,
            &spec,
            "latest@sha256:2",
            true
        ));
        assert!(!artifact_is_current(
            &status,
            &spec,
            "latest@sha256:1",
            false
        ));
        let mut ignoring = spec.clone();
        ignoring.ignore = Some("*.md".into());
        assert!(!artifact_is_current(
            &status,
            &ignoring,
            "latest@sha256:1",
            true
        ));
        assert_eq!(artifact_file("sha256:abc"), "abc.tar.gz");
    }
}
