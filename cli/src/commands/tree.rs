//! `eddy tree kustomization <name>`: what a Kustomization applied (its `status.inventory`), with
//! nested Kustomizations expanded.

use anyhow::bail;
use serde_json::Value;

use crate::cluster::{ConnectionArgs, FluxKind, describe_get_error};

#[derive(clap::Args)]
pub struct TreeArgs {
    /// `kustomization <name>`.
    #[arg(required = true, num_args = 2)]
    words: Vec<String>,
}

/// One inventory entry id, `<namespace>_<name>_<group>_<kind>` (Kubernetes names cannot hold
/// `_`, so the split is unambiguous).
#[derive(Debug, PartialEq, Eq)]
pub struct InventoryId {
    pub namespace: String,
    pub name: String,
    pub group: String,
    pub kind: String,
}

pub fn parse_inventory_id(id: &str) -> Option<InventoryId> {
    let mut parts = id.split('_');
    let entry = InventoryId {
        namespace: parts.next()?.to_string(),
        name: parts.next()?.to_string(),
        group: parts.next()?.to_string(),
        kind: parts.next()?.to_string(),
    };
    parts.next().is_none().then_some(entry)
}

impl InventoryId {
    fn label(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

pub async fn run(args: TreeArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    if !matches!(
        args.words[0].as_str(),
        "kustomization" | "kustomizations" | "ks"
    ) {
        bail!("`eddy tree` shows Kustomizations: `eddy tree kustomization <name>`");
    }
    let name = &args.words[1];
    let client = connection.client().await?;
    println!("Kustomization/{}/{name}", connection.namespace);
    let mut lines = Vec::new();
    walk(&client, &connection.namespace, name, "", &mut lines, 0).await?;
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// Nested Kustomizations deeper than this are shown but not expanded (a cycle guard).
const MAX_DEPTH: usize = 16;

async fn walk(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    indent: &str,
    lines: &mut Vec<String>,
    depth: usize,
) -> anyhow::Result<()> {
    let kind = FluxKind::find_by_kind("Kustomization")
        .ok_or_else(|| anyhow::anyhow!("no Kustomization kind"))?;
    let object = kind
        .api(client, Some(namespace))
        .get(name)
        .await
        .map_err(|e| describe_get_error(e, kind, name, namespace))?;
    let entries: Vec<InventoryId> = object
        .data
        .pointer("/status/inventory/entries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.get("id").and_then(Value::as_str))
        .filter_map(parse_inventory_id)
        .collect();
    for (index, entry) in entries.iter().enumerate() {
        let last = index + 1 == entries.len();
        let branch = if last { "└── " } else { "├── " };
        lines.push(format!("{indent}{branch}{}", entry.label()));
        if entry.kind == "Kustomization" && entry.group == kind.group && depth < MAX_DEPTH {
            let child_indent = format!("{indent}{}", if last { "    " } else { "│   " });
            Box::pin(walk(
                client,
                &entry.namespace,
                &entry.name,
                &child_indent,
                lines,
                depth + 1,
            ))
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaced_cluster_scoped_and_core_ids() {
        let deployment = parse_inventory_id("apps_podinfo_apps_Deployment").unwrap();
        assert_eq!(deployment.label(), "Deployment/apps/podinfo");
        let namespace = parse_inventory_id("_apps__Namespace").unwrap();
        assert_eq!(namespace.group, "");
        assert_eq!(namespace.label(), "Namespace/apps");
        assert_eq!(parse_inventory_id("too_few_parts"), None);
        assert_eq!(parse_inventory_id("a_b_c_d_e"), None);
    }
}
