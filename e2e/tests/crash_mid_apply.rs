//! End-to-end: kustomize-controller killed at random points while it applies a revision that
//! adds many objects, then a revision that removes them: nothing it created is left behind
//! (issue #12 item 2). Orphans are counted by the owner label the controller puts on everything
//! it applies, so an object missing from every inventory is still found.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use std::{collections::BTreeSet, time::SystemTime};

use common::{ConfigRepo, TIMEOUT, TestEnv, start_controllers};
use eddy_test_support::wait_for;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};
use serde_json::json;

const OBJECTS_PER_ROUND: usize = 300;
const ROUNDS: usize = 3;
const OWNER_LABEL: &str = "kustomize.toolkit.fluxcd.io/name=crash";

/// The ConfigMaps of one round, as one multi-document file.
fn config_maps(ns: &str, round: usize) -> String {
    (0..OBJECTS_PER_ROUND)
        .map(|index| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: round{round}-{index}\n  namespace: {ns}\ndata:\n  index: \"{index}\"\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// A small xorshift generator: the kill points differ from run to run, and the seed printed
/// on failure replays them.
struct KillPoints(u64);

impl KillPoints {
    fn next_below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

async fn owned_names(config_maps: &Api<ConfigMap>) -> BTreeSet<String> {
    config_maps
        .list(&ListParams::default().labels(OWNER_LABEL))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|cm| cm.metadata.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_mid_apply_leaves_no_orphans() {
    let seed = std::env::var("EDDY_CRASH_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill points from EDDY_CRASH_SEED={seed}");
    let mut kill_points = KillPoints(seed);

    let env = TestEnv::new("ks-crash").await;
    let ns = env.ns.clone();
    let mut controllers = start_controllers(&env.client, &ns, false).await;
    let config = ConfigRepo::seed("master").await;
    config.write("crash/kustomization.yaml", "resources: [objects.yaml]\n");
    config.write("crash/objects.yaml", &config_maps(&ns, 0));
    let mut revision = config.commit("round 0");
    env.create_git_repository("config", &config.url(), "master")
        .await;
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "crash"},
        "spec": {
            "interval": "1h",
            "path": "./crash",
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    }))
    .await;
    env.wait_applied("crash", &revision).await;
    let config_maps_api: Api<ConfigMap> = env.api();

    for round in 1..=ROUNDS {
        // A revision adding many objects; the controller is killed once some, not all, exist.
        config.write("crash/objects.yaml", &config_maps(&ns, round));
        let adding = config.commit(&format!("round {round}: add {OBJECTS_PER_ROUND} objects"));
        let kill_after = 1 + kill_points.next_below(OBJECTS_PER_ROUND - 1);
        env.fetch("config", &adding).await;
        let prefix = format!("round{round}-");
        let created = wait_for(
            format!("{kill_after} objects of round {round} to exist"),
            TIMEOUT,
            async || {
                let names = owned_names(&config_maps_api).await;
                let created = names
                    .iter()
                    .filter(|name| name.starts_with(&prefix))
                    .count();
                Ok((created >= kill_after).then_some(created))
            },
        )
        .await
        .unwrap();
        controllers.crash_kustomize_controller().await;
        eprintln!("round {round}: killed with {created} of {OBJECTS_PER_ROUND} objects created");

        // While it is down, a revision removing them all lands: the restarted controller never
        // applies the adding revision again, so only what it recorded before the crash can
        // tell it what to prune.
        let keeper = format!("keep-{round}");
        config.write(
            "crash/objects.yaml",
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {keeper}\n  namespace: {ns}\n"
            ),
        );
        revision = config.commit(&format!("round {round}: remove them"));
        env.fetch("config", &revision).await;
        controllers.restart_kustomize_controller().await;
        env.wait_applied("crash", &revision).await;
        let expected = BTreeSet::from([keeper]);
        wait_for(
            format!("only the keeper of round {round} to remain"),
            TIMEOUT,
            async || Ok((owned_names(&config_maps_api).await == expected).then_some(())),
        )
        .await
        .unwrap_or_else(|error| {
            panic!("{error}; replay with EDDY_CRASH_SEED={seed}");
        });
    }

    // Deleting the Kustomization prunes what is left: no owned object outlives it.
    env.kustomizations()
        .delete("crash", &Default::default())
        .await
        .unwrap();
    wait_for("every owned object to be pruned", TIMEOUT, async || {
        let left = owned_names(&config_maps_api).await;
        Ok(left.is_empty().then_some(()))
    })
    .await
    .unwrap_or_else(|error| panic!("{error}; replay with EDDY_CRASH_SEED={seed}"));
    env.cleanup().await;
}
