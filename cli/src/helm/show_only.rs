//! `--show-only`: keep the printed documents whose `# Source:` path (without the chart's name)
//! matches one of the patterns, pattern by pattern, as `helm template` selects them.

use super::HelmError;

pub fn select(rendered: &str, patterns: &[String]) -> Result<String, HelmError> {
    let documents = eddy_helm::split_manifests(rendered);
    let mut out = String::new();
    for pattern in patterns {
        let mut found = false;
        for document in &documents {
            let Some(path) = source_path(document) else {
                continue;
            };
            // A malformed pattern matches nothing, as Helm ignores `filepath.Match`'s error.
            if eddy_helm::filepath_match(pattern, path).unwrap_or(false) {
                out.push_str("---\n");
                out.push_str(document);
                out.push('\n');
                found = true;
            }
        }
        if !found {
            return Err(HelmError(format!(
                "could not find template {pattern} in chart"
            )));
        }
    }
    Ok(out)
}

/// The path after the first `/` of the document's first `# Source: ` line.
fn source_path(document: &str) -> Option<&str> {
    let start = document.find("# Source: ")? + "# Source: ".len();
    let rest = &document[start..];
    let slash = rest.find('/')?;
    if slash == 0 {
        return None;
    }
    let path = &rest[slash + 1..];
    let path = path.split('\n').next().unwrap_or_default();
    (!path.is_empty()).then_some(path)
}
