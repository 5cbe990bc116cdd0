//! The install manifests in `config/`: they render identically with the native engine and
//! `kubectl kustomize`, follow Flux's conventions (names, labels, flags, probes, security), grant
//! each controller only what it uses, and pass the API server's validation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::BTreeSet, process::Command};

use kube::{
    Api,
    api::{DynamicObject, Patch, PatchParams},
    discovery::{Scope, pinned_kind},
};
use serde::Deserialize;
use serde_json::Value;
use support::workspace;

const CONTROLLERS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
];

fn render_native() -> String {
    eddy_kustomize::build(
        &workspace().join("config/default"),
        &eddy_kustomize::BuildOptions::new(&workspace()).unwrap(),
    )
    .unwrap()
}

fn objects() -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(&render_native())
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|value| !value.is_null())
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|object| object["kind"] == kind && object["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn config_default_renders_byte_for_byte_like_kubectl() {
    let oracle = Command::new("kubectl")
        .arg("kustomize")
        .arg(workspace().join("config/default"))
        .output()
        .unwrap();
    assert!(
        oracle.status.success(),
        "{}",
        String::from_utf8_lossy(&oracle.stderr)
    );
    let native = render_native();
    let kubectl = String::from_utf8(oracle.stdout).unwrap();
    let first_difference = native
        .lines()
        .zip(kubectl.lines())
        .enumerate()
        .find(|(_, (ours, theirs))| ours != theirs);
    assert!(
        native == kubectl,
        "the native engine and kubectl disagree; first differing line: {first_difference:?}"
    );
}

#[test]
fn the_crd_kustomization_lists_exactly_the_generated_crds() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(workspace().join("config/crd/bases"))
        .unwrap()
        .map(|entry| format!("bases/{}", entry.unwrap().file_name().to_string_lossy()))
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    let kustomization: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(workspace().join("config/crd/kustomization.yaml")).unwrap(),
    )
    .unwrap();
    let listed: BTreeSet<String> = kustomization["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        listed, on_disk,
        "config/crd/kustomization.yaml is out of step with config/crd/bases"
    );
}

#[test]
fn every_object_carries_flux_labels_and_the_crate_version() {
    let version = format!("v{}", env!("CARGO_PKG_VERSION"));
    let objects = objects();
    for object in &objects {
        let labels = &object["metadata"]["labels"];
        let id = format!("{} {}", object["kind"], object["metadata"]["name"]);
        assert_eq!(labels["app.kubernetes.io/part-of"], "flux", "{id}");
        assert_eq!(labels["app.kubernetes.io/instance"], "flux-system", "{id}");
        assert_eq!(
            labels["app.kubernetes.io/version"],
            version.as_str(),
            "{id}"
        );
        if object["kind"] != "Namespace" && object["kind"] != "CustomResourceDefinition" {
            let cluster_scoped =
                ["ClusterRole", "ClusterRoleBinding"].contains(&object["kind"].as_str().unwrap());
            if !cluster_scoped {
                assert_eq!(object["metadata"]["namespace"], "flux-system", "{id}");
            }
        }
    }
    let crds = objects
        .iter()
        .filter(|object| object["kind"] == "CustomResourceDefinition")
        .count();
    assert_eq!(crds, 14);
    for controller in CONTROLLERS {
        let deployment = find(&objects, "Deployment", controller);
        assert_eq!(
            deployment["metadata"]["labels"]["app.kubernetes.io/component"],
            *controller
        );
        let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap();
        assert_eq!(image, format!("ghcr.io/eddy-gitops/{controller}:{version}"));
    }
}

#[test]
fn deployments_follow_flux_conventions() {
    let objects = objects();
    for controller in CONTROLLERS {
        let deployment = find(&objects, "Deployment", controller);
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], *controller);
        assert_eq!(pod["securityContext"]["fsGroup"], 1337);
        let container = &pod["containers"][0];
        let security = &container["securityContext"];
        assert_eq!(security["runAsNonRoot"], true, "{controller}");
        assert_eq!(security["readOnlyRootFilesystem"], true, "{controller}");
        assert_eq!(security["allowPrivilegeEscalation"], false, "{controller}");
        assert_eq!(security["capabilities"]["drop"][0], "ALL", "{controller}");
        assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|arg| arg.as_str().unwrap())
            .collect();
        for flag in [
            "--watch-all-namespaces",
            "--log-level=info",
            "--log-encoding=json",
            "--enable-leader-election",
        ] {
            assert!(args.contains(&flag), "{controller} lacks {flag}");
        }
        let events = "--events-addr=http://notification-controller.flux-system.svc.cluster.local./";
        assert_eq!(
            args.contains(&events),
            *controller != "notification-controller",
            "{controller}: --events-addr"
        );
        assert_eq!(container["env"][0]["name"], "RUNTIME_NAMESPACE");
        assert_eq!(
            container["env"][0]["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.namespace"
        );
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        let ports: Vec<(i64, &str)> = container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|port| {
                (
                    port["containerPort"].as_i64().unwrap(),
                    port["name"].as_str().unwrap(),
                )
            })
            .collect();
        assert!(ports.contains(&(9440, "healthz")), "{controller}");
        assert!(ports.contains(&(8080, "http-prom")), "{controller}");
        assert_eq!(container["resources"]["limits"]["memory"], "1Gi");
        assert_eq!(container["resources"]["limits"]["cpu"], "1000m");
        assert_eq!(container["resources"]["requests"]["memory"], "64Mi");
    }
    let source = find(&objects, "Deployment", "source-controller");
    let args = &source["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(
        args.as_array()
            .unwrap()
            .contains(&Value::from("--storage-path=/data"))
    );
    assert!(args.as_array().unwrap().contains(&Value::from(
        "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local."
    )));
    let grace = |name: &str| {
        find(&objects, "Deployment", name)["spec"]["template"]["spec"]
            ["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(grace("helm-controller"), 600);
    assert_eq!(grace("kustomize-controller"), 60);
    assert_eq!(grace("source-controller"), 10);
}

#[test]
fn services_route_to_the_named_ports() {
    let objects = objects();
    for (service, selector, target) in [
        ("source-controller", "source-controller", "http"),
        ("notification-controller", "notification-controller", "http"),
        (
            "webhook-receiver",
            "notification-controller",
            "http-webhook",
        ),
    ] {
        let object = find(&objects, "Service", service);
        assert_eq!(object["spec"]["selector"]["app"], selector);
        assert_eq!(object["spec"]["ports"][0]["port"], 80);
        assert_eq!(object["spec"]["ports"][0]["targetPort"], target);
        // The target port must exist on the selected Deployment's container.
        let deployment = find(&objects, "Deployment", selector);
        let ports = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_array()
            .unwrap();
        assert!(ports.iter().any(|port| port["name"] == target), "{service}");
    }
    for policy in ["allow-egress", "allow-scraping", "allow-webhooks"] {
        find(&objects, "NetworkPolicy", policy);
    }
}

/// `(apiGroup, resource, verb)` triples a ClusterRole grants.
fn grants(role: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    out.insert((
                        group.as_str().unwrap().to_string(),
                        resource.as_str().unwrap().to_string(),
                        verb.as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn each_controller_gets_only_what_it_uses() {
    let objects = objects();
    for controller in CONTROLLERS {
        let role = grants(find(&objects, "ClusterRole", controller));
        assert!(
            !role.iter().any(|(_, _, verb)| verb == "*"),
            "{controller} has a wildcard verb"
        );
        assert!(
            !role
                .iter()
                .any(|(group, _, _)| group == "apps" || group == "*"),
            "{controller} may touch workloads"
        );
        assert!(
            !role.iter().any(|(group, resource, verb)| group.is_empty()
                && resource == "secrets"
                && ["create", "update", "patch", "delete"].contains(&verb.as_str())),
            "{controller} may write Secrets"
        );
        let binding = find(&objects, "ClusterRoleBinding", controller);
        assert_eq!(binding["subjects"][0]["name"], *controller);
        assert_eq!(binding["subjects"][0]["namespace"], "flux-system");
    }
    let source = grants(find(&objects, "ClusterRole", "source-controller"));
    assert!(source.contains(&(
        "source.toolkit.fluxcd.io".into(),
        "gitrepositories/status".into(),
        "patch".into()
    )));
    assert!(
        !source
            .iter()
            .any(|(group, _, _)| group == "kustomize.toolkit.fluxcd.io")
    );
    // Only the two appliers act as cluster-admin.
    let reconciler = find(&objects, "ClusterRoleBinding", "cluster-reconciler");
    assert_eq!(reconciler["roleRef"]["name"], "cluster-admin");
    let subjects: BTreeSet<&str> = reconciler["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|subject| subject["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        BTreeSet::from(["kustomize-controller", "helm-controller"])
    );
    let admins = objects
        .iter()
        .filter(|object| object["roleRef"]["name"] == "cluster-admin")
        .count();
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn the_manifests_pass_a_server_side_dry_run() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let objects = objects();
    // A dry run stores nothing, so objects in flux-system can only be validated once the
    // namespace really exists.
    let namespace = find(&objects, "Namespace", "flux-system");
    let namespaces: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Namespace>(&()),
    );
    namespaces
        .patch(
            "flux-system",
            &PatchParams::apply("eddy-cli-test").force(),
            &Patch::Apply(namespace),
        )
        .await
        .unwrap();
    let mut dry_run = PatchParams::apply("eddy-cli-test").force();
    dry_run.dry_run = true;
    for object in &objects {
        let api_version = object["apiVersion"].as_str().unwrap();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let kind = object["kind"].as_str().unwrap();
        let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
        let (resource, capabilities) = pinned_kind(&client, &gvk).await.unwrap();
        let api: Api<DynamicObject> = match capabilities.scope {
            Scope::Cluster => Api::all_with(client.clone(), &resource),
            Scope::Namespaced => Api::namespaced_with(client.clone(), "flux-system", &resource),
        };
        let name = object["metadata"]["name"].as_str().unwrap();
        api.patch(name, &dry_run, &Patch::Apply(object))
            .await
            .unwrap_or_else(|error| panic!("{kind} {name} was rejected: {error}"));
    }
}

#[test]
fn the_dockerfile_has_a_target_for_every_deployed_controller() {
    let dockerfile = std::fs::read_to_string(workspace().join("Dockerfile")).unwrap();
    for controller in CONTROLLERS {
        assert!(
            dockerfile.contains(&format!("FROM base AS {controller}\n")),
            "no Dockerfile target {controller}"
        );
        assert!(
            dockerfile.contains(&format!("--bin {controller}")),
            "the build stage does not build {controller}"
        );
    }
}

#[test]
fn install_export_prints_the_manifests_and_a_closed_pipe_ends_it_quietly() {
    let full = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args([
            "install",
            "--export",
            "--components-extra",
            "image-reflector-controller,image-automation-controller",
        ])
        .output()
        .unwrap();
    assert!(
        full.status.success(),
        "{}",
        String::from_utf8_lossy(&full.stderr)
    );
    let text = String::from_utf8(full.stdout).unwrap();
    let deployments = text.matches("\nkind: Deployment\n").count();
    assert_eq!(deployments, CONTROLLERS.len(), "{text}");
    // The export is far larger than a pipe's buffer: reading one line and closing the pipe
    // makes the next write fail, which must end the program without a panic or a trace.
    let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(["install", "--export"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    assert_eq!(first, "---\n");
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(141), "{stderr}");
}
