//! Config watches, as Flux has them: a ConfigMap or Secret matching `--watch-configs-label-selector`
//! (default `reconcile.fluxcd.io/watch=Enabled`) triggers, when it changes, the Kustomizations of
//! its namespace that read it (`postBuild.substituteFrom`, `decryption.secretRef`,
//! `kubeConfig.secretRef`), instead of waiting for their interval.

use eddy_api::kustomize::{Kustomization, kustomization::SubstituteKind};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{
    Api, ResourceExt,
    runtime::{Controller, reflector::ObjectRef, watcher},
};

/// The kind of a watched config object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigKind {
    ConfigMap,
    Secret,
}

/// Adds the ConfigMap and Secret watches to `controller`. An empty selector watches every
/// ConfigMap and Secret (what an empty label selector selects).
pub fn watch_configs(
    controller: Controller<Kustomization>,
    client: &kube::Client,
    namespace: Option<&str>,
    selector: &str,
) -> Controller<Kustomization> {
    let config = if selector.is_empty() {
        watcher::Config::default()
    } else {
        watcher::Config::default().labels(selector)
    };
    let (config_maps, secrets): (Api<ConfigMap>, Api<Secret>) = match namespace {
        Some(namespace) => (
            Api::namespaced(client.clone(), namespace),
            Api::namespaced(client.clone(), namespace),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let by_config_map = controller.store();
    let by_secret = controller.store();
    controller
        .watches(config_maps, config.clone(), move |config_map| {
            referrers(&by_config_map, ConfigKind::ConfigMap, &config_map)
        })
        .watches(secrets, config, move |secret| {
            referrers(&by_secret, ConfigKind::Secret, &secret)
        })
}

fn referrers<K: ResourceExt>(
    store: &kube::runtime::reflector::Store<Kustomization>,
    kind: ConfigKind,
    object: &K,
) -> Vec<ObjectRef<Kustomization>> {
    let (namespace, name) = (object.namespace().unwrap_or_default(), object.name_any());
    store
        .state()
        .into_iter()
        .filter(|ks| reads_config(ks, kind, &namespace, &name))
        .map(|ks| ObjectRef::from_obj(&*ks))
        .collect()
}

/// Whether `ks` reads the ConfigMap or Secret `namespace/name`.
pub fn reads_config(ks: &Kustomization, kind: ConfigKind, namespace: &str, name: &str) -> bool {
    if ks.namespace().as_deref() != Some(namespace) {
        return false;
    }
    let spec = &ks.spec;
    let substituted = spec
        .post_build
        .as_ref()
        .and_then(|post_build| post_build.substitute_from.as_ref())
        .is_some_and(|sources| {
            sources.iter().any(|source| {
                source.name == name
                    && match source.kind {
                        SubstituteKind::ConfigMap => kind == ConfigKind::ConfigMap,
                        SubstituteKind::Secret => kind == ConfigKind::Secret,
                    }
            })
        });
    if substituted || kind != ConfigKind::Secret {
        return substituted;
    }
    let decryption_key = spec
        .decryption
        .as_ref()
        .and_then(|decryption| decryption.secret_ref.as_ref())
        .is_some_and(|secret| secret.name == name);
    let kubeconfig = spec
        .kube_config
        .as_ref()
        .and_then(|kube_config| kube_config.secret_ref.as_ref())
        .is_some_and(|secret| secret.name == name);
    decryption_key || kubeconfig
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kustomization(spec: serde_json::Value) -> Kustomization {
        let mut base = json!({
            "interval": "1m", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), spec.as_object()) {
            base.extend(extra.clone());
        }
        let mut ks = Kustomization::new("apps", serde_json::from_value(base).unwrap());
        ks.metadata.namespace = Some("team".into());
        ks
    }

    #[test]
    fn substitution_sources_match_by_kind_name_and_namespace() {
        let ks = kustomization(json!({"postBuild": {"substituteFrom": [
            {"kind": "ConfigMap", "name": "vars"},
            {"kind": "Secret", "name": "secret-vars"},
        ]}}));
        assert!(reads_config(&ks, ConfigKind::ConfigMap, "team", "vars"));
        assert!(reads_config(&ks, ConfigKind::Secret, "team", "secret-vars"));
        assert!(!reads_config(&ks, ConfigKind::Secret, "team", "vars"));
        assert!(!reads_config(&ks, ConfigKind::ConfigMap, "other", "vars"));
        assert!(!reads_config(
            &ks,
            ConfigKind::ConfigMap,
            "team",
            "unrelated"
        ));
    }

    #[test]
    fn decryption_and_kubeconfig_secrets_trigger_but_a_config_map_of_that_name_does_not() {
        let ks = kustomization(json!({
            "decryption": {"provider": "sops", "secretRef": {"name": "sops-keys"}},
            "kubeConfig": {"secretRef": {"name": "remote"}},
        }));
        assert!(reads_config(&ks, ConfigKind::Secret, "team", "sops-keys"));
        assert!(reads_config(&ks, ConfigKind::Secret, "team", "remote"));
        assert!(!reads_config(
            &ks,
            ConfigKind::ConfigMap,
            "team",
            "sops-keys"
        ));
    }
}
