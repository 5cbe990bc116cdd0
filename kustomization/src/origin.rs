//! `config.kubernetes.io/origin` annotations as Flux's build leaves them.
//!
//! Flux edits the user's kustomization file in place; Eddy builds a wrapper kustomization in a
//! separate directory instead (so one unpacked artifact serves every Kustomization). Two Flux
//! behaviours depend on the file being edited in place, and this module reproduces them:
//!
//! - A kustomization file without `resources` (for instance one that only uses the deprecated
//!   `bases`, like the tutorial's overlays) gets `buildMetadata: [originAnnotations]` from Flux,
//!   unless the Kustomization's `spec.buildMetadata` says otherwise. Every object built from such
//!   a directory therefore carries an origin annotation on the cluster.
//! - Origin paths are relative to the kustomization that asked for them. Set on the wrapper, they
//!   would name the artifact cache (and change with every revision); they are rewritten relative to
//!   the Kustomization's `path`, which is what Flux records.

use std::path::{Component, Path, PathBuf};

use serde_json::Value;

/// The annotation Kustomize's `originAnnotations` build option writes.
pub const ORIGIN_ANNOTATION: &str = "config.kubernetes.io/origin";

/// Whether Flux would switch origin annotations on for the kustomization file at `file`: it
/// exists and lists no `resources`. An unreadable file answers `false`; the build reports it.
pub fn needs_origin_fallback(file: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(file) else {
        return false;
    };
    let Ok(document) = serde_yaml_ng::from_str::<Value>(&text) else {
        return false;
    };
    document
        .get("resources")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
}

/// Rewrites the origin paths of `objects`, recorded relative to `wrapper_dir`, to be relative to
/// `path` (the Kustomization's directory). Both directories are absolute. Values that are not
/// plain relative paths (quoted, absolute) and origins in remote
/// repositories are left alone.
pub fn relocate_origins(objects: &mut [Value], wrapper_dir: &Path, path: &Path) {
    for object in objects {
        let Some(origin) = object
            .pointer_mut("/metadata/annotations")
            .and_then(|annotations| annotations.get_mut(ORIGIN_ANNOTATION))
        else {
            continue;
        };
        let Some(text) = origin.as_str() else {
            continue;
        };
        let relocated = relocate_text(text, wrapper_dir, path);
        *origin = Value::String(relocated);
    }
}

/// The origin annotation's text with its `path:` and `configuredIn:` lines relocated.
fn relocate_text(text: &str, wrapper_dir: &Path, path: &Path) -> String {
    if text.lines().any(|line| line.starts_with("repo: ")) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (content, newline) = match line.strip_suffix('\n') {
            Some(content) => (content, "\n"),
            None => (line, ""),
        };
        let relocated = ["path: ", "configuredIn: "].iter().find_map(|key| {
            let value = content.strip_prefix(key)?;
            let plain =
                !value.is_empty() && !value.starts_with(['"', '\'', '/']) && !value.contains("://");
            plain.then(|| format!("{key}{}", relative_to(path, &wrapper_dir.join(value))))
        });
        out.push_str(relocated.as_deref().unwrap_or(content));
        out.push_str(newline);
    }
    out
}

/// `target` as a relative path seen from `from`, after resolving `.` and `..` lexically (both
/// are absolute). Kustomize records origins lexically too: symlinks are not followed.
pub fn relative_to(from: &Path, target: &Path) -> String {
    let from = normalize(from);
    let target = normalize(target);
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..from.len() {
        relative.push("..");
    }
    for component in &to[common..] {
        relative.push(component.as_os_str());
    }
    let text = relative.to_string_lossy().into_owned();
    if text.is_empty() {
        ".".to_owned()
    } else {
        text
    }
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn origins_recorded_by_the_wrapper_become_relative_to_the_kustomization_path() {
        let mut objects = vec![
            json!({"metadata": {"name": "a", "annotations": {
                ORIGIN_ANNOTATION: "path: ../../artifacts/d1/apps/myapp/base/service.yaml\n"}}}),
            json!({"metadata": {"name": "b", "annotations": {
                ORIGIN_ANNOTATION: "configuredIn: ../../artifacts/d1/apps/myapp/overlays/production/kustomization.yaml\nconfiguredBy:\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n"}}}),
            json!({"metadata": {"name": "c", "annotations": {
                ORIGIN_ANNOTATION: "path: examples/app.yaml\nrepo: https://example.com/repo\nref: main\n"}}}),
            json!({"metadata": {"name": "d"}}),
        ];
        relocate_origins(
            &mut objects,
            Path::new("/cache/wrappers/w1"),
            Path::new("/cache/artifacts/d1/apps/myapp/overlays/production"),
        );
        assert_eq!(
            objects[0]["metadata"]["annotations"][ORIGIN_ANNOTATION],
            "path: ../../base/service.yaml\n"
        );
        assert_eq!(
            objects[1]["metadata"]["annotations"][ORIGIN_ANNOTATION],
            "configuredIn: kustomization.yaml\nconfiguredBy:\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n"
        );
        // A remote origin's path is relative to its repository, not to this build.
        assert_eq!(
            objects[2]["metadata"]["annotations"][ORIGIN_ANNOTATION],
            "path: examples/app.yaml\nrepo: https://example.com/repo\nref: main\n"
        );
        assert!(objects[3]["metadata"].get("annotations").is_none());
    }

    #[test]
    fn relative_paths_climb_to_the_common_ancestor() {
        assert_eq!(
            relative_to(Path::new("/tmp/a/b"), Path::new("/work/x")),
            "../../../work/x"
        );
        assert_eq!(relative_to(Path::new("/tmp/a"), Path::new("/tmp/a/c")), "c");
        assert_eq!(relative_to(Path::new("/tmp/a"), Path::new("/tmp/a")), ".");
    }

    #[test]
    fn only_files_without_resources_fall_back_to_origin_annotations() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kustomization.yaml");
        std::fs::write(&file, "bases:\n- ../../base\nnamespace: production\n").unwrap();
        assert!(needs_origin_fallback(&file));
        std::fs::write(&file, "resources: []\n").unwrap();
        assert!(needs_origin_fallback(&file));
        std::fs::write(&file, "resources:\n- deployment.yaml\n").unwrap();
        assert!(!needs_origin_fallback(&file));
        assert!(!needs_origin_fallback(&dir.path().join("missing.yaml")));
    }
}
