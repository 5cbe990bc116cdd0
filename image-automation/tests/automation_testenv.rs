//! image-automation-controller in-process against the shared testenv and a real Git server
//! (`git http-backend`): pushes that change only the marked values, the tutorial's v1beta1
//! automation as written, a separate push branch, signing, and the bad-input list — each bad
//! input reported with Flux's reason and the repository left untouched.
//!
//! Each test runs its own controller, watching only automations labelled with its namespace, so
//! the tests can run side by side. ImagePolicy statuses are written by the tests themselves
//! (image-reflector-controller has its own tests; the whole loop is in the e2e crate).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use clap::Parser;
use eddy_api::image::{ImagePolicy, ImageUpdateAutomation};
use eddy_image_automation::args::AutomationArgs;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot, TestRepo, git};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client,
    api::{DynamicObject, ListParams, Patch, PatchParams, PostParams},
    core::{ApiResource, GroupVersionKind},
};
use serde_json::{Value, json};
use tokio_util::sync::{CancellationToken, DropGuard};

const TIMEOUT: Duration = Duration::from_secs(90);
const LABEL: &str = "eddy.test/automation";

const DEPLOYMENT: &str = "\
# The app's Deployment; the image line carries the marker.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: myapp   # keep this comment
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: myapp
          image: \"registry.local/myapp:1.0.0\" # {\"$imagepolicy\": \"NS:myapp\"}
          args: ['--port', \"8080\"]
";

/// A namespace, a Git server with one repository (branch `main`), a GitRepository pointing at
/// it and a controller watching this test's automations.
struct Fixture {
    client: Client,
    namespace: eddy_test_support::TestNamespace,
    ns: String,
    repo: TestRepo,
    _root: RepoRoot,
    server: GitHttpServer,
    _controller: DropGuard,
}

impl Fixture {
    async fn new(prefix: &str, writable: bool, files: &[(&str, &str)]) -> Fixture {
        let client = eddy_test_support::client().await.unwrap();
        eddy_test_support::install_crds(&client).await.unwrap();
        let namespace = eddy_test_support::TestNamespace::new(&client, prefix)
            .await
            .unwrap();
        let ns = namespace.name().to_owned();
        let root = RepoRoot::new().unwrap();
        let repo = root.create("config").unwrap();
        repo.git(&["checkout", "-q", "-b", "main"]).unwrap();
        for (path, text) in files {
            repo.write(path, text.replace("NS:", &format!("{ns}:")))
                .unwrap();
        }
        repo.commit_all("initial").unwrap();
        repo.push("main").unwrap();
        if writable {
            git(&repo.bare, &["config", "http.receivepack", "true"]).unwrap();
        }
        let server = GitHttpServer::start(root.path(), HttpServerOptions::default())
            .await
            .unwrap();
        let controller = start_controller(&client, &ns);
        let fixture = Fixture {
            client,
            namespace,
            ns,
            repo,
            _root: root,
            server,
            _controller: controller.drop_guard(),
        };
        fixture
            .create(json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "metadata": {"name": "config"},
                "spec": {"url": fixture.server.url("config"), "interval": "10m", "ref": {"branch": "main"}},
            }))
            .await;
        fixture
    }

    fn remote_head(&self, branch: &str) -> Option<String> {
        git(
            &self.repo.bare,
            &[
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{branch}"),
            ],
        )
        .ok()
    }

    fn remote_git(&self, args: &[&str]) -> String {
        git(&self.repo.bare, args).unwrap()
    }

    async fn create(&self, mut object: Value) {
        object["metadata"]["namespace"] = self.ns.clone().into();
        let (group, version) = object["apiVersion"]
            .as_str()
            .unwrap()
            .split_once('/')
            .unwrap();
        let gvk = GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.ns, &ApiResource::from_gvk(&gvk));
        let object: DynamicObject = serde_json::from_value(object).unwrap();
        api.create(&PostParams::default(), &object).await.unwrap();
    }

    /// An ImagePolicy whose status says it selected `image:tag` (as the reflector would write).
    async fn policy(&self, namespace: &str, name: &str, image: &str, tag: &str) {
        let api: Api<ImagePolicy> = Api::namespaced(self.client.clone(), namespace);
        let policy: ImagePolicy = serde_json::from_value(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1",
            "kind": "ImagePolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"imageRepositoryRef": {"name": name}, "policy": {"semver": {"range": ">=1.0.0"}}},
        }))
        .unwrap();
        if api.get_opt(name).await.unwrap().is_none() {
            api.create(&PostParams::default(), &policy).await.unwrap();
        }
        let status = json!({"status": {"latestRef": {"name": image, "tag": tag}}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
    }

    async fn secret(&self, name: &str, data: Value) {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns);
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name}, "stringData": data,
        }))
        .unwrap();
        api.create(&PostParams::default(), &secret).await.unwrap();
    }

    /// The v1 automation of this test with `spec` merged over a minimal one.
    async fn automation(&self, spec: Value) {
        let mut base = json!({
            "interval": "10m",
            "sourceRef": {"kind": "GitRepository", "name": "config"},
            "git": {"commit": {"author": {"name": "Eddy Bot", "email": "bot@example.com"}}},
            "update": {"path": "./apps", "strategy": "Setters"},
        });
        merge(&mut base, spec);
        self.create(json!({
            "apiVersion": "image.toolkit.fluxcd.io/v1",
            "kind": "ImageUpdateAutomation",
            "metadata": {"name": "auto", "labels": {LABEL: self.ns.clone()}},
            "spec": base,
        }))
        .await;
    }

    fn automations(&self) -> Api<ImageUpdateAutomation> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Waits for the automation's Ready condition of its current generation with `status`.
    async fn wait_ready(&self, status: &str) -> (String, String, ImageUpdateAutomation) {
        let api = self.automations();
        eddy_test_support::wait_for(format!("automation Ready={status}"), TIMEOUT, async || {
            let automation = api.get("auto").await?;
            let ready = automation
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .filter(|c| {
                    c.status == status && c.observed_generation == automation.metadata.generation
                })
                .map(|c| (c.reason.clone(), c.message.clone()));
            Ok(ready.map(|(reason, message)| (reason, message, automation)))
        })
        .await
        .unwrap()
    }

    async fn request_reconcile(&self, token: &str) {
        let request =
            json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
        self.automations()
            .patch("auto", &PatchParams::default(), &Patch::Merge(&request))
            .await
            .unwrap();
        let api = self.automations();
        eddy_test_support::wait_for("requestedAt handled", TIMEOUT, async || {
            let automation = api.get("auto").await?;
            Ok(automation
                .status
                .and_then(|s| s.last_handled_reconcile_at)
                .filter(|handled| handled == token))
        })
        .await
        .unwrap();
    }

    async fn events(&self) -> Vec<(String, String)> {
        let api: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(self.client.clone(), &self.ns);
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|event| {
                (
                    event.reason.unwrap_or_default(),
                    event.message.unwrap_or_default(),
                )
            })
            .collect()
    }

    async fn cleanup(self) {
        let api = self.automations();
        // Let the controller release its finalizer before the namespace goes.
        let _ = api.delete("auto", &Default::default()).await;
        let _ = eddy_test_support::wait_for("automation deleted", TIMEOUT, async || {
            Ok(api.get_opt("auto").await?.is_none().then_some(()))
        })
        .await;
        self.namespace.cleanup().await.unwrap();
    }
}

fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, patch) => *base = patch,
    }
}

fn start_controller(client: &Client, ns: &str) -> CancellationToken {
    eddy_runtime::tls::install_crypto_provider();
    let args = AutomationArgs::try_parse_from([
        "image-automation-controller",
        "--metrics-addr=127.0.0.1:0",
        "--health-addr=127.0.0.1:0",
        "--min-retry-delay=200ms",
        "--max-retry-delay=2s",
        &format!("--watch-label-selector={LABEL}={ns}"),
    ])
    .unwrap();
    if std::env::var_os("EDDY_TEST_LOGS").is_some() {
        eddy_runtime::logging::init(args.common.log_level, args.common.log_encoding);
    }
    let process = Arc::new(ControllerProcess {
        name: "image-automation-controller",
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    });
    let stop = CancellationToken::new();
    tokio::spawn(eddy_image_automation::automation::run::run_reconciler(
        process,
        args,
        stop.clone(),
    ));
    stop
}

/// A failure that leaves the repository as it was: Flux's reason on Ready=False, an event with
/// that reason, no commit on any branch.
async fn expect_failure(fixture: &Fixture, reason: &str, stalled: bool) -> String {
    let before = fixture.remote_git(&["for-each-ref"]);
    let (got_reason, message, automation) = fixture.wait_ready("False").await;
    assert_eq!(got_reason, reason, "{message}");
    let conditions = automation.status.unwrap().conditions.unwrap();
    let is_stalled = conditions
        .iter()
        .any(|c| c.type_ == "Stalled" && c.status == "True");
    assert_eq!(is_stalled, stalled, "Stalled for {reason}: {message}");
    // The event is recorded after the status is written.
    eddy_test_support::wait_for(format!("a {reason} event"), TIMEOUT, async || {
        let events = fixture.events().await;
        Ok(events.iter().any(|(r, _)| r == reason).then_some(()))
    })
    .await
    .unwrap();
    assert_eq!(fixture.remote_git(&["for-each-ref"]), before);
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_the_new_tag_changing_only_the_marked_value() {
    let fixture = Fixture::new(
        "iac-push",
        true,
        &[
            ("apps/deploy.yaml", DEPLOYMENT),
            ("README.md", "not yaml: ["),
        ],
    )
    .await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    let before = fixture.remote_head("main").unwrap();
    fixture
        .automation(json!({"git": {"commit": {
            "messageTemplate": "Bump by {{ .AutomationObject.Name }} for {{ .Values.team }}\n{{ range $object, $changes := .Changed.Objects }}{{ $object.Kind }}/{{ $object.Name }}:{{ range $changes }} {{ .OldValue }} -> {{ .NewValue }}{{ end }}{{ end }}",
            "messageTemplateValues": {"team": "web"},
        }}}))
        .await;
    let (reason, message, automation) = fixture.wait_ready("True").await;
    assert_eq!(
        (reason.as_str(), message.as_str()),
        ("Succeeded", "repository up-to-date")
    );
    let after = fixture.remote_head("main").unwrap();
    assert_ne!(after, before);
    let status = automation.status.unwrap();
    assert_eq!(status.last_push_commit.as_deref(), Some(after.as_str()));
    assert!(status.last_push_time.is_some() && status.last_automation_run_time.is_some());
    assert_eq!(
        status.observed_source_revision,
        Some(format!("main@sha1:{before}"))
    );
    assert_eq!(status.observed_policies.unwrap()["myapp"].tag, "1.0.1");

    let diff = fixture.remote_git(&["diff", "-U0", &before, &after]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|line| {
            (line.starts_with('+') || line.starts_with('-'))
                && !line.starts_with("+++")
                && !line.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        vec![
            format!(
                "-          image: \"registry.local/myapp:1.0.0\" # {{\"$imagepolicy\": \"{ns}:myapp\"}}"
            ),
            format!(
                "+          image: \"registry.local/myapp:1.0.1\" # {{\"$imagepolicy\": \"{ns}:myapp\"}}"
            ),
        ]
    );
    let commit = fixture.remote_git(&["log", "-1", "--format=%an <%ae>%n%B", &after]);
    assert_eq!(
        commit,
        "Eddy Bot <bot@example.com>\nBump by auto for web\nDeployment/myapp: registry.local/myapp:1.0.0 -> registry.local/myapp:1.0.1"
    );
    let short = after[..7].to_owned();
    eddy_test_support::wait_for("the push event", TIMEOUT, async || {
        let events = fixture.events().await;
        let prefix = format!("pushed commit '{short}' to branch 'main'");
        Ok(events
            .iter()
            .any(|(_, m)| m.starts_with(&prefix))
            .then_some(()))
    })
    .await
    .unwrap();

    // Nothing changed since: another run pushes nothing.
    fixture.request_reconcile("again").await;
    assert_eq!(fixture.remote_head("main").unwrap(), after);
    fixture.cleanup().await;
}

/// The tutorial's ImageUpdateAutomation exactly as written (v1beta1, the template ranging over
/// the root) renders Eddy's file → new values message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorial_v1beta1_automation_as_written() {
    let fixture = Fixture::new(
        "iac-tutorial",
        true,
        &[("apps/myapp/deployment.yaml", DEPLOYMENT)],
    )
    .await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/seed/examples/image-automation-v1beta1.yaml"
    );
    let text = std::fs::read_to_string(seed).unwrap();
    let mut automation: Value = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| {
            serde_json::to_value(
                <serde_yaml_ng::Value as serde::Deserialize>::deserialize(document).unwrap(),
            )
            .unwrap()
        })
        .find(|object| object["kind"] == "ImageUpdateAutomation")
        .unwrap();
    automation["metadata"]["name"] = "auto".into();
    automation["metadata"]["labels"] = json!({LABEL: ns});
    automation["spec"]["sourceRef"]["name"] = "config".into();
    fixture.create(automation).await;
    fixture.wait_ready("True").await;
    let message = fixture.remote_git(&["log", "-1", "--format=%B", "main"]);
    assert_eq!(
        message,
        "Update image to deployment.yaml: registry.local/myapp:1.0.1"
    );
    assert_eq!(
        fixture.remote_git(&["log", "-1", "--format=%an", "main"]),
        "Flux"
    );
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_push_branch_is_created_and_left_alone_when_current() {
    let fixture = Fixture::new("iac-branch", true, &[("apps/deploy.yaml", DEPLOYMENT)]).await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    let main = fixture.remote_head("main").unwrap();
    fixture
        .automation(json!({"git": {"push": {"branch": "image-updates", "refspec": "refs/heads/main:refs/heads/mirror"}}}))
        .await;
    fixture.wait_ready("True").await;
    assert_eq!(
        fixture.remote_head("main").unwrap(),
        main,
        "the checkout branch is not touched"
    );
    let pushed = fixture.remote_head("image-updates").unwrap();
    assert_eq!(
        fixture.remote_git(&["rev-parse", &format!("{pushed}^")]),
        main
    );
    assert_eq!(
        fixture.remote_head("mirror").unwrap(),
        main,
        "the refspec pushed the local main"
    );
    fixture.request_reconcile("again").await;
    assert_eq!(fixture.remote_head("image-updates").unwrap(), pushed);
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_are_signed_and_a_wrong_passphrase_stalls() {
    let key = gpg_key("right");
    let fixture = Fixture::new("iac-sign", true, &[("apps/deploy.yaml", DEPLOYMENT)]).await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    fixture
        .secret("wrong", json!({"git.asc": key, "passphrase": "wrong"}))
        .await;
    fixture
        .secret("right", json!({"git.asc": key, "passphrase": "right"}))
        .await;
    fixture
        .automation(json!({"git": {"commit": {"signingKey": {"secretRef": {"name": "wrong"}}}}}))
        .await;
    let message = expect_failure(&fixture, "GitOperationFailed", true).await;
    assert!(message.contains("passphrase"), "{message}");
    let patch =
        json!({"spec": {"git": {"commit": {"signingKey": {"secretRef": {"name": "right"}}}}}});
    fixture
        .automations()
        .patch("auto", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    fixture.wait_ready("True").await;
    let raw = fixture.remote_git(&["cat-file", "-p", "main"]);
    assert!(
        raw.contains("gpgsig -----BEGIN PGP SIGNATURE-----"),
        "{raw}"
    );
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_key_that_does_not_parse_stalls() {
    let fixture = Fixture::new("iac-badkey", true, &[("apps/deploy.yaml", DEPLOYMENT)]).await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    fixture.secret("key", json!({"git.asc": "not a key"})).await;
    fixture
        .automation(json!({"git": {"commit": {"signingKey": {"secretRef": {"name": "key"}}}}}))
        .await;
    let message = expect_failure(&fixture, "GitOperationFailed", true).await;
    assert!(message.contains("OpenPGP key cannot be read"), "{message}");
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_without_write_access_is_reported() {
    let fixture = Fixture::new("iac-readonly", false, &[("apps/deploy.yaml", DEPLOYMENT)]).await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    fixture.automation(json!({})).await;
    let message = expect_failure(&fixture, "GitOperationFailed", false).await;
    assert!(
        message.contains("push") || message.contains("403"),
        "{message}"
    );
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_that_does_not_exist_is_reported() {
    let fixture = Fixture::new("iac-nobranch", true, &[("apps/deploy.yaml", DEPLOYMENT)]).await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    fixture
        .automation(json!({"git": {"checkout": {"ref": {"branch": "nope"}}}}))
        .await;
    let message = expect_failure(&fixture, "GitOperationFailed", false).await;
    assert!(message.contains("branch 'nope' not found"), "{message}");
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_that_do_not_parse_fail_at_run_time_or_use_updated_are_reported() {
    let fixture = Fixture::new("iac-template", true, &[("apps/deploy.yaml", DEPLOYMENT)]).await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    fixture
        .automation(json!({"git": {"commit": {"messageTemplate": "{{ range }"}}}))
        .await;
    let message = expect_failure(&fixture, "GitOperationFailed", true).await;
    assert!(message.contains("cannot be parsed"), "{message}");
    let set_template = async |template: &str| {
        let patch = json!({"spec": {"git": {"commit": {"messageTemplate": template}}}});
        fixture
            .automations()
            .patch("auto", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    };
    set_template("{{ .Changed.Nope }}").await;
    let message = expect_failure(&fixture, "GitOperationFailed", false).await;
    assert!(message.contains("failed to render"), "{message}");
    set_template("{{ range .Updated.Images }}{{ . }}{{ end }}").await;
    let message = expect_failure(&fixture, "RemovedTemplateField", true).await;
    assert!(message.contains(".Changed"), "{message}");
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_yaml_beside_good_files_is_reported_by_name() {
    let fixture = Fixture::new(
        "iac-broken",
        true,
        &[
            ("apps/deploy.yaml", DEPLOYMENT),
            ("apps/broken.yaml", "kind: [unclosed\n"),
        ],
    )
    .await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    fixture.automation(json!({})).await;
    let message = expect_failure(&fixture, "UpdateFailed", false).await;
    assert!(message.contains("'broken.yaml'"), "{message}");
    fixture.cleanup().await;
}

/// A marker naming a policy in another namespace (never applied: automations only read their
/// own namespace's policies) or a policy that does not exist leaves the file alone, as on Flux.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markers_for_other_namespaces_or_missing_policies_change_nothing() {
    let files = [(
        "apps/deploy.yaml",
        "a: x:1 # {\"$imagepolicy\": \"other-OTHER:myapp\"}\nb: x:1 # {\"$imagepolicy\": \"NS:missing\"}\n",
    )];
    let fixture = Fixture::new("iac-foreign", true, &[]).await;
    let other = eddy_test_support::TestNamespace::new(&fixture.client, "iac-other")
        .await
        .unwrap();
    let text = files[0]
        .1
        .replace("other-OTHER", other.name())
        .replace("NS:", &format!("{}:", fixture.ns));
    fixture.repo.write(files[0].0, text).unwrap();
    fixture.repo.commit_all("markers").unwrap();
    fixture.repo.push("main").unwrap();
    fixture
        .policy(other.name(), "myapp", "registry.local/myapp", "1.0.1")
        .await;
    let before = fixture.remote_head("main").unwrap();
    fixture.automation(json!({})).await;
    let (reason, _, automation) = fixture.wait_ready("True").await;
    assert_eq!(reason, "Succeeded");
    assert_eq!(fixture.remote_head("main").unwrap(), before);
    let status = automation.status.unwrap();
    assert!(status.last_push_commit.is_none());
    assert_eq!(status.observed_policies, Some(Default::default()));
    other.cleanup().await.unwrap();
    fixture.cleanup().await;
}

/// An armored OpenPGP secret key protected by `passphrase`, made by gpg.
fn gpg_key(passphrase: &str) -> String {
    let home = tempfile::tempdir().unwrap();
    let gpg = |args: &[&str]| {
        let output = std::process::Command::new("gpg")
            .arg("--homedir")
            .arg(home.path())
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                passphrase,
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    gpg(&[
        "--quick-gen-key",
        "Eddy Bot <bot@example.com>",
        "ed25519",
        "sign",
        "never",
    ]);
    gpg(&["--armor", "--export-secret-keys", "bot@example.com"])
}

/// A field Eddy cannot act on stalls the automation before anything is cloned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_signing_keys_are_refused_as_not_supported() {
    let fixture = Fixture::new("iac-sshsign", true, &[("apps/deploy.yaml", DEPLOYMENT)]).await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    fixture
        .automation(json!({"git": {"commit": {"signingKey": {"secretRef": {"name": "key"}, "type": "ssh"}}}}))
        .await;
    let message = expect_failure(&fixture, "NotSupported", true).await;
    assert_eq!(
        message,
        "spec.git.commit.signingKey.type 'ssh' is not supported yet"
    );
    fixture.cleanup().await;
}

/// Eddy's opt-in hold: after someone rolls the automation's tag back in Git, the automation keeps
/// the rollback (visible in `status.holds`) until its policy selects a newer image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_rollback_is_held_until_the_policy_moves_on() {
    let fixture = Fixture::new("iac-hold", true, &[("apps/deploy.yaml", DEPLOYMENT)]).await;
    let ns = fixture.ns.clone();
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.1")
        .await;
    fixture.automation(json!({"interval": "1h"})).await;
    let annotation =
        json!({"metadata": {"annotations": {"image.eddy.dev/hold-manual-changes": "true"}}});
    fixture
        .automations()
        .patch("auto", &PatchParams::default(), &Patch::Merge(&annotation))
        .await
        .unwrap();
    fixture.wait_ready("True").await;
    let api = fixture.automations();
    eddy_test_support::wait_for("the first push", TIMEOUT, async || {
        Ok(api
            .get("auto")
            .await?
            .status
            .and_then(|s| s.last_push_commit))
    })
    .await
    .unwrap();

    // A person rolls back to 1.0.0 in Git.
    fixture.repo.git(&["pull", "-q", "origin", "main"]).unwrap();
    fixture
        .repo
        .write(
            "apps/deploy.yaml",
            DEPLOYMENT.replace("NS:", &format!("{ns}:")),
        )
        .unwrap();
    let rollback = fixture.repo.commit_all("roll back to 1.0.0").unwrap();
    fixture.repo.push("main").unwrap();
    fixture.request_reconcile("after-rollback").await;
    assert_eq!(
        fixture.remote_head("main").unwrap(),
        rollback,
        "the rollback is kept"
    );
    let holds = api
        .get("auto")
        .await
        .unwrap()
        .status
        .unwrap()
        .holds
        .unwrap();
    assert_eq!(holds.len(), 1);
    assert_eq!(holds[0].file, "deploy.yaml");
    assert_eq!(holds[0].value, "registry.local/myapp:1.0.0");
    assert_eq!(holds[0].policy_value, "registry.local/myapp:1.0.1");

    // Releasing the holds (what `eddy image release` asks, with a reconcile request) sets the
    // marker to the policy's image.
    let release = json!({"metadata": {"annotations": {
        "image.eddy.dev/release-holds": "r1",
        "reconcile.fluxcd.io/requestedAt": "r1",
    }}});
    api.patch("auto", &PatchParams::default(), &Patch::Merge(&release))
        .await
        .unwrap();
    eddy_test_support::wait_for("the released marker pushed", TIMEOUT, async || {
        let text = fixture.remote_git(&["show", "main:apps/deploy.yaml"]);
        let status = api.get("auto").await?.status.unwrap_or_default();
        let handled = status.last_handled_hold_release.as_deref() == Some("r1");
        Ok((text.contains("myapp:1.0.1") && status.holds.is_none() && handled).then_some(()))
    })
    .await
    .unwrap();

    // A newer image releases the hold.
    fixture
        .policy(&ns, "myapp", "registry.local/myapp", "1.0.2")
        .await;
    eddy_test_support::wait_for(
        "the push of 1.0.2 and the hold released",
        TIMEOUT,
        async || {
            let text = fixture.remote_git(&["show", "main:apps/deploy.yaml"]);
            let status = api.get("auto").await?.status.unwrap_or_default();
            Ok((text.contains("myapp:1.0.2") && status.holds.is_none()).then_some(()))
        },
    )
    .await
    .unwrap();
    fixture.cleanup().await;
}
