//! Health of applied objects, by kstatus' rules: a pure function from a live object to
//! `Current` / `InProgress` / `Failed`.
//!
//! The reconciler does not wait inside a reconcile: it evaluates health once per pass and
//! requeues shortly while objects are in progress, so a slow rollout never holds a worker.

use serde_json::Value;

/// kstatus' verdict on one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Current,
    InProgress(String),
    Failed(String),
}

fn int(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c["type"] == type_)
}

fn condition_is(object: &Value, type_: &str, status: &str) -> bool {
    condition(object, type_).is_some_and(|c| c["status"] == status)
}

fn message_of(object: &Value, type_: &str) -> String {
    condition(object, type_)
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Evaluates the health of a live object.
pub fn evaluate(object: &Value) -> Health {
    if object.pointer("/metadata/deletionTimestamp").is_some() {
        return Health::InProgress("Resource scheduled for deletion".into());
    }
    let generation = int(object, "/metadata/generation");
    let observed = int(object, "/status/observedGeneration");
    if let (Some(generation), Some(observed)) = (generation, observed)
        && observed != generation
    {
        return Health::InProgress(format!(
            "observedGeneration {observed} is behind generation {generation}"
        ));
    }
    let kind = object["kind"].as_str().unwrap_or_default();
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/').map(|(g, _)| g))
        .unwrap_or("");
    match (group, kind) {
        ("apps", "Deployment") => deployment(object),
        ("apps", "StatefulSet") => stateful_set(object),
        ("apps", "DaemonSet") => daemon_set(object),
        ("apps", "ReplicaSet") => replica_set(object),
        ("batch", "Job") => job(object),
        ("", "Pod") => pod(object),
        ("", "PersistentVolumeClaim") => {
            match object.pointer("/status/phase").and_then(Value::as_str) {
                Some("Bound") => Health::Current,
                _ => Health::InProgress("PVC is not Bound".into()),
            }
        }
        ("", "Namespace") => match object.pointer("/status/phase").and_then(Value::as_str) {
            Some("Terminating") => Health::InProgress("Namespace is terminating".into()),
            _ => Health::Current,
        },
        _ => generic(object, observed.is_some(), generation),
    }
}

/// Objects with conditions: Stalled fails, Reconciling is in progress, Ready decides.
fn generic(object: &Value, has_observed: bool, generation: Option<i64>) -> Health {
    if condition_is(object, "Stalled", "True") {
        return Health::Failed(message_of(object, "Stalled"));
    }
    if condition_is(object, "Reconciling", "True") {
        return Health::InProgress(message_of(object, "Reconciling"));
    }
    match condition(object, "Ready") {
        Some(ready) if ready["status"] == "True" => {
            // Flux kinds record the generation Ready was computed for.
            match (
                ready.get("observedGeneration").and_then(Value::as_i64),
                generation,
            ) {
                (Some(seen), Some(current)) if seen != current && !has_observed => {
                    Health::InProgress("Ready condition is outdated".into())
                }
                _ => Health::Current,
            }
        }
        Some(ready) => {
            Health::InProgress(ready["message"].as_str().unwrap_or("not ready").to_owned())
        }
        None => Health::Current,
    }
}

fn deployment(object: &Value) -> Health {
    if object.pointer("/status").is_none() || int(object, "/status/observedGeneration").is_none() {
        return Health::InProgress("Deployment has not been observed yet".into());
    }
    if condition(object, "Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return Health::Failed(format!(
            "Progress deadline exceeded: {}",
            message_of(object, "Progressing")
        ));
    }
    let desired = int(object, "/spec/replicas").unwrap_or(1);
    let updated = int(object, "/status/updatedReplicas").unwrap_or(0);
    let replicas = int(object, "/status/replicas").unwrap_or(0);
    let ready = int(object, "/status/readyReplicas").unwrap_or(0);
    let available = int(object, "/status/availableReplicas").unwrap_or(0);
    if updated < desired {
        return Health::InProgress(format!("Updated: {updated}/{desired}"));
    }
    if replicas > updated {
        return Health::InProgress(format!("Pending termination: {}", replicas - updated));
    }
    if available < updated || ready < updated {
        return Health::InProgress(format!("Available: {available}/{desired}"));
    }
    if !condition_is(object, "Available", "True") {
        return Health::InProgress("Deployment is not Available".into());
    }
    Health::Current
}

fn stateful_set(object: &Value) -> Health {
    if int(object, "/status/observedGeneration").is_none() {
        return Health::InProgress("StatefulSet has not been observed yet".into());
    }
    let desired = int(object, "/spec/replicas").unwrap_or(1);
    let ready = int(object, "/status/readyReplicas").unwrap_or(0);
    let updated = int(object, "/status/updatedReplicas").unwrap_or(0);
    if ready < desired {
        return Health::InProgress(format!("Ready: {ready}/{desired}"));
    }
    let rolling = object
        .pointer("/spec/updateStrategy/type")
        .and_then(Value::as_str)
        != Some("OnDelete");
    let current = object.pointer("/status/currentRevision");
    let update = object.pointer("/status/updateRevision");
    if rolling && (updated < desired || current != update) {
        return Health::InProgress(format!("Updated: {updated}/{desired}"));
    }
    Health::Current
}

fn daemon_set(object: &Value) -> Health {
    if int(object, "/status/observedGeneration").is_none() {
        return Health::InProgress("DaemonSet has not been observed yet".into());
    }
    let desired = int(object, "/status/desiredNumberScheduled").unwrap_or(0);
    let updated = int(object, "/status/updatedNumberScheduled").unwrap_or(0);
    let available = int(object, "/status/numberAvailable").unwrap_or(0);
    if updated < desired || available < desired {
        return Health::InProgress(format!("Available: {available}/{desired}"));
    }
    Health::Current
}

fn replica_set(object: &Value) -> Health {
    let desired = int(object, "/spec/replicas").unwrap_or(1);
    let available = int(object, "/status/availableReplicas").unwrap_or(0);
    if available < desired {
        return Health::InProgress(format!("Available: {available}/{desired}"));
    }
    Health::Current
}

fn job(object: &Value) -> Health {
    if condition_is(object, "Failed", "True") {
        return Health::Failed(format!("Job failed: {}", message_of(object, "Failed")));
    }
    if condition_is(object, "Complete", "True") {
        return Health::Current;
    }
    Health::InProgress("Job in progress".into())
}

fn pod(object: &Value) -> Health {
    match object.pointer("/status/phase").and_then(Value::as_str) {
        Some("Succeeded") => Health::Current,
        Some("Failed") => Health::Failed("Pod has failed".into()),
        Some("Running") if condition_is(object, "Ready", "True") => Health::Current,
        _ => Health::InProgress("Pod is not ready".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment_with(status: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 3}, "status": status})
    }

    #[test]
    fn deployments() {
        let available = json!([{"type": "Available", "status": "True"}]);
        assert_eq!(
            evaluate(&deployment_with(
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3, "conditions": available})
            )),
            Health::Current
        );
        assert!(matches!(
            evaluate(&deployment_with(
                json!({"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3, "conditions": available})
            )),
            Health::InProgress(_)
        ));
        assert!(matches!(
            evaluate(&deployment_with(
                json!({"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3, "conditions": available})
            )),
            Health::InProgress(_)
        ));
        assert!(matches!(
            evaluate(&deployment_with(
                json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]})
            )),
            Health::Failed(_)
        ));
    }

    #[test]
    fn jobs_and_custom_resources() {
        let job = |t: &str| json!({"apiVersion": "batch/v1", "kind": "Job", "status": {"conditions": [{"type": t, "status": "True"}]}});
        assert_eq!(evaluate(&job("Complete")), Health::Current);
        assert!(matches!(evaluate(&job("Failed")), Health::Failed(_)));
        let custom = |conditions: Value| json!({"apiVersion": "x.io/v1", "kind": "Widget", "metadata": {"generation": 1}, "status": {"observedGeneration": 1, "conditions": conditions}});
        assert_eq!(
            evaluate(&custom(json!([{"type": "Ready", "status": "True"}]))),
            Health::Current
        );
        assert!(
            matches!(evaluate(&custom(json!([{"type": "Ready", "status": "False", "message": "waiting"}]))), Health::InProgress(m) if m == "waiting")
        );
        assert!(matches!(
            evaluate(&custom(json!([{"type": "Stalled", "status": "True"}]))),
            Health::Failed(_)
        ));
        assert_eq!(
            evaluate(&json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            Health::Current
        );
    }
}
