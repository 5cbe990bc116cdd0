//! Lease-based leader election against a real API server: one holder at a time, hand-over on
//! release, take-over when the holder stops renewing.

// Test code: a panic is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use eddy_runtime::leader::{LeaderElectionConfig, acquire};
use eddy_test_support::{TestNamespace, client};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;

fn candidate(namespace: &str, identity: &str, release_on_cancel: bool) -> LeaderElectionConfig {
    LeaderElectionConfig {
        lease_name: "test-controller-leader-election".to_owned(),
        namespace: namespace.to_owned(),
        identity: identity.to_owned(),
        lease_duration: Duration::from_secs(3),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(300),
        release_on_cancel,
    }
}

async fn holder(client: &kube::Client, namespace: &str) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), namespace);
    leases
        .get("test-controller-leader-election")
        .await
        .ok()?
        .spec?
        .holder_identity
}

#[tokio::test]
async fn only_one_candidate_leads_and_a_released_lease_passes_on() {
    eddy_runtime::tls::install_crypto_provider();
    let client = client().await.unwrap();
    let namespace = TestNamespace::new(&client, "leader").await.unwrap();
    let ns = namespace.name().to_owned();

    let first = acquire(client.clone(), candidate(&ns, "first", true)).await;
    assert_eq!(holder(&client, &ns).await.as_deref(), Some("first"));

    let second = tokio::spawn(acquire(client.clone(), candidate(&ns, "second", true)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !second.is_finished(),
        "a second candidate must wait while the lease is renewed"
    );
    assert_eq!(holder(&client, &ns).await.as_deref(), Some("first"));

    first.release().await;
    let second = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("hand-over")
        .unwrap();
    assert_eq!(holder(&client, &ns).await.as_deref(), Some("second"));
    second.release().await;
    namespace.cleanup().await.unwrap();
}

/// Releasing stops the renewal too: before, the background renewal took the freed lease again
/// and a successor could wait forever.
#[tokio::test]
async fn a_released_lease_stays_free() {
    eddy_runtime::tls::install_crypto_provider();
    let client = client().await.unwrap();
    let namespace = TestNamespace::new(&client, "leader-release").await.unwrap();
    let ns = namespace.name().to_owned();

    let first = acquire(client.clone(), candidate(&ns, "first", true)).await;
    assert_eq!(holder(&client, &ns).await.as_deref(), Some("first"));
    first.release().await;
    // Several retry periods: a renewal still running would have written itself back in.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(holder(&client, &ns).await, None);
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_holder_that_stops_renewing_is_replaced_and_told_it_lost() {
    eddy_runtime::tls::install_crypto_provider();
    let client = client().await.unwrap();
    let namespace = TestNamespace::new(&client, "leader-takeover")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();

    let mut first = acquire(client.clone(), candidate(&ns, "first", false)).await;
    // Another replica steals the lease by writing itself in as holder (as after a network split).
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let mut lease = leases.get("test-controller-leader-election").await.unwrap();
    lease.spec.as_mut().unwrap().holder_identity = Some("intruder".to_owned());
    leases
        .replace(
            "test-controller-leader-election",
            &Default::default(),
            &lease,
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), first.lost())
        .await
        .expect("the first holder notices it lost");

    // Once the intruder stops renewing, the lease expires and a new candidate takes it.
    let third = tokio::time::timeout(
        Duration::from_secs(15),
        acquire(client.clone(), candidate(&ns, "third", true)),
    )
    .await
    .expect("an expired lease is taken over");
    assert_eq!(holder(&client, &ns).await.as_deref(), Some("third"));
    third.release().await;
    namespace.cleanup().await.unwrap();
}
