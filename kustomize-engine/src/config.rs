//! Transformer configuration: the default fieldspecs of the built-in transformers (facts about which
//! fields kustomize v5.5 touches) and the merge of user `configurations:` files on top of them.

use serde::Deserialize;

use crate::fieldspec::FieldSpec;

/// A kind that can be referenced by name, and the fields (in other kinds) that hold such references.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NameBackReference {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub field_specs: Vec<FieldSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransformerConfig {
    #[serde(default)]
    pub name_prefix: Vec<FieldSpec>,
    #[serde(default)]
    pub name_suffix: Vec<FieldSpec>,
    #[serde(default)]
    pub namespace: Vec<FieldSpec>,
    #[serde(default)]
    pub common_labels: Vec<FieldSpec>,
    #[serde(default)]
    pub template_labels: Vec<FieldSpec>,
    #[serde(default)]
    pub common_annotations: Vec<FieldSpec>,
    #[serde(default)]
    pub name_reference: Vec<NameBackReference>,
    #[serde(default)]
    pub var_reference: Vec<FieldSpec>,
    #[serde(default)]
    pub images: Vec<FieldSpec>,
    #[serde(default)]
    pub replicas: Vec<FieldSpec>,
}

/// Appends the specs of `more` that `into` lacks. Linear: every kustomization directory merges its
/// configuration into its parent's, so a quadratic merge made time grow with the tree squared.
fn merge_specs(into: &mut Vec<FieldSpec>, more: Vec<FieldSpec>) {
    if more.is_empty() {
        return;
    }
    let mut known: std::collections::HashSet<FieldSpec> = into.iter().cloned().collect();
    for spec in more {
        if !known.contains(&spec) {
            known.insert(spec.clone());
            into.push(spec);
        }
    }
}

/// The fieldspec configuration of one accumulation: the defaults, shared by every directory until
/// a `configurations`/`crds` entry (or a base that had one) adds to them. Building and merging the
/// full default tables per kustomization directory cost about as much as the directory's objects.
#[derive(Debug, Clone, Default)]
pub struct ConfigHandle(Option<Box<TransformerConfig>>);

impl ConfigHandle {
    /// Adds fieldspecs read from a file.
    pub fn merge(&mut self, other: TransformerConfig) {
        self.0
            .get_or_insert_with(|| Box::new(TransformerConfig::defaults()))
            .merge(other);
    }

    /// Adds a base's configuration; a base with only the defaults adds nothing.
    pub fn merge_handle(&mut self, other: ConfigHandle) {
        if let Some(other) = other.0 {
            self.merge(*other);
        }
    }
}

impl std::ops::Deref for ConfigHandle {
    type Target = TransformerConfig;

    fn deref(&self) -> &TransformerConfig {
        static DEFAULTS: std::sync::OnceLock<TransformerConfig> = std::sync::OnceLock::new();
        match &self.0 {
            Some(config) => config,
            None => DEFAULTS.get_or_init(TransformerConfig::defaults),
        }
    }
}

impl TransformerConfig {
    /// Adds another configuration's fieldspecs (user `configurations:` files, or a base's config).
    pub fn merge(&mut self, other: TransformerConfig) {
        merge_specs(&mut self.name_prefix, other.name_prefix);
        merge_specs(&mut self.name_suffix, other.name_suffix);
        merge_specs(&mut self.namespace, other.namespace);
        merge_specs(&mut self.common_labels, other.common_labels);
        merge_specs(&mut self.template_labels, other.template_labels);
        merge_specs(&mut self.common_annotations, other.common_annotations);
        merge_specs(&mut self.var_reference, other.var_reference);
        merge_specs(&mut self.images, other.images);
        merge_specs(&mut self.replicas, other.replicas);
        for backref in other.name_reference {
            let existing = self.name_reference.iter_mut().find(|b| {
                b.group == backref.group && b.version == backref.version && b.kind == backref.kind
            });
            match existing {
                Some(existing) => merge_specs(&mut existing.field_specs, backref.field_specs),
                None => self.name_reference.push(backref),
            }
        }
    }

    pub fn defaults() -> TransformerConfig {
        let template_labels = template_label_specs();
        let mut common_labels = selector_label_specs();
        merge_specs(&mut common_labels, template_labels.clone());
        TransformerConfig {
            // Empty on purpose: the prefix/suffix transformers use `metadata/name` unless a
            // configuration lists fieldspecs, which then replace that default.
            name_prefix: Vec::new(),
            name_suffix: Vec::new(),
            namespace: vec![
                FieldSpec::new("Namespace", "metadata/name", true),
                FieldSpec::new("APIService", "spec/service/namespace", true)
                    .with_group("apiregistration.k8s.io"),
                FieldSpec::new(
                    "CustomResourceDefinition",
                    "spec/conversion/webhook/clientConfig/service/namespace",
                    false,
                )
                .with_group("apiextensions.k8s.io"),
            ],
            common_labels,
            template_labels,
            common_annotations: annotation_specs(),
            name_reference: name_reference_specs(),
            var_reference: var_reference_specs(),
            images: [
                "spec/containers[]/image",
                "spec/initContainers[]/image",
                "spec/template/spec/containers[]/image",
                "spec/template/spec/initContainers[]/image",
            ]
            .iter()
            .map(|path| FieldSpec::new("", path, true))
            .collect(),
            replicas: [
                "Deployment",
                "ReplicationController",
                "ReplicaSet",
                "StatefulSet",
            ]
            .iter()
            .map(|kind| FieldSpec::new(kind, "spec/replicas", true))
            .collect(),
        }
    }
}

/// Workload kinds whose pod template sits at `spec/template`, with the group used in fieldspecs.
const TEMPLATE_WORKLOADS: &[(&str, &str)] = &[
    ("ReplicationController", ""),
    ("Deployment", ""),
    ("ReplicaSet", ""),
    ("DaemonSet", ""),
    ("StatefulSet", "apps"),
    ("Job", "batch"),
];

/// `metadata/labels` everywhere plus the pod-template label paths.
fn template_label_specs() -> Vec<FieldSpec> {
    let mut specs = vec![FieldSpec::new("", "metadata/labels", true)];
    for (kind, group) in TEMPLATE_WORKLOADS {
        let mut spec =
            FieldSpec::new(kind, "spec/template/metadata/labels", true).with_group(group);
        if *kind == "ReplicationController" {
            spec = spec.with_version("v1");
        }
        specs.push(spec);
        if *kind == "StatefulSet" {
            specs.push(
                FieldSpec::new(kind, "spec/volumeClaimTemplates[]/metadata/labels", true)
                    .with_group("apps"),
            );
        }
    }
    specs.push(
        FieldSpec::new("CronJob", "spec/jobTemplate/metadata/labels", true).with_group("batch"),
    );
    specs.push(
        FieldSpec::new(
            "CronJob",
            "spec/jobTemplate/spec/template/metadata/labels",
            true,
        )
        .with_group("batch"),
    );
    specs
}

/// Selector paths that `commonLabels` / `includeSelectors` also write.
fn selector_label_specs() -> Vec<FieldSpec> {
    let mut specs = vec![
        FieldSpec::new("Service", "spec/selector", true).with_version("v1"),
        FieldSpec::new("ReplicationController", "spec/selector", true).with_version("v1"),
        FieldSpec::new("Deployment", "spec/selector/matchLabels", true),
    ];
    let affinity_paths = [
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
    ];
    for path in affinity_paths {
        specs.push(FieldSpec::new("Deployment", path, false).with_group("apps"));
    }
    specs.push(FieldSpec::new(
        "ReplicaSet",
        "spec/selector/matchLabels",
        true,
    ));
    specs.push(FieldSpec::new(
        "DaemonSet",
        "spec/selector/matchLabels",
        true,
    ));
    specs.push(FieldSpec::new("StatefulSet", "spec/selector/matchLabels", true).with_group("apps"));
    for path in affinity_paths {
        specs.push(FieldSpec::new("StatefulSet", path, false).with_group("apps"));
    }
    specs.push(FieldSpec::new("Job", "spec/selector/matchLabels", false).with_group("batch"));
    specs.push(
        FieldSpec::new(
            "CronJob",
            "spec/jobTemplate/spec/selector/matchLabels",
            false,
        )
        .with_group("batch"),
    );
    specs.push(
        FieldSpec::new("PodDisruptionBudget", "spec/selector/matchLabels", false)
            .with_group("policy"),
    );
    for path in [
        "spec/podSelector/matchLabels",
        "spec/ingress/from/podSelector/matchLabels",
        "spec/egress/to/podSelector/matchLabels",
    ] {
        specs.push(FieldSpec::new("NetworkPolicy", path, false).with_group("networking.k8s.io"));
    }
    specs
}

fn annotation_specs() -> Vec<FieldSpec> {
    let mut specs = vec![FieldSpec::new("", "metadata/annotations", true)];
    for (kind, group) in TEMPLATE_WORKLOADS {
        let group = if *kind == "StatefulSet" { "" } else { group };
        let mut spec =
            FieldSpec::new(kind, "spec/template/metadata/annotations", true).with_group(group);
        if *kind == "ReplicationController" {
            spec = spec.with_version("v1");
        }
        specs.push(spec);
    }
    specs.push(
        FieldSpec::new("CronJob", "spec/jobTemplate/metadata/annotations", true)
            .with_group("batch"),
    );
    specs.push(
        FieldSpec::new(
            "CronJob",
            "spec/jobTemplate/spec/template/metadata/annotations",
            true,
        )
        .with_group("batch"),
    );
    specs
}

/// Where each workload kind keeps its pod spec.
const POD_SPEC_PREFIXES: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("PodTemplate", "template/spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
];

fn pod_specs(suffixes: &[&str], kinds: &[&str], pod_version: bool) -> Vec<FieldSpec> {
    let mut specs = Vec::new();
    for (kind, prefix) in POD_SPEC_PREFIXES {
        if !kinds.contains(kind) {
            continue;
        }
        for suffix in suffixes {
            let mut spec = FieldSpec::new(kind, &format!("{prefix}/{suffix}"), false);
            if *kind == "Pod" && pod_version {
                spec = spec.with_version("v1");
            }
            specs.push(spec);
        }
    }
    specs
}

fn backref(
    group: &str,
    version: &str,
    kind: &str,
    field_specs: Vec<FieldSpec>,
) -> NameBackReference {
    NameBackReference {
        group: group.to_string(),
        version: version.to_string(),
        kind: kind.to_string(),
        field_specs,
    }
}

fn name_reference_specs() -> Vec<NameBackReference> {
    let all_pod_kinds = [
        "Pod",
        "PodTemplate",
        "Deployment",
        "ReplicaSet",
        "DaemonSet",
        "StatefulSet",
        "Job",
        "CronJob",
    ];
    let workload_kinds_with_rc = [
        "Pod",
        "StatefulSet",
        "Deployment",
        "CronJob",
        "Job",
        "DaemonSet",
    ];
    let mut refs = Vec::new();
    for kind in [
        "Deployment",
        "ReplicationController",
        "ReplicaSet",
        "StatefulSet",
    ] {
        refs.push(backref(
            "",
            "",
            kind,
            vec![FieldSpec::new(
                "HorizontalPodAutoscaler",
                "spec/scaleTargetRef/name",
                false,
            )],
        ));
    }

    let mut config_map = pod_specs(
        &[
            "volumes/configMap/name",
            "containers/env/valueFrom/configMapKeyRef/name",
            "initContainers/env/valueFrom/configMapKeyRef/name",
            "containers/envFrom/configMapRef/name",
            "initContainers/envFrom/configMapRef/name",
            "volumes/projected/sources/configMap/name",
        ],
        &all_pod_kinds,
        true,
    );
    config_map.push(FieldSpec::new("Node", "spec/configSource/configMap", false));
    config_map.push(FieldSpec::new("Role", "rules/resourceNames", false));
    config_map.push(FieldSpec::new("ClusterRole", "rules/resourceNames", false));
    config_map.push(FieldSpec::new(
        "Ingress",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
        false,
    ));
    refs.push(backref("", "v1", "ConfigMap", config_map));

    let mut secret = pod_specs(
        &[
            "volumes/secret/secretName",
            "containers/env/valueFrom/secretKeyRef/name",
            "initContainers/env/valueFrom/secretKeyRef/name",
            "containers/envFrom/secretRef/name",
            "initContainers/envFrom/secretRef/name",
            "imagePullSecrets/name",
            "volumes/projected/sources/secret/name",
        ],
        &all_pod_kinds,
        true,
    );
    for (kind, path) in [
        ("Ingress", "spec/tls/secretName"),
        (
            "Ingress",
            "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
        ),
        (
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
        ),
        (
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
        ),
        ("ServiceAccount", "imagePullSecrets/name"),
        ("StorageClass", "parameters/secretName"),
        ("StorageClass", "parameters/adminSecretName"),
        ("StorageClass", "parameters/userSecretName"),
        ("StorageClass", "parameters/secretRef"),
        ("Role", "rules/resourceNames"),
        ("ClusterRole", "rules/resourceNames"),
        ("PersistentVolume", "spec/azureFile/secretName"),
    ] {
        secret.push(FieldSpec::new(kind, path, false));
    }
    secret.push(
        FieldSpec::new(
            "Service",
            "spec/template/spec/containers/env/valueFrom/secretKeyRef/name",
            false,
        )
        .with_group("serving.knative.dev")
        .with_version("v1"),
    );
    refs.push(backref("", "v1", "Secret", secret));

    refs.push(backref(
        "",
        "v1",
        "Service",
        vec![
            FieldSpec::new("StatefulSet", "spec/serviceName", false).with_group("apps"),
            FieldSpec::new(
                "Ingress",
                "spec/rules/http/paths/backend/serviceName",
                false,
            ),
            FieldSpec::new("Ingress", "spec/backend/serviceName", false),
            FieldSpec::new(
                "Ingress",
                "spec/rules/http/paths/backend/service/name",
                false,
            ),
            FieldSpec::new("Ingress", "spec/defaultBackend/service/name", false),
            FieldSpec::new("APIService", "spec/service/name", false)
                .with_group("apiregistration.k8s.io"),
            FieldSpec::new(
                "ValidatingWebhookConfiguration",
                "webhooks/clientConfig/service",
                false,
            )
            .with_group("admissionregistration.k8s.io"),
            FieldSpec::new(
                "MutatingWebhookConfiguration",
                "webhooks/clientConfig/service",
                false,
            )
            .with_group("admissionregistration.k8s.io"),
            FieldSpec::new("HTTPRoute", "spec/rules/backendRefs/name", false),
        ],
    ));
    let rbac = "rbac.authorization.k8s.io";
    refs.push(backref(
        rbac,
        "",
        "Role",
        vec![FieldSpec::new("RoleBinding", "roleRef/name", false).with_group(rbac)],
    ));
    refs.push(backref(
        rbac,
        "",
        "ClusterRole",
        vec![
            FieldSpec::new("RoleBinding", "roleRef/name", false).with_group(rbac),
            FieldSpec::new("ClusterRoleBinding", "roleRef/name", false).with_group(rbac),
        ],
    ));

    let mut service_account = vec![
        FieldSpec::new("RoleBinding", "subjects", false).with_group(rbac),
        FieldSpec::new("ClusterRoleBinding", "subjects", false).with_group(rbac),
    ];
    service_account.extend(workload_field(
        &workload_kinds_with_rc,
        "serviceAccountName",
    ));
    refs.push(backref("", "v1", "ServiceAccount", service_account));
    refs.push(backref(
        "",
        "v1",
        "PersistentVolumeClaim",
        workload_field(
            &workload_kinds_with_rc,
            "volumes/persistentVolumeClaim/claimName",
        ),
    ));
    refs.push(backref(
        "",
        "v1",
        "PersistentVolume",
        vec![
            FieldSpec::new("PersistentVolumeClaim", "spec/volumeName", false),
            FieldSpec::new("ClusterRole", "rules/resourceNames", false),
        ],
    ));
    refs.push(backref(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        vec![
            FieldSpec::new("PersistentVolume", "spec/storageClassName", false),
            FieldSpec::new("PersistentVolumeClaim", "spec/storageClassName", false),
            FieldSpec::new(
                "StatefulSet",
                "spec/volumeClaimTemplates/spec/storageClassName",
                false,
            ),
        ],
    ));
    refs.push(backref(
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        workload_field(&workload_kinds_with_rc, "priorityClassName"),
    ));
    refs.push(backref(
        "networking.k8s.io/v1",
        "v1",
        "IngressClass",
        vec![FieldSpec::new("Ingress", "spec/ingressClassName", false)],
    ));
    refs.push(backref(
        "admissionregistration.k8s.io",
        "",
        "ValidatingAdmissionPolicy",
        vec![FieldSpec::new(
            "ValidatingAdmissionPolicyBinding",
            "spec/policyName",
            false,
        )],
    ));
    refs
}

/// A pod-spec field for Pod, the workload kinds and ReplicationController.
fn workload_field(kinds: &[&str], suffix: &str) -> Vec<FieldSpec> {
    let mut specs = Vec::new();
    for kind in kinds {
        let prefix = POD_SPEC_PREFIXES
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, p)| *p)
            .unwrap_or("spec/template/spec");
        specs.push(FieldSpec::new(kind, &format!("{prefix}/{suffix}"), false));
        if *kind == "Deployment" {
            specs.push(FieldSpec::new(
                "ReplicationController",
                &format!("spec/template/spec/{suffix}"),
                false,
            ));
        }
    }
    specs
}

fn var_reference_specs() -> Vec<FieldSpec> {
    let kinds = [
        "CronJob",
        "DaemonSet",
        "Deployment",
        "Job",
        "Pod",
        "ReplicaSet",
        "StatefulSet",
    ];
    let mut specs = pod_specs(
        &[
            "containers/args",
            "containers/command",
            "containers/env/value",
            "containers/volumeMounts/mountPath",
            "initContainers/args",
            "initContainers/command",
            "initContainers/env/value",
            "initContainers/volumeMounts/mountPath",
            "volumes/nfs/server",
        ],
        &kinds,
        false,
    );
    for (kind, path) in [
        ("Ingress", "spec/rules/host"),
        ("Ingress", "spec/tls/hosts"),
        ("Ingress", "spec/tls/secretName"),
        ("Service", "spec/ports/port"),
        ("Service", "spec/ports/targetPort"),
        ("PersistentVolume", "spec/nfs/server"),
        ("StatefulSet", "spec/volumeClaimTemplates/spec/nfs/server"),
        ("Deployment", "spec/template/metadata/annotations"),
        ("", "metadata/labels"),
        ("", "metadata/annotations"),
    ] {
        specs.push(FieldSpec::new(kind, path, false));
    }
    specs
}
