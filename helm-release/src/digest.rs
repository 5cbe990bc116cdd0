//! The release digest Flux's helm-controller keeps in `status.history[].digest`.
//!
//! Flux hashes an "observation" of the release, not the stored record: name, version, info, the
//! chart's metadata only, config, manifest, hooks without `test` hooks (so running tests does not
//! change it), namespace and the OCI digest, JSON-encoded by Go's encoder (which ends with a
//! newline), SHA-256, written `sha256:<hex>`.

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::chart::Metadata;
use crate::codec::to_go_json;
use crate::release::{Hook, Info, Release};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Observation<'a> {
    name: &'a str,
    version: u32,
    info: &'a Info,
    chart_metadata: &'a Metadata,
    config: Option<&'a Map<String, Value>>,
    manifest: &'a str,
    hooks: Option<Vec<&'a Hook>>,
    namespace: &'a str,
    oci_digest: &'a str,
}

/// `sha256:<hex>` of the release as Flux observes it, without an OCI digest.
pub fn digest(release: &Release) -> String {
    digest_with_oci(release, "")
}

/// [`digest`] for a chart pulled from an OCI registry: `oci_digest` is the chart artifact's digest
/// Flux records next to it.
pub fn digest_with_oci(release: &Release, oci_digest: &str) -> String {
    let hooks: Vec<&Hook> = release
        .hooks
        .iter()
        .filter(|h| !h.is_for_event("test"))
        .collect();
    let observation = Observation {
        name: &release.name,
        version: release.version,
        info: &release.info,
        chart_metadata: &release.chart.metadata,
        config: (!release.config.is_empty()).then_some(&release.config),
        manifest: &release.manifest,
        hooks: (!hooks.is_empty()).then_some(hooks),
        namespace: &release.namespace,
        oci_digest,
    };
    // Serializing plain data into memory cannot fail; an empty input would still hash.
    let mut bytes = to_go_json(&observation).unwrap_or_default();
    bytes.push(b'\n');
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::Status;

    fn release() -> Release {
        let mut r = Release {
            name: "app".into(),
            namespace: "ns".into(),
            version: 1,
            manifest: "---\nkind: ConfigMap\n".into(),
            ..Release::default()
        };
        r.info.status = Status::Deployed;
        r.hooks.push(Hook {
            name: "migrate".into(),
            events: vec!["pre-upgrade".into()],
            ..Hook::default()
        });
        r
    }

    #[test]
    fn digest_is_sha256_of_the_observation() {
        let d = digest(&release());
        assert!(d.starts_with("sha256:") && d.len() == 7 + 64, "{d}");
        assert_eq!(d, digest(&release()));
        let mut superseded = release();
        superseded.info.status = Status::Superseded;
        assert_ne!(digest(&superseded), d);
        assert_ne!(digest_with_oci(&release(), "sha256:abc"), d);
    }

    #[test]
    fn test_hooks_and_chart_files_do_not_change_the_digest() {
        let mut r = release();
        r.hooks.push(Hook {
            name: "smoke".into(),
            events: vec!["test".into()],
            ..Hook::default()
        });
        r.chart.values.insert("x".into(), Value::from(1));
        assert_eq!(digest(&r), digest(&release()));
        r.chart.metadata.version = "2.0.0".into();
        assert_ne!(digest(&r), digest(&release()));
    }
}
