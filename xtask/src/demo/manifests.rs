//! What the demo adds to the tutorial's repository: a staging overlay next to the tutorial's
//! production one, and `clusters/demo/`, the directory `eddy bootstrap git` points the cluster
//! at — the app's namespaces, a Kustomization per environment (production at the older
//! `v1beta2` API the tutorial writes, staging at `v1`) and an Alert whose generic webhook
//! Provider prints into the demo's terminal.

/// Basic-auth credentials of the demo's Git server; bootstrap stores them in `flux-system`.
pub const GIT_USERNAME: &str = "eddy";
pub const GIT_PASSWORD: &str = "circling-back";

/// The cluster's directory in the repository (`--path` of the bootstrap).
pub const CLUSTER_PATH: &str = "clusters/demo";

/// The Kustomizations the demo follows besides `flux-system`, with the namespace each one's
/// Deployment `myapp` lands in.
pub const APP_KUSTOMIZATIONS: &[(&str, &str)] = &[
    ("myapp-production", "production"),
    ("myapp-staging", "staging"),
];

/// `(path in the repository, contents)` of every file the demo adds.
pub fn repository_files(webhook_url: &str) -> Vec<(String, String)> {
    vec![
        (
            "apps/myapp/overlays/staging/kustomization.yaml".into(),
            STAGING_OVERLAY.into(),
        ),
        (format!("{CLUSTER_PATH}/namespaces.yaml"), NAMESPACES.into()),
        (
            format!("{CLUSTER_PATH}/myapp.yaml"),
            APP_KUSTOMIZATIONS_YAML.into(),
        ),
        (
            format!("{CLUSTER_PATH}/notifications.yaml"),
            NOTIFICATIONS.replace("WEBHOOK_URL", webhook_url),
        ),
    ]
}

const STAGING_OVERLAY: &str = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: staging
resources:
- ../../base
replicas:
- name: myapp
  count: 2
patches:
- target:
    kind: Deployment
    name: myapp
  patch: |-
    - op: replace
      path: /spec/template/spec/containers/0/env/0/value
      value: staging
"#;

const NAMESPACES: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: production
---
apiVersion: v1
kind: Namespace
metadata:
  name: staging
"#;

const APP_KUSTOMIZATIONS_YAML: &str = r#"# Production as the tutorial writes it (v1beta2, client-side validation, a health check).
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: myapp-production
  namespace: flux-system
spec:
  interval: 5m
  path: ./apps/myapp/overlays/production
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  validation: client
  healthChecks:
  - apiVersion: apps/v1
    kind: Deployment
    name: myapp
    namespace: production
---
# Staging at the current API, waiting for everything it applies to become ready.
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: myapp-staging
  namespace: flux-system
spec:
  interval: 5m
  path: ./apps/myapp/overlays/staging
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  wait: true
"#;

const NOTIFICATIONS: &str = r#"apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: terminal
  namespace: flux-system
spec:
  type: generic
  address: WEBHOOK_URL
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: everything
  namespace: flux-system
spec:
  providerRef:
    name: terminal
  eventSeverity: info
  eventSources:
  - kind: GitRepository
    name: "*"
  - kind: Kustomization
    name: "*"
"#;
