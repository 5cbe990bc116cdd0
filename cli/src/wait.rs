//! Polling the cluster until an object reaches the state a command promised.

use std::time::{Duration, Instant};

use anyhow::bail;
use kube::api::DynamicObject;
use serde_json::Value;

use crate::cluster::ready_condition;

const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Calls `check` every second until it yields a value, fails, or `timeout` passes. The error
/// on timeout names what was awaited and the last reason it was not there yet.
pub async fn until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> anyhow::Result<Result<T, String>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().await? {
            Ok(value) => return Ok(value),
            Err(reason) => reason,
        };
        if Instant::now() >= deadline {
            bail!(
                "timed out after {}s waiting for {what}: {last}; raise --timeout, or look at `eddy events` for the cause",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// What a Flux object's status says about the latest spec: the kstatus reading the `flux`
/// CLI applies after `resume`, `create` and `reconcile`.
#[derive(Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Still working on it (or not looked at yet); the string says why.
    Pending(String),
    /// The controller gave up on this generation; the string is its message.
    Failed(String),
}

pub fn readiness(object: &DynamicObject) -> Readiness {
    let generation = object.metadata.generation.unwrap_or(0);
    let observed = object
        .data
        .pointer("/status/observedGeneration")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let Some(ready) = ready_condition(object) else {
        return Readiness::Pending("waiting to be reconciled".into());
    };
    // A condition written before the latest spec change says nothing about it.
    let condition_generation = ready
        .observed_generation
        .filter(|g| *g > 0)
        .unwrap_or(observed);
    if observed < 1 || condition_generation != generation {
        return Readiness::Pending(format!(
            "generation {generation} not observed yet (observed {observed})"
        ));
    }
    if has_true_condition(object, "Reconciling") {
        return Readiness::Pending(ready.message);
    }
    match ready.status.as_str() {
        "True" => Readiness::Ready,
        "False" => Readiness::Failed(ready.message),
        _ => Readiness::Pending(ready.message),
    }
}

fn has_true_condition(object: &DynamicObject, condition_type: &str) -> bool {
    object
        .data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions.iter().any(|condition| {
                condition.get("type").and_then(Value::as_str) == Some(condition_type)
                    && condition.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(generation: i64, status: Value) -> DynamicObject {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "x", "generation": generation},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn ready_only_for_the_current_generation() {
        let current = object(
            2,
            serde_json::json!({"observedGeneration": 2, "conditions": [
                {"type": "Ready", "status": "True", "observedGeneration": 2, "message": "ok"}]}),
        );
        assert_eq!(readiness(&current), Readiness::Ready);
        let stale = object(
            3,
            serde_json::json!({"observedGeneration": 2, "conditions": [
                {"type": "Ready", "status": "True", "observedGeneration": 2, "message": "ok"}]}),
        );
        assert!(matches!(readiness(&stale), Readiness::Pending(_)));
    }

    #[test]
    fn false_while_reconciling_is_pending_and_false_after_is_failed() {
        let reconciling = object(
            1,
            serde_json::json!({"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "False", "observedGeneration": 1, "message": "fetching"},
                {"type": "Reconciling", "status": "True", "observedGeneration": 1}]}),
        );
        assert!(matches!(readiness(&reconciling), Readiness::Pending(_)));
        let failed = object(
            1,
            serde_json::json!({"observedGeneration": 1, "conditions": [
                {"type": "Ready", "status": "False", "observedGeneration": 1, "message": "auth failed"}]}),
        );
        assert_eq!(readiness(&failed), Readiness::Failed("auth failed".into()));
    }

    #[test]
    fn no_status_is_pending() {
        let fresh = object(1, serde_json::json!({}));
        assert_eq!(
            readiness(&fresh),
            Readiness::Pending("waiting to be reconciled".into())
        );
    }
}
