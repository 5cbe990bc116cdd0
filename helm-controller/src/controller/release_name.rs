//! The Helm release name of a HelmRelease, by Flux's rule.

use eddy_api::helm::{HelmRelease, helmrelease::MAX_RELEASE_NAME_LENGTH};
use kube::ResourceExt;
use sha2::{Digest, Sha256};

/// `spec.releaseName`, else `[<targetNamespace>-]<name>`; a derived name longer than Helm's
/// 53 characters becomes its first 40 characters, `-`, and 12 hex digits of its SHA-256.
pub fn release_name(hr: &HelmRelease) -> String {
    if let Some(name) = hr.spec.release_name.as_deref().filter(|n| !n.is_empty()) {
        return name.to_owned();
    }
    let name = hr.name_any();
    let full = match hr
        .spec
        .target_namespace
        .as_deref()
        .filter(|n| !n.is_empty())
    {
        Some(target) => format!("{target}-{name}"),
        None => name,
    };
    shorten(&full)
}

fn shorten(name: &str) -> String {
    if name.len() <= MAX_RELEASE_NAME_LENGTH {
        return name.to_owned();
    }
    let hash = hex::encode(Sha256::digest(name.as_bytes()));
    // Names are DNS labels (ASCII), so byte 40 is a character boundary.
    let head = name.get(..40).unwrap_or(name);
    format!("{head}-{}", &hash[..12])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn hr(spec: serde_json::Value, name: &str) -> HelmRelease {
        let mut object = json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": "apps"},
            "spec": {"interval": "5m", "chartRef": {"kind": "HelmChart", "name": "c"}},
        });
        if let (Some(target), Some(extra)) = (object["spec"].as_object_mut(), spec.as_object()) {
            target.extend(extra.clone());
        }
        serde_json::from_value(object).unwrap()
    }

    #[test]
    fn the_name_follows_flux_rule() {
        assert_eq!(release_name(&hr(json!({}), "myapp")), "myapp");
        assert_eq!(
            release_name(&hr(json!({"targetNamespace": "prod"}), "myapp")),
            "prod-myapp"
        );
        assert_eq!(
            release_name(&hr(
                json!({"targetNamespace": "prod", "releaseName": "x"}),
                "myapp"
            )),
            "x"
        );
    }

    #[test]
    fn long_names_are_cut_with_a_hash() {
        let long = "a".repeat(50);
        let name = release_name(&hr(json!({"targetNamespace": "production"}), &long));
        assert_eq!(name.len(), 53);
        let full = format!("production-{long}");
        let hash = hex::encode(Sha256::digest(full.as_bytes()));
        assert_eq!(name, format!("{}-{}", &full[..40], &hash[..12]));
    }
}
