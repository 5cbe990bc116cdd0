//! A Job with `ttlSecondsAfterFinished` that is gone during the health check counts as finished
//! and cleaned up, not as missing: the Kustomization becomes Ready. (The testenv runs no
//! kubelet, so the Job never finishes by itself; the test deletes it, as the TTL controller
//! would after it finished.) A Job without a TTL that vanishes keeps the check waiting.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use std::time::Duration;

use common::{ConfigRepo, TestEnv, ready_condition, start_controllers};
use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams};
use serde_json::json;

fn job(name: &str, ttl: bool) -> String {
    let ttl = if ttl {
        "  ttlSecondsAfterFinished: 30\n"
    } else {
        ""
    };
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{ttl}  template:
    spec:
      restartPolicy: Never
      containers:
      - name: migrate
        image: busybox:1.36
        command: [\"true\"]
"
    )
}

async fn delete_once_applied(jobs: &Api<Job>, name: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while jobs.get_opt(name).await.unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Job {name} never applied"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let background = DeleteParams::background();
    jobs.delete(name, &background).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_deleted_by_its_ttl_is_not_missing() {
    let env = TestEnv::new("ks-job-ttl").await;
    let ns = env.ns.clone();
    let _controllers = start_controllers(&env.client, &ns, false).await;
    let config = ConfigRepo::seed("master").await;
    config.write("ttl/job.yaml", &job("migrate", true));
    config.write("plain/job.yaml", &job("plain", false));
    let revision = config.commit("two Jobs");
    env.create_git_repository("config", &config.url(), "master")
        .await;
    for (name, path) in [("ttl", "./ttl"), ("plain", "./plain")] {
        env.create_kustomization(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name},
            "spec": {
                "interval": "1h", "path": path, "prune": false, "targetNamespace": ns,
                "wait": true, "timeout": "10m",
                "sourceRef": {"kind": "GitRepository", "name": "config"},
            },
        }))
        .await;
    }
    let jobs: Api<Job> = env.api();
    delete_once_applied(&jobs, "migrate").await;
    delete_once_applied(&jobs, "plain").await;
    let ttl = env.wait_applied("ttl", &revision).await;
    assert_eq!(ready_condition(&ttl).unwrap().status, "True");

    // The Job without a TTL is missing: the health check keeps waiting for it.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let plain = env.kustomizations().get("plain").await.unwrap();
    let ready = ready_condition(&plain).unwrap();
    assert_ne!(ready.status, "True", "{}", ready.message);
    env.cleanup().await;
}
