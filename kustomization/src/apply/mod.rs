//! Server-side apply of a whole build: validate everything with a dry-run first, then apply in
//! stages, skipping objects whose dry-run shows no drift.
//!
//! Nothing is written unless every object that can be validated up front passes its dry-run.
//! Objects that cannot be validated yet (a custom resource whose CRD, or an object whose
//! Namespace, is in the same build) are validated in their stage, after the definitions they
//! need are established.

pub mod cluster;
pub mod policy;
pub mod staging;

use std::{collections::HashSet, fmt, time::Duration};

use futures::{StreamExt, stream};
use serde_json::Value;

use crate::inventory::ObjectId;
use cluster::{Cluster, ServedKind, describe_api_error};
use policy::SsaPolicy;
use staging::Stage;

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    Created,
    Configured,
    Unchanged,
    Deleted,
    Skipped,
}

impl fmt::Display for ChangeAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeAction::Created => "created",
            ChangeAction::Configured => "configured",
            ChangeAction::Unchanged => "unchanged",
            ChangeAction::Deleted => "deleted",
            ChangeAction::Skipped => "skipped",
        })
    }
}

/// One line of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: ObjectId,
    pub action: ChangeAction,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id.subject(), self.action)
    }
}

/// How many objects an event names one by one; the rest are counted. A change set of thousands of
/// objects would otherwise be one event message of a hundred kilobytes, which chat providers cut
/// and the API server stores for every reconcile.
pub const SUMMARY_MAX_LINES: usize = 50;

/// `Kind/ns/name action` lines of the changes that are not `unchanged`, at most
/// [`SUMMARY_MAX_LINES`] of them, then one line counting the rest by action.
pub fn summary(changes: &[Change]) -> String {
    let changed: Vec<&Change> = changes
        .iter()
        .filter(|c| c.action != ChangeAction::Unchanged)
        .collect();
    let mut lines: Vec<String> = changed
        .iter()
        .take(SUMMARY_MAX_LINES)
        .map(ToString::to_string)
        .collect();
    let rest = &changed[lines.len()..];
    if !rest.is_empty() {
        let mut counts: Vec<(ChangeAction, usize)> = Vec::new();
        for change in rest {
            match counts
                .iter_mut()
                .find(|(action, _)| *action == change.action)
            {
                Some((_, count)) => *count += 1,
                None => counts.push((change.action, 1)),
            }
        }
        let by_action: Vec<String> = counts
            .iter()
            .map(|(action, count)| format!("{count} {action}"))
            .collect();
        lines.push(format!(
            "and {} more objects ({})",
            rest.len(),
            by_action.join(", ")
        ));
    }
    lines.join("\n")
}

/// Every changed object, one line each, for the debug log when [`summary`] had to count.
pub fn full_summary(changes: &[Change]) -> String {
    changes
        .iter()
        .filter(|c| c.action != ChangeAction::Unchanged)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why applying failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Validation failed; nothing was applied.
    #[error("{}", lines(.0))]
    Validation(Vec<ObjectError>),
    /// Applying failed part-way (only possible for objects validated in a later stage).
    #[error("{}", lines(.0))]
    Apply(Vec<ObjectError>),
}

/// Why one object could not be validated or applied; `subject` is `Kind/namespace/name`.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error(transparent)]
    Kind(#[from] KindError),
    #[error("{subject} dry-run failed {detail}")]
    DryRun { subject: String, detail: String },
    #[error("{subject} dry-run failed: dependencies not ready")]
    DependenciesNotReady { subject: String },
    #[error("{subject} apply failed {detail}")]
    Apply { subject: String, detail: String },
    #[error("{subject} immutable field detected, failed to delete object {detail}")]
    Recreate { subject: String, detail: String },
    #[error("{subject} delete failed {detail}")]
    Delete { subject: String, detail: String },
    #[error("{subject} was not deleted in time for recreation")]
    NotDeletedInTime { subject: String },
    #[error("{subject} is not ready after {timeout:?}")]
    NotReady { subject: String, timeout: Duration },
}

fn lines(errors: &[ObjectError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Settings of one apply.
pub struct ApplyOptions<'a> {
    pub force: bool,
    pub custom_stage_kinds: &'a [String],
    pub override_managers: &'a [String],
    pub concurrency: usize,
    pub stage_timeout: Duration,
}

/// The validation outcome of one object.
enum Planned {
    Skip,
    /// Validated: `existing` is the live object (if any), `dry_run` what applying would produce.
    Apply {
        kind: ServedKind,
        existing: Option<Value>,
        dry_run: Value,
    },
    /// An immutable field changed and force is enabled: delete, then create.
    Recreate {
        kind: ServedKind,
    },
    /// Validated in its stage, once what it depends on exists.
    Deferred,
}

/// Applies `objects` and returns the change set, in apply order.
pub async fn apply_all(
    cluster: &Cluster,
    objects: &[Value],
    options: &ApplyOptions<'_>,
) -> Result<Vec<Change>, ApplyError> {
    let ids: Vec<ObjectId> = objects.iter().map(ObjectId::of).collect();
    let build_kinds: HashSet<(String, String)> = objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .filter_map(|o| {
            Some((
                o.pointer("/spec/group")?.as_str()?.to_owned(),
                o.pointer("/spec/names/kind")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let build_namespaces: HashSet<&str> = ids
        .iter()
        .filter(|id| id.kind == "Namespace" && id.group.is_empty())
        .map(|id| id.name.as_str())
        .collect();
    let context = PlanContext {
        cluster,
        force: options.force,
        build_kinds: &build_kinds,
        build_namespaces: &build_namespaces,
    };

    let mut planned: Vec<Result<Planned, ObjectError>> = stream::iter(0..objects.len())
        .map(|i| context.plan(&ids[i], &objects[i], true))
        .buffered(options.concurrency.max(1))
        .collect()
        .await;
    if planned.iter().any(Result::is_err) {
        let errors = planned.into_iter().filter_map(Result::err).collect();
        return Err(ApplyError::Validation(errors));
    }

    let mut changes = Vec::with_capacity(objects.len());
    for (stage, indexes) in staging::plan(&ids, options.custom_stage_kinds) {
        let work: Vec<(usize, Planned)> = indexes
            .iter()
            .map(|&i| {
                let plan = std::mem::replace(&mut planned[i], Ok(Planned::Deferred));
                (i, plan.unwrap_or(Planned::Deferred))
            })
            .collect();
        let results: Vec<Result<Change, ObjectError>> = stream::iter(work)
            .map(|(i, plan)| context.execute(&ids[i], &objects[i], plan, options.override_managers))
            .buffered(options.concurrency.max(1))
            .collect()
            .await;
        let mut stage_errors = Vec::new();
        for result in results {
            match result {
                Ok(change) => changes.push(change),
                Err(error) => stage_errors.push(error),
            }
        }
        if !stage_errors.is_empty() {
            return Err(ApplyError::Apply(stage_errors));
        }
        if stage == Stage::Definitions {
            wait_for_definitions(cluster, &changes, options.stage_timeout)
                .await
                .map_err(|error| ApplyError::Apply(vec![error]))?;
        }
    }
    Ok(changes)
}

struct PlanContext<'a> {
    cluster: &'a Cluster,
    force: bool,
    build_kinds: &'a HashSet<(String, String)>,
    build_namespaces: &'a HashSet<&'a str>,
}

impl PlanContext<'_> {
    /// Looks the object up and dry-runs it. With `allow_defer`, failures explained by a
    /// definition in the same build are postponed instead of reported.
    async fn plan(
        &self,
        id: &ObjectId,
        object: &Value,
        allow_defer: bool,
    ) -> Result<Planned, ObjectError> {
        let subject = id.subject();
        let deferrable = allow_defer
            && self
                .build_kinds
                .contains(&(id.group.clone(), id.kind.clone()));
        let kind = match resolve_for_apply(self.cluster, id).await {
            Ok(kind) => kind,
            Err(KindError::NotServed(_)) if deferrable => return Ok(Planned::Deferred),
            Err(error) => return Err(error.into()),
        };
        let dry_run_failed = |e: &kube::Error| ObjectError::DryRun {
            subject: subject.clone(),
            detail: describe_api_error(e),
        };
        let existing = self
            .cluster
            .get(&kind, id)
            .await
            .map_err(|e| dry_run_failed(&e))?;
        if policy::should_skip(object, existing.as_ref()) {
            return Ok(Planned::Skip);
        }
        match self.cluster.apply(&kind, id, object, true).await {
            Ok(dry_run) => Ok(Planned::Apply {
                kind,
                existing,
                dry_run,
            }),
            Err(kube::Error::Api(status))
                if allow_defer
                    && status.code == 404
                    && self.build_namespaces.contains(id.namespace.as_str()) =>
            {
                Ok(Planned::Deferred)
            }
            Err(kube::Error::Api(status))
                if existing.is_some()
                    && status.code == 422
                    && is_immutable_error(&status.message)
                    && policy::force_enabled(self.force, object, existing.as_ref()) =>
            {
                Ok(Planned::Recreate { kind })
            }
            Err(error) => Err(dry_run_failed(&error)),
        }
    }

    async fn execute(
        &self,
        id: &ObjectId,
        object: &Value,
        plan: Planned,
        override_managers: &[String],
    ) -> Result<Change, ObjectError> {
        let subject = id.subject();
        let change = |action| {
            Ok(Change {
                id: id.clone(),
                action,
            })
        };
        let plan = match plan {
            Planned::Deferred => self.plan_when_ready(id, object).await?,
            other => other,
        };
        let apply_failed = |e: kube::Error| ObjectError::Apply {
            subject: subject.clone(),
            detail: describe_api_error(&e),
        };
        match plan {
            Planned::Skip => change(ChangeAction::Skipped),
            Planned::Deferred => Err(ObjectError::DependenciesNotReady {
                subject: subject.clone(),
            }),
            Planned::Recreate { kind } => {
                self.cluster
                    .delete(&kind, id)
                    .await
                    .map_err(|e| ObjectError::Recreate {
                        subject: subject.clone(),
                        detail: describe_api_error(&e),
                    })?;
                wait_until_gone(self.cluster, &kind, id).await?;
                self.cluster
                    .apply(&kind, id, object, false)
                    .await
                    .map_err(apply_failed)?;
                change(ChangeAction::Created)
            }
            Planned::Apply {
                kind,
                existing: None,
                ..
            } => {
                self.cluster
                    .apply(&kind, id, object, false)
                    .await
                    .map_err(apply_failed)?;
                change(ChangeAction::Created)
            }
            Planned::Apply {
                kind,
                existing: Some(existing),
                dry_run,
            } => {
                let cleanup = if policy::ssa_policy(object) == SsaPolicy::Merge {
                    None
                } else {
                    policy::cleanup_patch(&existing, override_managers)
                };
                if let Some(patch) = &cleanup {
                    self.cluster
                        .merge_patch(&kind, id, patch)
                        .await
                        .map_err(apply_failed)?;
                }
                if policy::has_drifted(&existing, &dry_run) {
                    self.cluster
                        .apply(&kind, id, object, false)
                        .await
                        .map_err(apply_failed)?;
                    change(ChangeAction::Configured)
                } else if cleanup.is_some() {
                    change(ChangeAction::Configured)
                } else {
                    change(ChangeAction::Unchanged)
                }
            }
        }
    }

    /// Validates a deferred object, giving a freshly established CRD a moment to be served.
    async fn plan_when_ready(&self, id: &ObjectId, object: &Value) -> Result<Planned, ObjectError> {
        let mut attempts = 0;
        loop {
            match self.plan(id, object, false).await {
                Ok(plan) => return Ok(plan),
                Err(error) if attempts >= 20 => return Err(error),
                Err(_) => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }
}

fn is_immutable_error(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("immutable")
        || message.contains("may not change")
        || message.contains("cannot change")
}

async fn wait_until_gone(
    cluster: &Cluster,
    kind: &ServedKind,
    id: &ObjectId,
) -> Result<(), ObjectError> {
    for _ in 0..120 {
        match cluster.get(kind, id).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(e) => {
                return Err(ObjectError::Delete {
                    subject: id.subject(),
                    detail: describe_api_error(&e),
                });
            }
        }
    }
    Err(ObjectError::NotDeletedInTime {
        subject: id.subject(),
    })
}

/// Waits until applied CRDs are established and Namespaces active.
async fn wait_for_definitions(
    cluster: &Cluster,
    changes: &[Change],
    timeout: Duration,
) -> Result<(), ObjectError> {
    let deadline = tokio::time::Instant::now() + timeout;
    for change in changes {
        let id = &change.id;
        if change.action == ChangeAction::Skipped
            || !matches!(id.kind.as_str(), "CustomResourceDefinition" | "Namespace")
        {
            continue;
        }
        let kind = match cluster.resolve(id).await {
            Ok(Some(kind)) => kind,
            _ => continue,
        };
        loop {
            let live = cluster.get(&kind, id).await.ok().flatten();
            if live.as_ref().is_some_and(is_established) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ObjectError::NotReady {
                    subject: id.subject(),
                    timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(())
}

fn is_established(object: &Value) -> bool {
    if object["kind"] == "Namespace" {
        return object.pointer("/status/phase").and_then(Value::as_str) == Some("Active");
    }
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        })
}

/// Why an object's kind cannot be applied, in Flux's words.
#[derive(Debug, thiserror::Error)]
pub enum KindError {
    #[error("{subject} dry-run failed: no matches for kind \"{kind}\" in version \"{version}\"", subject = .0.subject(), kind = .0.kind, version = .0.api_version())]
    NotServed(ObjectId),
    #[error("{0} dry-run failed {1}")]
    Discovery(String, String),
    #[error("{0} namespace not specified")]
    NamespaceMissing(String),
}

/// The served kind of `id`, checked the way the apply needs it: the API serves it and a
/// namespaced object names its namespace.
pub async fn resolve_for_apply(cluster: &Cluster, id: &ObjectId) -> Result<ServedKind, KindError> {
    let kind = match cluster.resolve(id).await {
        Ok(Some(kind)) => kind,
        Ok(None) => return Err(KindError::NotServed(id.clone())),
        Err(error) => {
            return Err(KindError::Discovery(
                id.subject(),
                describe_api_error(&error),
            ));
        }
    };
    if kind.namespaced && id.namespace.is_empty() {
        return Err(KindError::NamespaceMissing(id.subject()));
    }
    Ok(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(kind: &str, name: &str) -> ObjectId {
        ObjectId::of(
            &json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "ns"}}),
        )
    }

    #[test]
    fn summary_lists_changes_only() {
        let changes = [
            Change {
                id: id("ConfigMap", "a"),
                action: ChangeAction::Created,
            },
            Change {
                id: id("Service", "b"),
                action: ChangeAction::Unchanged,
            },
            Change {
                id: id("Secret", "c"),
                action: ChangeAction::Configured,
            },
        ];
        assert_eq!(
            summary(&changes),
            "ConfigMap/ns/a created\nSecret/ns/c configured"
        );
    }

    #[test]
    fn a_large_change_set_is_summarised_with_counts() {
        let mut changes: Vec<Change> = (0..3000)
            .map(|i| Change {
                id: id("ConfigMap", &format!("cm-{i}")),
                action: if i % 3 == 0 {
                    ChangeAction::Configured
                } else {
                    ChangeAction::Created
                },
            })
            .collect();
        changes.push(Change {
            id: id("Service", "same"),
            action: ChangeAction::Unchanged,
        });
        let message = summary(&changes);
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines.len(), SUMMARY_MAX_LINES + 1);
        assert_eq!(lines[0], "ConfigMap/ns/cm-0 configured");
        assert_eq!(
            lines[SUMMARY_MAX_LINES],
            "and 2950 more objects (1967 created, 983 configured)"
        );
        assert!(message.len() < 4096, "{} bytes", message.len());
        assert_eq!(full_summary(&changes).lines().count(), 3000);
    }

    #[test]
    fn established_rules() {
        assert!(is_established(
            &json!({"kind": "Namespace", "status": {"phase": "Active"}})
        ));
        assert!(!is_established(
            &json!({"kind": "Namespace", "status": {"phase": "Terminating"}})
        ));
        assert!(is_established(
            &json!({"kind": "CustomResourceDefinition", "status": {"conditions": [{"type": "Established", "status": "True"}]}})
        ));
        assert!(!is_established(
            &json!({"kind": "CustomResourceDefinition"})
        ));
        assert!(is_immutable_error(
            "spec.selector: Invalid value: ...: field is immutable"
        ));
    }
}
