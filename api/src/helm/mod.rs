//! Placeholder until the real kinds land; replaced by the owner of this module.

pub mod helmrelease {
    //! Placeholder.
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

    /// Placeholder CRD (empty).
    pub fn crd() -> CustomResourceDefinition {
        CustomResourceDefinition::default()
    }
}
