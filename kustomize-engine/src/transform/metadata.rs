//! Transformers that rewrite names and metadata: namespace, name prefix/suffix, labels, annotations,
//! and replica counts.

use crate::config::TransformerConfig;
use crate::fieldspec::{FieldSpec, visit_specs};
use crate::kustomization::{LabelEntry, Replica};
use crate::resmap::ResMap;
use crate::shared::set_entries;
use crate::yaml::Value;

/// Sets the namespace of every namespaced object (and the namespace-valued fields of the config).
pub fn set_namespace(
    resources: &mut ResMap,
    namespace: &str,
    config: &TransformerConfig,
) -> Result<(), String> {
    for resource in &mut resources.resources {
        resource.store_previous_id();
        let gvk = resource.gvk();
        if !gvk.is_cluster_scoped() {
            resource.set_namespace(namespace);
        }
        let is_core_namespace = gvk.kind == "Namespace" && gvk.group.is_empty();
        let specs: Vec<FieldSpec> = config
            .namespace
            .iter()
            .filter(|spec| spec.kind != "Namespace" || is_core_namespace)
            .cloned()
            .collect();
        visit_specs(&mut resource.value, &gvk, &specs, &mut |field, _| {
            if matches!(field, Value::String(_) | Value::Null) {
                *field = Value::String(namespace.to_string());
            }
            Ok(())
        })?;
        if matches!(gvk.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
            && let Some(Value::Seq(subjects)) = resource.value.get_mut("subjects")
        {
            for subject in subjects {
                if subject.str_at(&["name"]) == Some("default")
                    && let Some(map) = subject.as_map_mut()
                {
                    map.insert(
                        "namespace".to_string(),
                        Value::String(namespace.to_string()),
                    );
                }
            }
        }
    }
    Ok(())
}

/// Kinds whose names never get a prefix or suffix.
fn skips_name_affixes(kind: &str, group: &str) -> bool {
    kind == "CustomResourceDefinition"
        || kind == "Namespace"
        || (kind == "APIService" && group == "apiregistration.k8s.io")
}

/// Adds a name prefix and/or suffix to every object, plus any configured extra name fields.
pub fn add_name_affixes(
    resources: &mut ResMap,
    prefix: &str,
    suffix: &str,
    config: &TransformerConfig,
) -> Result<(), String> {
    let default = vec![FieldSpec::new("", "metadata/name", false)];
    let prefix_specs = if config.name_prefix.is_empty() {
        &default
    } else {
        &config.name_prefix
    };
    let suffix_specs = if config.name_suffix.is_empty() {
        &default
    } else {
        &config.name_suffix
    };
    add_name_affixes_with(resources, prefix, "", prefix_specs)?;
    add_name_affixes_with(resources, "", suffix, suffix_specs)
}

/// Adds a name prefix and/or suffix at the given fieldspecs.
pub fn add_name_affixes_with(
    resources: &mut ResMap,
    prefix: &str,
    suffix: &str,
    specs: &[FieldSpec],
) -> Result<(), String> {
    if prefix.is_empty() && suffix.is_empty() {
        return Ok(());
    }
    for resource in &mut resources.resources {
        let gvk = resource.gvk();
        if skips_name_affixes(&gvk.kind, &gvk.group) {
            continue;
        }
        resource.store_previous_id();
        visit_specs(&mut resource.value, &gvk, specs, &mut |field, _| {
            // A numeric name is used as its digits.
            if let Some(name) = field.scalar_text() {
                *field = Value::String(format!("{prefix}{name}{suffix}"));
            }
            Ok(())
        })?;
        if !prefix.is_empty() {
            resource.prefixes.push(prefix.to_string());
        }
        if !suffix.is_empty() {
            resource.suffixes.push(suffix.to_string());
        }
    }
    Ok(())
}

/// Applies one `labels` entry (or the converted `commonLabels`).
pub fn add_labels(
    resources: &mut ResMap,
    entry: &LabelEntry,
    config: &TransformerConfig,
) -> Result<(), String> {
    let pairs: Vec<(String, String)> = entry
        .pairs
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    if pairs.is_empty() {
        return Ok(());
    }
    let mut specs = if entry.include_selectors {
        config.common_labels.clone()
    } else if entry.include_templates {
        config.template_labels.clone()
    } else {
        vec![FieldSpec::new("", "metadata/labels", true)]
    };
    specs.extend(entry.fields.iter().cloned());
    for resource in &mut resources.resources {
        set_entries(resource, &pairs, &specs)?;
    }
    Ok(())
}

pub fn add_annotations(
    resources: &mut ResMap,
    annotations: &[(String, String)],
    config: &TransformerConfig,
) -> Result<(), String> {
    if annotations.is_empty() {
        return Ok(());
    }
    for resource in &mut resources.resources {
        set_entries(resource, annotations, &config.common_annotations)?;
    }
    Ok(())
}

/// Sets `spec/replicas` (and configured replica fields) of the named workloads.
pub fn set_replicas(
    resources: &mut ResMap,
    replicas: &[Replica],
    config: &TransformerConfig,
) -> Result<(), String> {
    for replica in replicas {
        let mut matched = false;
        for resource in &mut resources.resources {
            let named = resource.all_ids().iter().any(|id| id.name == replica.name);
            if !named {
                continue;
            }
            let gvk = resource.gvk();
            if config.replicas.iter().any(|spec| spec.applies_to(&gvk)) {
                matched = true;
            }
            let gvk = resource.gvk();
            visit_specs(
                &mut resource.value,
                &gvk,
                &config.replicas,
                &mut |field, _| {
                    *field = Value::Int(i128::from(replica.count));
                    Ok(())
                },
            )?;
        }
        if !matched {
            let kinds: Vec<&str> = config.replicas.iter().map(|s| s.kind.as_str()).collect();
            return Err(format!(
                "replicas: no object named '{}' of a kind with a replica count ({})",
                replica.name,
                kinds.join(", ")
            ));
        }
    }
    Ok(())
}
