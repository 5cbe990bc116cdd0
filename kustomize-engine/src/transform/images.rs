//! The `images` transformer: rewrites container image names, tags and digests.
//!
//! Two passes, as in kustomize: every `containers`/`initContainers` list found at any depth of any
//! object, then the configured image fieldspecs (which also reach custom resources).

use crate::config::TransformerConfig;
use crate::fieldspec::visit_specs;
use crate::kustomization::Image;
use crate::resmap::ResMap;
use crate::yaml::Value;

/// Splits `name[:tag][@digest]`; the tag separator is the last `:` after the last `/`.
fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(colon) => {
            let at = slash + colon;
            (&rest[..at], Some(&rest[at + 1..]), digest)
        }
        None => (rest, None, digest),
    }
}

/// The updated image text, or `None` when the entry does not apply.
fn updated_image(current: &str, entry: &Image) -> Option<String> {
    let (name, tag, digest) = split_image(current);
    if name != entry.name {
        return None;
    }
    let new_name = entry
        .new_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or(name);
    let mut tag = tag.map(str::to_string);
    let mut digest = digest.map(str::to_string);
    if let Some(new_tag) = entry
        .new_tag
        .as_ref()
        .map(|t| t.0.as_str())
        .filter(|t| !t.is_empty())
    {
        tag = Some(new_tag.to_string());
        digest = None;
    }
    if let Some(new_digest) = entry.digest.as_deref().filter(|d| !d.is_empty()) {
        digest = Some(new_digest.to_string());
        if entry.new_tag.as_ref().is_none_or(|t| t.0.is_empty()) {
            tag = None;
        }
    }
    // A suffix only extends the existing tag; an explicit new tag wins over it.
    let has_new_tag = entry.new_tag.as_ref().is_some_and(|t| !t.0.is_empty());
    if let Some(tag_suffix) = entry
        .tag_suffix
        .as_deref()
        .filter(|s| !s.is_empty() && !has_new_tag)
    {
        tag = Some(format!("{}{tag_suffix}", tag.unwrap_or_default()));
    }
    let mut result = new_name.to_string();
    if let Some(tag) = tag {
        result.push(':');
        result.push_str(&tag);
    }
    if let Some(digest) = digest {
        result.push('@');
        result.push_str(&digest);
    }
    Some(result)
}

fn update_field(field: &mut Value, entry: &Image) {
    if let Value::String(current) = field
        && let Some(updated) = updated_image(current, entry)
    {
        *current = updated;
    }
}

/// Finds every container list at any depth and updates its images.
fn update_containers_anywhere(node: &mut Value, entry: &Image) {
    match node {
        Value::Map(map) => {
            for (key, child) in map.iter_mut() {
                if (key == "containers" || key == "initContainers")
                    && let Value::Seq(containers) = child
                {
                    for container in containers.iter_mut() {
                        if let Some(image) = container.get_mut("image") {
                            update_field(image, entry);
                        }
                    }
                }
                update_containers_anywhere(child, entry);
            }
        }
        Value::Seq(items) => {
            for item in items {
                update_containers_anywhere(item, entry);
            }
        }
        _ => {}
    }
}

pub fn update_images(
    resources: &mut ResMap,
    images: &[Image],
    config: &TransformerConfig,
) -> Result<(), String> {
    let specs: Vec<_> = config
        .images
        .iter()
        .cloned()
        .map(|mut spec| {
            spec.create = false;
            spec
        })
        .collect();
    for entry in images {
        // kustomize compiles image names as regular expressions; an invalid one is an error.
        regex::Regex::new(&entry.name)
            .map_err(|e| format!("invalid image name {:?}: {e}", entry.name))?;
        for resource in &mut resources.resources {
            update_containers_anywhere(&mut resource.value, entry);
            let gvk = resource.gvk();
            visit_specs(&mut resource.value, &gvk, &specs, &mut |field, _| {
                update_field(field, entry);
                Ok(())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_registry_ports_tags_and_digests() {
        assert_eq!(split_image("nginx"), ("nginx", None, None));
        assert_eq!(split_image("nginx:1.2"), ("nginx", Some("1.2"), None));
        assert_eq!(
            split_image("host:5000/app:v1"),
            ("host:5000/app", Some("v1"), None)
        );
        assert_eq!(
            split_image("app@sha256:abc"),
            ("app", None, Some("sha256:abc"))
        );
    }
}
