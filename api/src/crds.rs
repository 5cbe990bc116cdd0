//! All CustomResourceDefinitions Eddy installs, with their file names under `config/crd/bases`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// Every CRD (current version first), paired with Flux's file name `<group>_<plural>.yaml`.
pub fn all() -> Vec<(String, CustomResourceDefinition)> {
    [
        crate::helm::helmrelease::crd(),
        crate::notification::provider::crd(),
        crate::notification::alert::crd(),
        crate::notification::receiver::crd(),
        crate::image::imagerepository::crd(),
        crate::image::imagepolicy::crd(),
        crate::image::imageupdateautomation::crd(),
    ]
    .into_iter()
    .map(|crd| (file_name(&crd), crd))
    .collect()
}

/// Flux's file name for a CRD: `<group>_<plural>.yaml`.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}
