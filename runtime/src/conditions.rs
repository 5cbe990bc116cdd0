//! Status conditions with Flux's (and kstatus') discipline.
//!
//! The rules the `flux` CLI and kstatus rely on: `Ready` is always present once reconciled;
//! `Reconciling` and `Stalled` are "abnormal-true" conditions that exist only while true; every
//! condition records the generation it was computed for; a condition's `lastTransitionTime` only
//! moves when its status changes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::time;

pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";

pub const PROGRESSING: &str = "Progressing";
pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
pub const SUCCEEDED: &str = "Succeeded";

/// The most a condition message may hold; longer ones are cut (Flux caps messages likewise so one
/// huge error cannot push the object over etcd's size limit).
pub const MAX_MESSAGE_LEN: usize = 20_000;

/// A condition status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

/// The condition of the given type, if present.
pub fn get<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of the given type is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.status == "True")
}

/// Sets (adds or replaces) a condition, keeping `lastTransitionTime` when the status is unchanged.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: Status,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    let message = truncate(message);
    let transition = match get(conditions, type_) {
        Some(existing) if existing.status == status.as_str() => {
            existing.last_transition_time.clone()
        }
        _ => time::now(),
    };
    let condition = Condition {
        type_: type_.to_owned(),
        status: status.as_str().to_owned(),
        reason: reason.to_owned(),
        message,
        last_transition_time: transition,
        observed_generation: generation,
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => *existing = condition,
        None => conditions.push(condition),
    }
}

/// Removes the condition of the given type.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// Start of a reconcile: `Reconciling=True` with what is being done, `Ready=Unknown`.
pub fn mark_reconciling(conditions: &mut Vec<Condition>, message: &str, generation: Option<i64>) {
    set(
        conditions,
        RECONCILING,
        Status::True,
        PROGRESSING,
        message,
        generation,
    );
    set(
        conditions,
        READY,
        Status::Unknown,
        PROGRESSING,
        "Reconciliation in progress",
        generation,
    );
}

/// Success: `Ready=True`, and the abnormal conditions are gone.
pub fn mark_ready(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    set(conditions, READY, Status::True, reason, message, generation);
    remove(conditions, RECONCILING);
    remove(conditions, STALLED);
}

/// A failure that will be retried: `Ready=False`, and `Reconciling` says a retry is coming.
pub fn mark_failed(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    set(
        conditions,
        READY,
        Status::False,
        reason,
        message,
        generation,
    );
    set(
        conditions,
        RECONCILING,
        Status::True,
        PROGRESSING_WITH_RETRY,
        message,
        generation,
    );
    remove(conditions, STALLED);
}

/// A failure retrying cannot fix until the object changes: `Stalled=True`, `Ready=False`.
pub fn mark_stalled(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    set(
        conditions,
        STALLED,
        Status::True,
        reason,
        message,
        generation,
    );
    set(
        conditions,
        READY,
        Status::False,
        reason,
        message,
        generation,
    );
    remove(conditions, RECONCILING);
}

fn truncate(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_LEN {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE_LEN;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconciling_then_ready_leaves_only_ready() {
        let mut conditions = Vec::new();
        mark_reconciling(&mut conditions, "Fetching", Some(3));
        assert!(is_true(&conditions, RECONCILING));
        assert_eq!(get(&conditions, READY).unwrap().status, "Unknown");
        mark_ready(&mut conditions, "Succeeded", "stored artifact", Some(3));
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].type_, READY);
        assert_eq!(conditions[0].observed_generation, Some(3));
    }

    #[test]
    fn failure_keeps_reconciling_with_retry_reason() {
        let mut conditions = Vec::new();
        mark_reconciling(&mut conditions, "Fetching", Some(1));
        mark_failed(&mut conditions, "GitOperationFailed", "boom", Some(1));
        assert_eq!(get(&conditions, READY).unwrap().status, "False");
        assert_eq!(
            get(&conditions, RECONCILING).unwrap().reason,
            PROGRESSING_WITH_RETRY
        );
        assert!(get(&conditions, STALLED).is_none());
    }

    #[test]
    fn stalled_replaces_reconciling() {
        let mut conditions = Vec::new();
        mark_reconciling(&mut conditions, "Fetching", Some(1));
        mark_stalled(&mut conditions, "URLInvalid", "bad scheme", Some(1));
        assert!(is_true(&conditions, STALLED));
        assert!(get(&conditions, RECONCILING).is_none());
    }

    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let mut conditions = Vec::new();
        set(&mut conditions, READY, Status::False, "A", "a", Some(1));
        let earlier = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(1).unwrap(),
        );
        conditions[0].last_transition_time = earlier.clone();
        set(&mut conditions, READY, Status::False, "B", "b", Some(2));
        assert_eq!(conditions[0].last_transition_time, earlier);
        assert_eq!(conditions[0].reason, "B");
        set(&mut conditions, READY, Status::True, "C", "c", Some(2));
        assert_ne!(conditions[0].last_transition_time, earlier);
    }

    #[test]
    fn huge_messages_are_cut() {
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            READY,
            Status::False,
            "A",
            &"x".repeat(50_000),
            None,
        );
        assert!(conditions[0].message.len() <= MAX_MESSAGE_LEN + 4);
    }
}
