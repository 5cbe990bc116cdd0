//! Writes a random kustomize tree (bases, optional component, one or two overlays) for the
//! differential test and the benchmark's shape. Everything is derived from one seed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// xorshift64*: tiny, deterministic, good enough to pick shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const IMAGES: &[&str] = &["nginx", "redis", "busybox", "ghcr.io/acme/api"];
const WORDS: &[&str] = &["alpha", "beta", "gamma", "delta", "web", "db", "cache"];
const KINDS: &[&str] = &[
    "Deployment",
    "Service",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "RoleBinding",
    "ClusterRoleBinding",
    "Ingress",
];

/// How a binding subject or a ServiceAccount writes its namespace: not at all, `default` written
/// out (as scaffolding tools do), or another one.
fn namespace_line(rng: &mut Rng, indent: &str) -> String {
    match rng.below(4) {
        0 | 1 => String::new(),
        2 => format!("{indent}namespace: default\n"),
        _ => format!("{indent}namespace: ns-{}\n", rng.pick(WORDS)),
    }
}

/// One to three ServiceAccount subjects (and sometimes a User), naming the base's account, the
/// `default` account or one that does not exist.
fn subjects(rng: &mut Rng, tag: &str) -> String {
    let mut text = String::from("subjects:\n");
    for _ in 0..1 + rng.below(3) {
        let kind = if rng.chance(85) {
            "ServiceAccount"
        } else {
            "User"
        };
        let name = match rng.below(4) {
            0 | 1 => format!("sa{tag}"),
            2 => "default".to_string(),
            _ => format!("ghost{tag}"),
        };
        let _ = write!(
            text,
            "- kind: {kind}\n  name: {name}\n{}",
            namespace_line(rng, "  ")
        );
    }
    text
}

/// What a base defines, so overlays can patch things that exist (and sometimes things that do not).
struct Base {
    dir: String,
    deployments: Vec<String>,
    generated_config_maps: Vec<String>,
}

fn write(root: &Path, relative: &str, content: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn resource(rng: &mut Rng, kind: &str, name: &str, app: &str, tag: &str) -> String {
    match kind {
        "Deployment" => {
            let image = rng.pick(IMAGES);
            let tag = rng.below(5);
            let replicas = if rng.chance(50) {
                format!("  replicas: {}\n", rng.below(4))
            } else {
                String::new()
            };
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  labels:\n    app: {app}\nspec:\n{replicas}  selector:\n    matchLabels:\n      app: {app}\n  template:\n    metadata:\n      labels:\n        app: {app}\n    spec:\n      serviceAccountName: sa{tag}\n      containers:\n      - name: main\n        image: {image}:1.{tag}\n        envFrom:\n        - configMapRef:\n            name: settings{tag}\n        - secretRef:\n            name: creds{tag}\n        volumeMounts:\n        - name: cfg\n          mountPath: /etc/cfg\n      volumes:\n      - name: cfg\n        configMap:\n          name: settings{tag}\n"
            )
        }
        "Service" => format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  selector:\n    app: {app}\n  ports:\n  - port: {}\n    targetPort: 8080\n",
            80 + rng.below(3)
        ),
        "ConfigMap" => format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  mode: \"{}\"\n  level: \"{}\"\n",
            rng.pick(WORDS),
            rng.below(9)
        ),
        "Secret" => format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\ntype: Opaque\ndata:\n  token: dG9rZW4=\n"
        ),
        "ServiceAccount" => {
            // Only `default` written out: another namespace would make the id differ per level.
            let namespace = if rng.chance(30) {
                "  namespace: default\n"
            } else {
                ""
            };
            format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n{namespace}")
        }
        "RoleBinding" | "ClusterRoleBinding" => format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: {name}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: view\n{}",
            subjects(rng, tag)
        ),
        _ => format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\nspec:\n  rules:\n  - host: {app}.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: {app}\n            port:\n              number: 80\n"
        ),
    }
}

fn literals(rng: &mut Rng) -> String {
    let mut text = String::from("  literals:\n");
    // Consecutive distinct keys: repeated keys are an error in both tools and compare nothing.
    let start = rng.below(WORDS.len());
    for i in 0..1 + rng.below(3) {
        let key = WORDS[(start + i) % WORDS.len()];
        let _ = writeln!(text, "  - {key}={}", rng.below(100));
    }
    text
}

fn write_base(root: &Path, rng: &mut Rng, index: usize) -> Base {
    let dir = &format!("base{index}");
    // Bases after the first get their own names: identical ids in two bases are an error.
    let tag = if index == 0 {
        String::new()
    } else {
        index.to_string()
    };
    let app = format!("{}{tag}", rng.pick(WORDS));
    let mut base = Base {
        dir: dir.to_string(),
        deployments: Vec::new(),
        generated_config_maps: Vec::new(),
    };
    let mut kustomization = String::from("resources:\n");
    let mut documents = Vec::new();
    let mut names_used = Vec::new();
    for _ in 0..2 + rng.below(5) {
        let kind = rng.pick(KINDS);
        let name = match kind {
            "ServiceAccount" => format!("sa{tag}"),
            "Service" => app.clone(),
            "ConfigMap" => format!("settings{tag}"),
            "Secret" => format!("creds{tag}"),
            _ => format!("{app}-{}", rng.pick(WORDS)),
        };
        if names_used.contains(&(kind, name.clone())) {
            continue;
        }
        names_used.push((kind, name.clone()));
        if kind == "Deployment" {
            base.deployments.push(name.clone());
        }
        documents.push(resource(rng, kind, &name, &app, &tag));
    }
    // One file with all documents, or one per document.
    if rng.chance(50) {
        write(root, &format!("{dir}/all.yaml"), &documents.join("---\n"));
        kustomization.push_str("- all.yaml\n");
    } else {
        for (i, document) in documents.iter().enumerate() {
            write(root, &format!("{dir}/r{i}.yaml"), document);
            let _ = writeln!(kustomization, "- r{i}.yaml");
        }
    }
    let has_settings = names_used.iter().any(|(k, _)| *k == "ConfigMap");
    if !has_settings && rng.chance(60) {
        base.generated_config_maps.push(format!("settings{tag}"));
        let _ = writeln!(kustomization, "configMapGenerator:\n- name: settings{tag}");
        kustomization.push_str(&literals(rng));
        if rng.chance(40) {
            write(
                root,
                &format!("{dir}/app.properties"),
                "color=blue\nsize=3\n",
            );
            kustomization.push_str("  files:\n  - app.properties\n");
        }
    }
    let has_creds = names_used.iter().any(|(k, _)| *k == "Secret");
    if !has_creds && rng.chance(30) {
        let _ = writeln!(kustomization, "secretGenerator:\n- name: creds{tag}");
        kustomization.push_str(&literals(rng));
        if rng.chance(30) {
            kustomization.push_str("  type: Opaque\n");
        }
    }
    if rng.chance(30) {
        let _ = writeln!(kustomization, "commonLabels:\n  tier: {}", rng.pick(WORDS));
    }
    write(root, &format!("{dir}/kustomization.yaml"), &kustomization);
    base
}

fn write_component(root: &Path, rng: &mut Rng, deployments: &[String]) -> String {
    let mut kustomization =
        String::from("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n");
    if deployments.is_empty() || rng.chance(50) {
        let _ = writeln!(
            kustomization,
            "commonAnnotations:\n  component: {}",
            rng.pick(WORDS)
        );
    }
    if let Some(name) = deployments.first() {
        let _ = write!(
            kustomization,
            "patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: {name}\n    spec:\n      template:\n        metadata:\n          annotations:\n            feature: enabled\n"
        );
    }
    if rng.chance(50) {
        kustomization.push_str("configMapGenerator:\n- name: feature-flags\n");
        kustomization.push_str(&literals(rng));
    }
    if rng.chance(40) {
        let _ = writeln!(
            kustomization,
            "labels:\n- pairs:\n    team: {}\n  includeSelectors: {}",
            rng.pick(WORDS),
            rng.chance(50)
        );
    }
    write(
        root,
        "components/feature/kustomization.yaml",
        &kustomization,
    );
    "components/feature".to_string()
}

fn strategic_patch(rng: &mut Rng, deployment: &str) -> String {
    match rng.below(3) {
        0 => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {deployment}\nspec:\n  replicas: {}\n",
            1 + rng.below(5)
        ),
        1 => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {deployment}\nspec:\n  template:\n    spec:\n      containers:\n      - name: main\n        env:\n        - name: MODE\n          value: {}\n",
            rng.pick(WORDS)
        ),
        _ => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {deployment}\nspec:\n  template:\n    spec:\n      containers:\n      - name: sidecar\n        image: busybox:1.{}\n",
            rng.below(4)
        ),
    }
}

fn overlay_fields(rng: &mut Rng, root: &Path, dir: &str, deployments: &[String]) -> String {
    let mut text = String::new();
    if rng.chance(50) {
        let _ = writeln!(text, "namePrefix: {}-", rng.pick(WORDS));
    }
    if rng.chance(30) {
        let _ = writeln!(text, "nameSuffix: -{}", rng.pick(WORDS));
    }
    if rng.chance(50) {
        if rng.chance(20) {
            text.push_str("namespace: default\n");
        } else {
            let _ = writeln!(text, "namespace: ns-{}", rng.pick(WORDS));
        }
    }
    if rng.chance(30) {
        // Sometimes the same key as the `labels` entries, so levels overwrite each other.
        let key = if rng.chance(30) { "team" } else { "env" };
        let _ = writeln!(text, "commonLabels:\n  {key}: {}", rng.pick(WORDS));
    }
    if rng.chance(30) {
        let _ = writeln!(
            text,
            "labels:\n- pairs:\n    team: {}\n  includeSelectors: {}\n  includeTemplates: {}",
            rng.pick(WORDS),
            rng.chance(50),
            rng.chance(50)
        );
    }
    if rng.chance(40) {
        let _ = writeln!(
            text,
            "commonAnnotations:\n  owner: {}\n  note: \"{}\"",
            rng.pick(WORDS),
            rng.below(1000)
        );
    }
    if rng.chance(50) {
        text.push_str("images:\n");
        let image = rng.pick(IMAGES);
        let _ = writeln!(text, "- name: {image}");
        match rng.below(4) {
            0 => {
                let _ = writeln!(text, "  newTag: \"2.{}\"", rng.below(9));
            }
            3 => {
                let _ = writeln!(text, "  newName: registry.local/{}", rng.pick(WORDS));
            }
            1 => {
                let _ = writeln!(text, "  newName: mirror.local/{image}\n  newTag: latest");
            }
            _ => text.push_str(
                "  digest: sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3\n",
            ),
        }
    }
    if !deployments.is_empty() && rng.chance(40) {
        let name = deployments[rng.below(deployments.len())].clone();
        let _ = writeln!(text, "replicas:\n- name: {name}\n  count: {}", rng.below(6));
    }
    let mut patches = Vec::new();
    if !deployments.is_empty() && rng.chance(60) {
        let name = deployments[rng.below(deployments.len())].clone();
        let patch = strategic_patch(rng, &name);
        if rng.chance(50) {
            write(root, &format!("{dir}/patch-{}.yaml", patches.len()), &patch);
            patches.push(format!("- path: patch-{}.yaml\n", patches.len()));
        } else {
            let indented: String = patch.lines().map(|l| format!("    {l}\n")).collect();
            patches.push(format!("- patch: |-\n{indented}"));
        }
    }
    if !deployments.is_empty() && rng.chance(50) {
        let op = match rng.below(3 + MISSING_PATH_OPS.len()) {
            extra @ 3.. => MISSING_PATH_OPS[extra - 3].to_string(),
            0 => format!(
                "- op: replace\n  path: /spec/template/spec/containers/0/image\n  value: {}:9.{}\n",
                rng.pick(IMAGES),
                rng.below(5)
            ),
            1 => "- op: add\n  path: /metadata/annotations\n  value:\n    patched: \"yes\"\n"
                .to_string(),
            _ => "- op: add\n  path: /spec/template/spec/containers/0/args\n  value: [\"--verbose\"]\n"
                .to_string(),
        };
        let target = if rng.chance(50) {
            format!(
                "    kind: Deployment\n    name: {}\n",
                deployments[rng.below(deployments.len())]
            )
        } else {
            "    kind: Deployment\n".to_string()
        };
        let indented: String = op.lines().map(|l| format!("    {l}\n")).collect();
        patches.push(format!("- target:\n{target}  patch: |-\n{indented}"));
    }
    if rng.chance(25) {
        // A strategic patch applied to every ConfigMap/Service by target selector.
        let kind = if rng.chance(50) {
            "Service"
        } else {
            "ConfigMap"
        };
        patches.push(format!(
            "- target:\n    kind: {kind}\n  patch: |-\n    apiVersion: v1\n    kind: {kind}\n    metadata:\n      name: any\n      labels:\n        patched: \"true\"\n"
        ));
    }
    if !deployments.is_empty() && rng.chance(25) {
        // A strategic merge patch on a label and a pod-template annotation that earlier levels
        // may have created in several places at once.
        let name = &deployments[rng.below(deployments.len())];
        patches.push(format!(
            "- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: {name}\n      labels:\n        team: {}\n    spec:\n      template:\n        metadata:\n          annotations:\n            owner: {}\n",
            rng.pick(WORDS),
            rng.pick(WORDS)
        ));
    }
    if !patches.is_empty() {
        text.push_str("patches:\n");
        for patch in patches {
            text.push_str(&patch);
        }
    }
    text.push_str(&deprecated_patches(rng, root, dir, deployments));
    text.push_str(&replacements(rng, deployments));
    text
}

/// JSON patch operations on keys, parents and indices that may not exist (kustomize's library is
/// looser than RFC 6902 there); some fail in both tools, which the test counts apart.
const MISSING_PATH_OPS: &[&str] = &[
    "- op: replace\n  path: /spec/template/spec/containers/0/env\n  value:\n  - name: STAGE\n    value: prod\n",
    "- op: replace\n  path: /spec/template/spec/containers/-1/name\n  value: last\n",
    "- op: add\n  path: /spec/template/spec/containers/-1\n  value:\n    name: sidecar\n    image: busybox\n",
    "- op: add\n  path: /metadata/annotations/added\n  value: \"yes\"\n",
    "- op: add\n  path: /spec/template/spec/containers/0/env/-\n  value:\n    name: A\n    value: b\n",
    "- op: remove\n  path: /metadata/labels/app\n",
    "- op: remove\n  path: /spec/template/spec/missing\n",
    "- op: copy\n  from: /spec/template/spec/missing\n  path: /spec/template/spec/copied\n",
    "- op: move\n  from: /spec/template/spec/containers/0/image\n  path: /metadata/annotations/image\n",
    "- op: test\n  path: /spec/template/spec/missing\n  value: null\n- op: replace\n  path: /spec/paused\n  value: true\n",
    "- op: replace\n  path: /spec/template/spec/containers/3/image\n  value: nginx\n",
];

/// `patchesStrategicMerge` and `patchesJson6902`, the deprecated spellings of `patches`.
fn deprecated_patches(rng: &mut Rng, root: &Path, dir: &str, deployments: &[String]) -> String {
    let mut text = String::new();
    if deployments.is_empty() {
        return text;
    }
    if rng.chance(20) {
        let name = &deployments[rng.below(deployments.len())];
        let patch = if rng.chance(50) {
            // Deleting a container that may not exist is not an error.
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n      - name: sidecar\n        $patch: delete\n"
            )
        } else {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  annotations:\n    owner: {}\nspec:\n  template:\n    metadata:\n      labels:\n        team: {}\n",
                rng.pick(WORDS),
                rng.pick(WORDS)
            )
        };
        write(root, &format!("{dir}/smp.yaml"), &patch);
        text.push_str("patchesStrategicMerge:\n- smp.yaml\n");
    }
    if rng.chance(20) {
        let name = &deployments[rng.below(deployments.len())];
        let operations = match rng.below(3) {
            0 => "- op: remove\n  path: /spec/template/spec/volumes\n".to_string(),
            1 => format!(
                "- op: add\n  path: /metadata/labels/team\n  value: {}\n",
                rng.pick(WORDS)
            ),
            _ => "- op: add\n  path: /spec/template/metadata/annotations\n  value:\n    json: patched\n"
                .to_string(),
        };
        write(root, &format!("{dir}/ops.yaml"), &operations);
        let _ = writeln!(
            text,
            "patchesJson6902:\n- target:\n    group: apps\n    version: v1\n    kind: Deployment\n    name: {name}\n  path: ops.yaml"
        );
    }
    text
}

/// A replacement copying a field of a deployment into other objects.
fn replacements(rng: &mut Rng, deployments: &[String]) -> String {
    if deployments.is_empty() || !rng.chance(30) {
        return String::new();
    }
    let name = &deployments[rng.below(deployments.len())];
    let (field_path, options) = match rng.below(4) {
        0 => ("metadata.name", ""),
        1 => ("spec.template.metadata.labels.app", ""),
        2 => (
            "spec.template.spec.containers.0.image",
            "\n    options:\n      delimiter: ':'\n      index: 1",
        ),
        _ => ("spec.template.spec.containers.0.image", ""),
    };
    let (kind, target_path) = if !options.is_empty() {
        // A delimited part written into a field that does not exist yet stays untyped in kustomize
        // until a later strategic merge patch turns it into a string; the engine does not model
        // that (README, known differences), so these go to annotations or existing string fields.
        match rng.below(2) {
            0 => ("Service", "metadata.annotations.copied"),
            _ => ("Deployment", "metadata.labels.app"),
        }
    } else {
        match rng.below(3) {
            0 => ("Service", "metadata.annotations.copied"),
            1 => ("ConfigMap", "data.copied"),
            _ => ("Deployment", "metadata.labels.team"),
        }
    };
    format!(
        "replacements:\n- source:\n    kind: Deployment\n    name: {name}\n    fieldPath: {field_path}{options}\n  targets:\n  - select:\n      kind: {kind}\n    fieldPaths:\n    - {target_path}\n    options:\n      create: true\n"
    )
}

fn generators(rng: &mut Rng, root: &Path, dir: &str, bases: &[Base]) -> String {
    let mut text = String::new();
    let generated: Vec<&String> = bases
        .iter()
        .flat_map(|b| b.generated_config_maps.iter())
        .collect();
    if rng.chance(60) {
        text.push_str("configMapGenerator:\n");
        if !generated.is_empty() && rng.chance(60) {
            let behavior = if rng.chance(70) { "merge" } else { "replace" };
            let _ = writeln!(text, "- name: {}\n  behavior: {behavior}", generated[0]);
        } else {
            let _ = writeln!(text, "- name: {dir}-extra-{}", rng.pick(WORDS));
        }
        match rng.below(3) {
            0 => text.push_str(&literals(rng)),
            1 => {
                write(
                    root,
                    &format!("{dir}/vars.env"),
                    &format!("# comment\nA={}\nB=two words\n", rng.below(50)),
                );
                text.push_str("  envs:\n  - vars.env\n");
            }
            _ => {
                write(root, &format!("{dir}/config.json"), "{\"k\": 1}\n");
                text.push_str("  files:\n  - settings.json=config.json\n");
            }
        }
        if rng.chance(20) {
            text.push_str("  options:\n    disableNameSuffixHash: true\n");
        }
    }
    if rng.chance(30) {
        let _ = writeln!(
            text,
            "secretGenerator:\n- name: {dir}-tls-{}",
            rng.pick(WORDS)
        );
        text.push_str(&literals(rng));
    }
    text
}

/// Writes one random tree under `root` and returns the directory to build.
pub fn write_tree(root: &Path, seed: u64) -> PathBuf {
    let mut rng = Rng::new(seed);
    let bases: Vec<Base> = (0..1 + rng.below(2))
        .map(|i| write_base(root, &mut rng, i))
        .collect();
    let deployments: Vec<String> = bases
        .iter()
        .flat_map(|b| b.deployments.iter().cloned())
        .collect();
    let component = if rng.chance(40) {
        Some(write_component(root, &mut rng, &deployments))
    } else {
        None
    };

    let mut first = String::from("resources:\n");
    for base in &bases {
        let _ = writeln!(first, "- ../{}", base.dir);
    }
    if let Some(component) = &component {
        let _ = writeln!(first, "components:\n- ../{component}");
    }
    first.push_str(&overlay_fields(&mut rng, root, "overlay1", &deployments));
    first.push_str(&generators(&mut rng, root, "overlay1", &bases));
    write(root, "overlay1/kustomization.yaml", &first);
    if rng.chance(50) {
        return root.join("overlay1");
    }

    let mut second = String::from("resources:\n- ../overlay1\n");
    if rng.chance(30) {
        let extra = resource(&mut rng, "ConfigMap", "standalone", "top", "");
        write(root, "overlay2/standalone.yaml", &extra);
        second.push_str("- standalone.yaml\n");
    }
    // Names the second overlay sees already carry the first overlay's prefix/suffix; patches
    // that name bare base names exercise the engine's lookup by original name as kustomize does.
    second.push_str(&overlay_fields(&mut rng, root, "overlay2", &deployments));
    second.push_str(&generators(&mut rng, root, "overlay2", &[]));
    write(root, "overlay2/kustomization.yaml", &second);
    if rng.chance(60) {
        return root.join("overlay2");
    }
    let mut third = String::from("resources:\n- ../overlay2\n");
    third.push_str(&overlay_fields(&mut rng, root, "overlay3", &deployments));
    write(root, "overlay3/kustomization.yaml", &third);
    root.join("overlay3")
}
