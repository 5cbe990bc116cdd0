//! Name references: after objects were renamed (prefix, suffix, hash, namespace), the fields that refer
//! to them by name (per the `nameReference` fieldspecs) are rewritten to the new names.
//!
//! A referenced object is found among those whose *previous* names include the value in the field,
//! restricted to the referenced kind and to objects the referrer can see (same namespace, or
//! cluster-scoped); ties are broken by the applied name prefixes/suffixes. Several different
//! candidates left over is an error.

use std::collections::HashMap;

use crate::config::{NameBackReference, TransformerConfig};
use crate::error::Error;
use crate::fieldspec::visit_path;
use crate::resid::ResId;
use crate::resmap::ResMap;
use crate::yaml::Value;

/// What the rewriting needs to know about a possible referral target.
#[derive(Clone)]
struct Candidate {
    current: ResId,
    previous: Vec<ResId>,
    original_namespace: String,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

/// What it needs to know about the referrer.
struct Referrer {
    id: ResId,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    role_ref_kind: Option<String>,
    subject_namespaces: Vec<String>,
}

pub fn fix_back_references(
    resources: &mut ResMap,
    config: &TransformerConfig,
) -> Result<(), Error> {
    let snapshot: Vec<Candidate> = resources
        .resources
        .iter()
        .map(|r| Candidate {
            current: r.cur_id(),
            previous: r.prev_ids.clone(),
            original_namespace: r.org_id().namespace,
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        })
        .collect();
    for backref in &config.name_reference {
        let targets: Vec<&Candidate> = snapshot
            .iter()
            .filter(|c| {
                c.previous
                    .iter()
                    .chain(std::iter::once(&c.current))
                    .any(|id| {
                        id.gvk.is_selected_by(
                            &backref.group_only(),
                            &backref.version,
                            &backref.kind,
                        )
                    })
            })
            .collect();
        if targets.is_empty() {
            continue;
        }
        // Index by previous names: a reference can only be rewritten to an object that had its name.
        let mut by_previous_name: HashMap<&str, Vec<&Candidate>> = HashMap::new();
        for candidate in &targets {
            let mut names: Vec<&str> = candidate
                .previous
                .iter()
                .map(|id| id.name.as_str())
                .collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                by_previous_name.entry(name).or_default().push(candidate);
            }
        }
        for resource in &mut resources.resources {
            let gvk = resource.gvk();
            let referrer = Referrer {
                id: resource.cur_id(),
                prefixes: resource.prefixes.clone(),
                suffixes: resource.suffixes.clone(),
                role_ref_kind: resource
                    .value
                    .str_at(&["roleRef", "kind"])
                    .map(str::to_string),
                subject_namespaces: subject_namespaces(&resource.value),
            };
            for spec in &backref.field_specs {
                if !spec.applies_to(&gvk) {
                    continue;
                }
                let pool = Pool {
                    targets: &targets,
                    by_previous_name: &by_previous_name,
                    referrer: &referrer,
                    role_ref_kind: if spec.path == "roleRef/name" {
                        referrer.role_ref_kind.as_deref()
                    } else {
                        None
                    },
                };
                let segments = spec.segments();
                visit_path(&mut resource.value, &segments, false, &mut |field| {
                    rewrite_field(field, &pool)
                })
                .map_err(|message| {
                    Error::build(
                        format!(
                            "updating name reference in '{}' field of '{}'",
                            spec.path, referrer.id
                        ),
                        message,
                    )
                })?;
            }
        }
    }
    Ok(())
}

impl NameBackReference {
    /// The group part of the referenced kind (some configs write `group/version` in `group`).
    fn group_only(&self) -> String {
        self.group.split('/').next().unwrap_or("").to_string()
    }
}

fn subject_namespaces(value: &Value) -> Vec<String> {
    let Some(Value::Seq(subjects)) = value.get("subjects") else {
        return Vec::new();
    };
    subjects
        .iter()
        .filter(|s| s.str_at(&["kind"]) == Some("ServiceAccount"))
        .filter_map(|s| s.str_at(&["namespace"]).map(str::to_string))
        .collect()
}

fn can_see(referrer: &Referrer, candidate: &Candidate) -> bool {
    if referrer.id.gvk.is_cluster_scoped() || candidate.current.gvk.is_cluster_scoped() {
        return true;
    }
    if candidate.current.same_namespace(&referrer.id) {
        return true;
    }
    let namespace = effective_namespace(&candidate.current.namespace);
    referrer
        .subject_namespaces
        .iter()
        .any(|subject| effective_namespace(subject) == namespace)
}

/// A namespace as kustomize compares them: none written means `default`.
fn effective_namespace(namespace: &str) -> &str {
    if namespace.is_empty() {
        "default"
    } else {
        namespace
    }
}

/// The objects a referrer's field may point to.
struct Pool<'a> {
    targets: &'a [&'a Candidate],
    by_previous_name: &'a HashMap<&'a str, Vec<&'a Candidate>>,
    referrer: &'a Referrer,
    /// For `roleRef/name`: only objects of the kind `roleRef.kind` names.
    role_ref_kind: Option<&'a str>,
}

impl<'a> Pool<'a> {
    fn allowed(&self, candidate: &Candidate) -> bool {
        can_see(self.referrer, candidate)
            && self
                .role_ref_kind
                .is_none_or(|kind| kind == candidate.current.gvk.kind)
    }

    /// Visible objects that were once called `name`.
    fn named(&self, name: &str) -> Vec<&'a Candidate> {
        self.by_previous_name
            .get(name)
            .map(|list| list.iter().copied().filter(|c| self.allowed(c)).collect())
            .unwrap_or_default()
    }

    fn all(&self) -> Vec<&'a Candidate> {
        self.targets
            .iter()
            .copied()
            .filter(|c| self.allowed(c))
            .collect()
    }
}

fn rewrite_field(field: &mut Value, pool: &Pool) -> Result<(), String> {
    let referrer = pool.referrer;
    match field {
        Value::String(name) => {
            let candidates = pool.named(name);
            if let Some(found) = select_referral(name, &candidates, referrer)? {
                *name = found.current.name.clone();
            }
            Ok(())
        }
        Value::Seq(items) => {
            for item in items {
                rewrite_field(item, pool)?;
            }
            Ok(())
        }
        Value::Map(map) => {
            if matches!(map.get("namespace"), Some(Value::Null))
                || map.get("namespace").and_then(Value::as_str) == Some("")
            {
                return Err(format!(
                    "Invalid Input: namespace is blank for resource \"{}\"",
                    referrer.id
                ));
            }
            let Some(old_name) = map.get("name").and_then(Value::as_str).map(str::to_string) else {
                return Ok(());
            };
            let candidates = pool.all();
            let by_namespace: Vec<&Candidate> = match map.get("namespace").and_then(Value::as_str) {
                None => candidates.clone(),
                Some(namespace) => {
                    let namespace = effective_namespace(namespace);
                    let original: Vec<&Candidate> = candidates
                        .iter()
                        .copied()
                        .filter(|c| effective_namespace(&c.original_namespace) == namespace)
                        .collect();
                    if original.is_empty() {
                        candidates
                            .iter()
                            .copied()
                            .filter(|c| effective_namespace(&c.current.namespace) == namespace)
                            .collect()
                    } else {
                        original
                    }
                }
            };
            let Some(found) = select_referral(&old_name, &by_namespace, referrer)? else {
                return Ok(());
            };
            if found.current.name == old_name && found.current.namespace.is_empty() {
                return Ok(());
            }
            map.insert(
                "name".to_string(),
                Value::String(found.current.name.clone()),
            );
            if !found.current.namespace.is_empty() {
                map.insert(
                    "namespace".to_string(),
                    Value::String(found.current.namespace.clone()),
                );
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn select_referral<'a>(
    old_name: &str,
    candidates: &[&'a Candidate],
    referrer: &Referrer,
) -> Result<Option<&'a Candidate>, String> {
    let mut matching: Vec<&Candidate> = candidates
        .iter()
        .copied()
        .filter(|c| c.previous.iter().any(|id| id.name == old_name))
        .collect();
    // Ties are broken by the name prefixes/suffixes the objects went through: first loosely (an
    // object without any counts as compatible), then strictly.
    for allow_empty in [true, false] {
        if matching.len() <= 1 {
            break;
        }
        matching.retain(|c| affixes_compatible(c, referrer, allow_empty));
    }
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        [first, rest @ ..] => {
            if rest.iter().all(|c| {
                c.current.name == first.current.name
                    && c.current.namespace == first.current.namespace
            }) {
                Ok(Some(first))
            } else {
                let names: Vec<String> = matching.iter().map(|c| c.current.to_string()).collect();
                Err(format!(
                    "found multiple possible referrals for name '{old_name}': {}",
                    names.join(", ")
                ))
            }
        }
    }
}

fn affixes_compatible(candidate: &Candidate, referrer: &Referrer, allow_empty: bool) -> bool {
    let compatible = |a: &[String], b: &[String]| {
        (allow_empty && (a.is_empty() || b.is_empty())) || same_ending(a, b)
    };
    compatible(&candidate.prefixes, &referrer.prefixes)
        && compatible(&candidate.suffixes, &referrer.suffixes)
}

/// Whether the shorter list is the tail of the longer one (two empty lists count as the same).
fn same_ending(a: &[String], b: &[String]) -> bool {
    if a.is_empty() || b.is_empty() {
        return a.is_empty() && b.is_empty();
    }
    let shorter = a.len().min(b.len());
    a[a.len() - shorter..] == b[b.len() - shorter..]
}
