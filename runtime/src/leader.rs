//! Lease-based leader election (`--enable-leader-election`).
//!
//! Only the leader reconciles (and, for source-controller, serves artifacts), so two replicas never
//! fight over the same objects. The protocol is the one client-go uses with a
//! `coordination.k8s.io/v1` Lease: take the lease when it is free or expired, renew it every retry
//! period, and give up leadership when renewing keeps failing past the renew deadline.

use std::time::Duration;

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::MicroTime,
    jiff::Timestamp,
};
use kube::{
    Client,
    api::{Api, ObjectMeta, PostParams},
};
use tokio::sync::watch;

use crate::cli::CommonArgs;

/// Settings of one election.
#[derive(Debug, Clone)]
pub struct LeaderElectionConfig {
    pub lease_name: String,
    pub namespace: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
    pub release_on_cancel: bool,
}

impl LeaderElectionConfig {
    /// Flux's lease name (`<controller>-leader-election`) and the timing flags.
    pub fn from_args(controller: &str, common: &CommonArgs) -> Self {
        let host = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "localhost".to_owned());
        Self {
            lease_name: format!("{controller}-leader-election"),
            namespace: crate::watch::runtime_namespace(),
            identity: format!("{host}_{}", std::process::id()),
            lease_duration: common.leader_election_lease_duration,
            renew_deadline: common.leader_election_renew_deadline,
            retry_period: common.leader_election_retry_period,
            release_on_cancel: common.leader_election_release_on_cancel,
        }
    }
}

/// Held leadership. `lost()` resolves if it is ever lost; `release()` hands it back on shutdown.
pub struct Leadership {
    lost: watch::Receiver<bool>,
    api: Api<Lease>,
    config: LeaderElectionConfig,
    /// The background renewal; stopped before the lease is handed back, or it would take the
    /// freed lease again and keep the successor waiting.
    renewal: tokio::task::JoinHandle<()>,
}

impl Drop for Leadership {
    fn drop(&mut self) {
        self.renewal.abort();
    }
}

impl Leadership {
    /// Resolves when leadership is lost (the process should stop working then).
    pub async fn lost(&mut self) {
        while !*self.lost.borrow() {
            if self.lost.changed().await.is_err() {
                return;
            }
        }
    }

    /// Frees the lease so a successor does not wait for it to expire.
    pub async fn release(self) {
        self.renewal.abort();
        if !self.config.release_on_cancel {
            return;
        }
        if let Ok(mut lease) = self.api.get(&self.config.lease_name).await {
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() == Some(self.config.identity.as_str()) {
                spec.holder_identity = None;
                spec.lease_duration_seconds = Some(1);
                let _ = self
                    .api
                    .replace(&self.config.lease_name, &PostParams::default(), &lease)
                    .await;
            }
        }
    }
}

/// Waits until this process holds the lease, then keeps renewing it in the background.
pub async fn acquire(client: Client, config: LeaderElectionConfig) -> Leadership {
    let api: Api<Lease> = Api::namespaced(client, &config.namespace);
    loop {
        match try_acquire_or_renew(&api, &config).await {
            Ok(true) => break,
            Ok(false) => {
                tracing::debug!(lease = %config.lease_name, "another replica leads; waiting")
            }
            Err(error) => {
                tracing::warn!(%error, lease = %config.lease_name, "cannot take the leader lease")
            }
        }
        tokio::time::sleep(config.retry_period).await;
    }
    tracing::info!(lease = %config.lease_name, identity = %config.identity, "became leader");
    let (sender, receiver) = watch::channel(false);
    let renewal = tokio::spawn(renew_until_lost(api.clone(), config.clone(), sender));
    Leadership {
        lost: receiver,
        api,
        config,
        renewal,
    }
}

async fn renew_until_lost(
    api: Api<Lease>,
    config: LeaderElectionConfig,
    lost: watch::Sender<bool>,
) {
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(config.retry_period).await;
        match try_acquire_or_renew(&api, &config).await {
            Ok(true) => last_renewal = tokio::time::Instant::now(),
            Ok(false) => {
                tracing::error!(lease = %config.lease_name, "leader lease taken by another replica");
                let _ = lost.send(true);
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot renew the leader lease");
                if last_renewal.elapsed() > config.renew_deadline {
                    tracing::error!(lease = %config.lease_name, "leader lease not renewed within the deadline");
                    let _ = lost.send(true);
                    return;
                }
            }
        }
    }
}

/// Takes or renews the lease. `Ok(false)`: someone else holds a live lease.
async fn try_acquire_or_renew(
    api: &Api<Lease>,
    config: &LeaderElectionConfig,
) -> Result<bool, kube::Error> {
    let now = crate::time::now_timestamp();
    let Some(mut lease) = api.get_opt(&config.lease_name).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(config.lease_name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(held_spec(config, now, now, 0)),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(false),
            Err(error) => Err(error),
        };
    };
    let spec = lease.spec.clone().unwrap_or_default();
    let ours = spec.holder_identity.as_deref() == Some(config.identity.as_str());
    if !ours && !is_expired(&spec, now) {
        return Ok(false);
    }
    let acquired = if ours {
        spec.acquire_time.map(|t| t.0).unwrap_or(now)
    } else {
        now
    };
    let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
    lease.spec = Some(held_spec(config, acquired, now, transitions));
    // The resourceVersion in `lease` makes this a compare-and-swap: if another replica wrote in
    // between, the update fails with a conflict and we did not take the lease.
    match api
        .replace(&config.lease_name, &PostParams::default(), &lease)
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.is_conflict() => Ok(false),
        Err(error) => Err(error),
    }
}

fn held_spec(
    config: &LeaderElectionConfig,
    acquired: Timestamp,
    renewed: Timestamp,
    transitions: i32,
) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(config.identity.clone()),
        lease_duration_seconds: Some(config.lease_duration.as_secs().max(1) as i32),
        acquire_time: Some(MicroTime(acquired)),
        renew_time: Some(MicroTime(renewed)),
        lease_transitions: Some(transitions),
        ..LeaseSpec::default()
    }
}

fn is_expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    if spec.holder_identity.as_deref().is_none_or(str::is_empty) {
        return true;
    }
    let Some(renewed) = spec.renew_time.as_ref() else {
        return true;
    };
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    renewed.0.as_second() + duration < now.as_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: Option<&str>, renewed_second: i64, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            renew_time: Some(MicroTime(Timestamp::from_second(renewed_second).unwrap())),
            lease_duration_seconds: Some(duration),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_lease_is_free_when_unheld_or_not_renewed_in_time() {
        let now = Timestamp::from_second(1000).unwrap();
        assert!(is_expired(&spec(None, 999, 35), now));
        assert!(is_expired(&spec(Some(""), 999, 35), now));
        assert!(!is_expired(&spec(Some("other"), 990, 35), now));
        assert!(is_expired(&spec(Some("other"), 900, 35), now));
    }
}
