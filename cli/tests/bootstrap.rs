//! `eddy bootstrap git` against the testenv and real Git servers (`git http-backend` over HTTPS
//! with basic auth, OpenSSH), with Eddy's source- and kustomize-controller running in-process to
//! do what the installed (kwok, never running) Deployments would do in a real cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use eddy_test_support::{
    TestNamespace,
    git_server::{GitHttpServer, HttpServerOptions, RepoRoot, SshServer, git},
    install_crds,
};
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret};
use kube::{
    Api,
    api::{DynamicObject, Patch, PatchParams},
    discovery::ApiResource,
};
use serde_json::{Value, json};
use support::{eddy, failed, kubeconfig, succeeded};

use eddy_e2e::SHARD_LABEL;
const USER: &str = "bootstrapper";
const PASSWORD: &str = "right-horse-battery";

fn flux_api(client: &kube::Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    let (group, version, plural) = match kind {
        "GitRepository" => ("source.toolkit.fluxcd.io", "v1", "gitrepositories"),
        _ => ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
    };
    let resource = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    };
    Api::namespaced_with(client.clone(), ns, &resource)
}

/// source-controller and kustomize-controller confined to objects labelled with this test's
/// shard, plus the helpers that stand in for the parts of a cluster the testenv lacks.
struct Cluster {
    client: kube::Client,
    namespace: String,
    controllers: eddy_e2e::Controllers,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    done: Arc<AtomicBool>,
}

impl Cluster {
    async fn start(client: &kube::Client, namespace: &str) -> Self {
        let controllers = eddy_e2e::start_controllers(client, namespace, false).await;
        let done = Arc::new(AtomicBool::new(false));
        let labeller = tokio::spawn(label_sync_objects(
            client.clone(),
            namespace.to_string(),
            done.clone(),
        ));
        let kubelet = tokio::spawn(keep_controller_pods_ready(client.clone(), done.clone()));
        Self {
            client: client.clone(),
            namespace: namespace.to_string(),
            controllers,
            tasks: vec![labeller, kubelet],
            done,
        }
    }

    /// Stops the controllers *before* the namespace goes: the sync Kustomization prunes what it
    /// applied when deleted, and that includes the CRDs every other test relies on. Without a
    /// controller, its finalizers are removed by hand.
    async fn stop(self) {
        self.done.store(true, Ordering::Relaxed);
        self.controllers.stop().await;
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        for kind in ["Kustomization", "GitRepository"] {
            let api = flux_api(&self.client, &self.namespace, kind);
            let _ = api
                .patch(
                    "flux-system",
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                )
                .await;
        }
    }
}

/// The bootstrap creates its objects without the test's shard label (as it should); this adds
/// it as soon as they appear, so only this test's controllers reconcile them.
async fn label_sync_objects(client: kube::Client, namespace: String, done: Arc<AtomicBool>) {
    let label = json!({"metadata": {"labels": {SHARD_LABEL: namespace}}});
    let mut labelled = [false, false];
    while !done.load(Ordering::Relaxed) && labelled.contains(&false) {
        for (index, kind) in ["GitRepository", "Kustomization"].iter().enumerate() {
            if !labelled[index] {
                labelled[index] = flux_api(&client, &namespace, kind)
                    .patch(
                        "flux-system",
                        &PatchParams::default(),
                        &Patch::Merge(&label),
                    )
                    .await
                    .is_ok();
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Plays the kubelet for the controllers' pods in flux-system (see against_cluster.rs): kwok
/// marks them ready once, but a missed heartbeat can flip them and nothing flips them back.
async fn keep_controller_pods_ready(client: kube::Client, done: Arc<AtomicBool>) {
    let pods: Api<Pod> = Api::namespaced(client, "flux-system");
    let ready = json!({"status": {"conditions": [
        {"type": "Ready", "status": "True"},
        {"type": "ContainersReady", "status": "True"},
    ]}});
    while !done.load(Ordering::Relaxed) {
        for pod in pods
            .list(&Default::default())
            .await
            .map(|list| list.items)
            .unwrap_or_default()
        {
            if let Some(name) = pod.metadata.name {
                let _ = pods
                    .patch_status(&name, &PatchParams::default(), &Patch::Strategic(&ready))
                    .await;
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn setup(prefix: &str) -> (kube::Client, TestNamespace, PathBuf) {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, prefix).await.unwrap();
    (client, namespace, kubeconfig().await)
}

/// Runs `eddy` on a blocking thread, so the in-process controllers keep working meanwhile.
async fn eddy_blocking(kubeconfig: &Path, args: Vec<String>) -> std::process::Output {
    let kubeconfig = kubeconfig.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        eddy(&kubeconfig, &args)
    })
    .await
    .unwrap()
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|arg| (*arg).to_string()).collect()
}

fn decoded(secret: &Secret, key: &str) -> String {
    let bytes = &secret.data.as_ref().unwrap()[key].0;
    String::from_utf8(bytes.clone()).unwrap()
}

fn yaml_documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .filter(|value: &Value| !value.is_null())
        .collect()
}

/// Asserts what a finished bootstrap leaves in the namespace: both sync objects Ready at
/// `revision`, the Kustomization applied from the pushed path.
async fn assert_synced_at(client: &kube::Client, ns: &str, revision: &str) {
    let repository = flux_api(client, ns, "GitRepository")
        .get("flux-system")
        .await
        .unwrap();
    assert_eq!(repository.data["status"]["artifact"]["revision"], revision);
    let kustomization = flux_api(client, ns, "Kustomization")
        .get("flux-system")
        .await
        .unwrap();
    assert_eq!(
        kustomization.data["status"]["lastAppliedRevision"],
        revision
    );
    for object in [&repository, &kustomization] {
        let conditions = object.data["status"]["conditions"].as_array().unwrap();
        let ready = conditions.iter().find(|c| c["type"] == "Ready").unwrap();
        assert_eq!(ready["status"], "True", "{ready}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_bootstrap_pushes_installs_and_syncs_and_a_second_run_changes_nothing() {
    let (client, namespace, kubeconfig) = setup("bootstrap-https").await;
    let ns = namespace.name().to_string();
    // The branch exists with something of the user's in the cluster path already.
    let root = RepoRoot::new().unwrap();
    let repo = root.create("fleet").unwrap();
    repo.write(
        "clusters/test/settings.yaml",
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  colour: teal\n"
        ),
    )
    .unwrap();
    repo.commit_all("the user's own configuration").unwrap();
    repo.push("HEAD:refs/heads/main").unwrap();
    let server = GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            basic_auth: Some((USER.into(), PASSWORD.into())),
            tls: true,
            ..HttpServerOptions::default()
        },
    )
    .await
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let ca_file = scratch.path().join("ca.pem");
    std::fs::write(&ca_file, server.ca_pem().unwrap()).unwrap();
    let url = server.url("fleet");
    let args = owned(&[
        "-n",
        &ns,
        "--timeout",
        "3m",
        "bootstrap",
        "git",
        "--url",
        &url,
        "--branch",
        "main",
        "--path",
        "clusters/test",
        "--username",
        USER,
        "--password",
        PASSWORD,
        "--ca-file",
        ca_file.to_str().unwrap(),
        "--interval",
        "30s",
        "--silent",
    ]);

    let cluster = Cluster::start(&client, &ns).await;
    let first = succeeded(
        eddy_blocking(&kubeconfig, args.clone()).await,
        "eddy bootstrap",
    );
    assert!(first.contains("pushed 2 commit(s) to main"), "{first}");
    let head = git(&repo.bare, &["rev-parse", "main"]).unwrap();
    let revision = format!("main@sha1:{head}");
    assert!(first.contains(&revision), "{first}");

    // The repository holds Flux's layout; the components are exactly `install --export`.
    let show = |file: &str| {
        git(
            &repo.bare,
            &["show", &format!("main:clusters/test/flux-system/{file}")],
        )
        .unwrap()
    };
    let exported = succeeded(
        eddy(&kubeconfig, &["install", "--export"]),
        "eddy install --export",
    );
    assert_eq!(show("gotk-components.yaml"), exported.trim_end());
    let sync = yaml_documents(&show("gotk-sync.yaml"));
    assert_eq!(sync[0]["kind"], "GitRepository");
    assert_eq!(sync[0]["metadata"]["namespace"], ns.as_str());
    assert_eq!(sync[0]["spec"]["url"], url.as_str());
    assert_eq!(sync[0]["spec"]["ref"]["branch"], "main");
    assert_eq!(sync[0]["spec"]["interval"], "30s");
    assert_eq!(sync[0]["spec"]["secretRef"]["name"], "flux-system");
    assert_eq!(sync[1]["kind"], "Kustomization");
    assert_eq!(sync[1]["spec"]["path"], "./clusters/test");
    assert_eq!(sync[1]["spec"]["prune"], true);
    assert_eq!(sync[1]["spec"]["sourceRef"]["name"], "flux-system");
    let kustomization: Value = serde_yaml_ng::from_str(&show("kustomization.yaml")).unwrap();
    assert_eq!(
        kustomization["resources"],
        json!(["gotk-components.yaml", "gotk-sync.yaml"])
    );
    let log = git(&repo.bare, &["log", "--format=%s", "main"]).unwrap();
    assert!(
        log.starts_with("Add Eddy sync manifests\nAdd Eddy v"),
        "{log}"
    );

    let secret: Secret = Api::namespaced(client.clone(), &ns)
        .get("flux-system")
        .await
        .unwrap();
    assert_eq!(decoded(&secret, "username"), USER);
    assert_eq!(decoded(&secret, "password"), PASSWORD);
    assert_eq!(decoded(&secret, "ca.crt"), server.ca_pem().unwrap());
    assert_synced_at(&client, &ns, &revision).await;
    // The sync Kustomization applied the rest of the cluster path.
    let settings: ConfigMap = Api::namespaced(client.clone(), &ns)
        .get("settings")
        .await
        .unwrap();
    assert_eq!(settings.data.unwrap()["colour"], "teal");

    // Nothing differs the second time: no commit, no push, the same revision.
    let second = succeeded(
        eddy_blocking(&kubeconfig, args.clone()).await,
        "second bootstrap",
    );
    assert!(second.contains("nothing to commit"), "{second}");
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]).unwrap(), head);
    assert!(second.contains(&revision), "{second}");
    assert_synced_at(&client, &ns, &revision).await;

    // People customise flux-system/kustomization.yaml (Flux's docs suggest patches there);
    // bootstrap keeps the file and applies what it builds to.
    repo.git(&["fetch", "-q", "origin", "main"]).unwrap();
    repo.git(&["checkout", "-q", "-B", "main", "FETCH_HEAD"])
        .unwrap();
    let customised = format!(
        "{}\npatches:\n- patch: |\n    - op: replace\n      path: /spec/interval\n      value: 45s\n  target:\n    kind: GitRepository\n    name: flux-system\n",
        show("kustomization.yaml")
    );
    repo.write("clusters/test/flux-system/kustomization.yaml", &customised)
        .unwrap();
    let customised_head = repo.commit_all("slower polling").unwrap();
    repo.push("HEAD:refs/heads/main").unwrap();
    let third = succeeded(
        eddy_blocking(&kubeconfig, args).await,
        "bootstrap after a customisation",
    );
    assert!(third.contains("nothing to commit"), "{third}");
    assert_eq!(
        git(&repo.bare, &["rev-parse", "main"]).unwrap(),
        customised_head
    );
    assert_eq!(show("kustomization.yaml"), customised.trim_end());
    let repository = flux_api(&client, &ns, "GitRepository")
        .get("flux-system")
        .await
        .unwrap();
    assert_eq!(repository.data["spec"]["interval"], "45s");
    assert_synced_at(&client, &ns, &format!("main@sha1:{customised_head}")).await;

    cluster.stop().await;
    namespace.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_bootstrap_starts_the_branch_records_the_host_key_and_recovers_from_a_timeout() {
    let (client, namespace, kubeconfig) = setup("bootstrap-ssh").await;
    let ns = namespace.name().to_string();
    let server = SshServer::start().unwrap();
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("fleet.git");
    std::fs::create_dir_all(&bare).unwrap();
    // An empty repository: the bootstrap starts the branch.
    git(&bare, &["init", "--quiet", "--bare"]).unwrap();
    let key_file = root.path().join("id_ed25519");
    std::fs::write(&key_file, server.client_identity()).unwrap();
    let url = server.url(&bare);

    let bootstrap = |timeout: &str| {
        owned(&[
            "-n",
            &ns,
            "--timeout",
            timeout,
            "bootstrap",
            "git",
            "--url",
            &url,
            "--branch",
            "main",
            "--path",
            "clusters/ssh",
            "--private-key-file",
            key_file.to_str().unwrap(),
            "--silent",
        ])
    };

    // No controller runs yet, so the first attempt pushes and installs, then times out saying
    // what it waited for.
    let output = eddy_blocking(&kubeconfig, bootstrap("8s")).await;
    let head = git(&bare, &["rev-parse", "main"]).unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("pushed 2 commit(s) to main"),
        "{output:?}"
    );
    let stderr = failed(output, "bootstrap without controllers");
    assert!(
        stderr.contains(&format!(
            "timed out after 8s waiting for GitRepository {ns}/flux-system to be Ready at status.artifact.revision main@sha1:{head}"
        )),
        "{stderr}"
    );
    // Run again once the controllers are there: nothing new to push, and it completes.
    let cluster = Cluster::start(&client, &ns).await;
    let stdout = succeeded(
        eddy_blocking(&kubeconfig, bootstrap("3m")).await,
        "eddy bootstrap over SSH, again",
    );
    assert!(stdout.contains("nothing to commit"), "{stdout}");
    assert_eq!(git(&bare, &["rev-parse", "main"]).unwrap(), head);
    let secret: Secret = Api::namespaced(client.clone(), &ns)
        .get("flux-system")
        .await
        .unwrap();
    assert_eq!(decoded(&secret, "identity"), server.client_identity());
    // The host key the bootstrap saw is the server's own.
    assert_eq!(decoded(&secret, "known_hosts"), server.known_hosts());
    let public = decoded(&secret, "identity.pub");
    assert!(public.starts_with("ssh-ed25519 AAAA"), "{public}");
    assert!(
        !secret.data.as_ref().unwrap().contains_key("password"),
        "no passphrase was given"
    );
    assert_synced_at(&client, &ns, &format!("main@sha1:{head}")).await;

    cluster.stop().await;
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn wrong_credentials_or_url_fail_before_anything_is_installed() {
    let (client, namespace, kubeconfig) = setup("bootstrap-bad").await;
    let ns = namespace.name().to_string();
    let root = RepoRoot::new().unwrap();
    let repo = root.create("fleet").unwrap();
    repo.write("README.md", "fleet\n").unwrap();
    let before = repo.commit_all("start").unwrap();
    repo.push("HEAD:refs/heads/main").unwrap();
    let server = GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            basic_auth: Some((USER.into(), PASSWORD.into())),
            ..HttpServerOptions::default()
        },
    )
    .await
    .unwrap();
    let bootstrap = |url: &str, password: &str| {
        owned(&[
            "-n",
            &ns,
            "--timeout",
            "20s",
            "bootstrap",
            "git",
            "--url",
            url,
            "--path",
            "clusters/bad",
            "--username",
            USER,
            "--password",
            password,
            "--allow-insecure-http",
            "--silent",
        ])
    };

    let stderr = failed(
        eddy_blocking(&kubeconfig, bootstrap(&server.url("fleet"), "wrong")).await,
        "bootstrap with a wrong password",
    );
    assert!(stderr.contains("rejected the credentials"), "{stderr}");
    assert!(stderr.contains("--password"), "{stderr}");
    let missing = server.url("no-such-repo");
    let stderr = failed(
        eddy_blocking(&kubeconfig, bootstrap(&missing, PASSWORD)).await,
        "bootstrap of a missing repository",
    );
    assert!(
        stderr.contains(&format!("cannot reach {missing}: there is no repository")),
        "{stderr}"
    );
    let stderr = failed(
        eddy_blocking(
            &kubeconfig,
            bootstrap(&server.url("fleet").replace("http://", "git@"), PASSWORD),
        )
        .await,
        "bootstrap with an scp-like URL",
    );
    assert!(stderr.contains("ssh://"), "{stderr}");
    // An http:// URL is refused unless asked for.
    let mut insecure = bootstrap(&server.url("fleet"), PASSWORD);
    insecure.retain(|arg| arg != "--allow-insecure-http");
    let stderr = failed(
        eddy_blocking(&kubeconfig, insecure).await,
        "bootstrap over plain HTTP",
    );
    assert!(stderr.contains("--allow-insecure-http"), "{stderr}");

    // An SSH key the server does not accept.
    let ssh = SshServer::start().unwrap();
    let stranger = ssh.generate_key("stranger", "").unwrap();
    let key_file = root.path().join("stranger");
    std::fs::write(&key_file, stranger).unwrap();
    let stderr = failed(
        eddy_blocking(
            &kubeconfig,
            owned(&[
                "-n",
                &ns,
                "bootstrap",
                "git",
                "--url",
                &ssh.url(&repo.bare),
                "--private-key-file",
                key_file.to_str().unwrap(),
                "--silent",
            ]),
        )
        .await,
        "bootstrap with an unauthorised SSH key",
    );
    assert!(stderr.contains("rejected the credentials"), "{stderr}");

    // Nothing reached the repository or the namespace.
    assert_eq!(git(&repo.bare, &["rev-parse", "main"]).unwrap(), before);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    assert!(secrets.get_opt("flux-system").await.unwrap().is_none());
    for kind in ["GitRepository", "Kustomization"] {
        let listed = flux_api(&client, &ns, kind)
            .list(&Default::default())
            .await
            .unwrap();
        assert!(listed.items.is_empty(), "{kind} created");
    }
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn an_ssh_key_with_a_passphrase_needs_it_and_the_secret_keeps_it() {
    let (client, namespace, kubeconfig) = setup("bootstrap-passphrase").await;
    let ns = namespace.name().to_string();
    let server = SshServer::start().unwrap();
    let locked = server.generate_key("locked", "open-sesame").unwrap();
    server.authorise_key("locked").unwrap();
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("fleet.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "--quiet", "--bare"]).unwrap();
    let key_file = root.path().join("locked");
    std::fs::write(&key_file, locked.as_str()).unwrap();
    let url = server.url(&bare);
    let bootstrap = |passphrase: &str| {
        owned(&[
            "-n",
            &ns,
            "--timeout",
            "5s",
            "bootstrap",
            "git",
            "--url",
            &url,
            "--private-key-file",
            key_file.to_str().unwrap(),
            "--password",
            passphrase,
            "--silent",
        ])
    };

    let stderr = failed(
        eddy_blocking(&kubeconfig, bootstrap("wrong")).await,
        "bootstrap with a wrong passphrase",
    );
    assert!(stderr.contains("passphrase"), "{stderr}");
    assert!(
        Api::<Secret>::namespaced(client.clone(), &ns)
            .get_opt("flux-system")
            .await
            .unwrap()
            .is_none()
    );

    // With the passphrase it pushes and stores everything; no controller runs here, so it then
    // times out waiting, which is not what this test is about.
    let output = eddy_blocking(&kubeconfig, bootstrap("open-sesame")).await;
    let stderr = failed(output, "bootstrap without controllers");
    assert!(stderr.contains("timed out"), "{stderr}");
    let secret: Secret = Api::namespaced(client.clone(), &ns)
        .get("flux-system")
        .await
        .unwrap();
    assert_eq!(decoded(&secret, "identity"), locked);
    assert_eq!(decoded(&secret, "password"), "open-sesame");
    assert_eq!(decoded(&secret, "known_hosts"), server.known_hosts());
    // The public half sits unencrypted in an OpenSSH key, so it is there despite the passphrase.
    assert!(decoded(&secret, "identity.pub").starts_with("ssh-ed25519 "));
    git(&bare, &["rev-parse", "--verify", "main"]).unwrap();
    namespace.cleanup().await.unwrap();
}
