//! Deprecated `vars`: `$(NAME)` placeholders in the `varReference` fields are replaced with a field of
//! a referenced object (by default its final name).

use crate::config::TransformerConfig;
use crate::error::Error;
use crate::fieldspec::visit_specs;
use crate::kustomization::Var;
use crate::resid::Gvk;
use crate::resmap::ResMap;
use crate::yaml::Value;

pub fn resolve_vars(
    resources: &mut ResMap,
    vars: &[Var],
    config: &TransformerConfig,
) -> Result<(), Error> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values: Vec<(String, Value)> = Vec::new();
    for var in vars {
        values.push((var.name.clone(), var_value(resources, var)?));
    }
    for resource in &mut resources.resources {
        let gvk = resource.gvk();
        visit_specs(
            &mut resource.value,
            &gvk,
            &config.var_reference,
            &mut |field, _| {
                substitute(field, &values);
                Ok(())
            },
        )
        .map_err(|message| Error::build("resolving vars", message))?;
        // The substitution rewrites the node's text in place.
        resource.propagate_shared_writes();
    }
    Ok(())
}

/// Binds each of a kustomization's vars to the one object (among those accumulated so far) that its
/// `objref` names, by current or previous id, as kustomize does when it merges vars.
pub fn bind_vars(resources: &mut ResMap, vars: &[Var]) -> Result<(), Error> {
    for var in vars {
        let objref = &var.objref;
        let (group, version) = match objref.api_version.as_deref() {
            Some(api_version) => {
                let gvk = Gvk::from_api_version(api_version, "");
                (gvk.group, gvk.version)
            }
            None => (
                objref.group.clone().unwrap_or_default(),
                objref.version.clone().unwrap_or_default(),
            ),
        };
        let kind = objref.kind.clone().unwrap_or_default();
        let name = objref.name.clone().unwrap_or_default();
        let matches: Vec<usize> = resources
            .resources
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.all_ids().iter().any(|id| {
                    id.gvk.is_selected_by(&group, &version, &kind)
                        && id.name == name
                        && objref
                            .namespace
                            .as_deref()
                            .is_none_or(|ns| ns.is_empty() || id.namespace == ns)
                })
            })
            .map(|(i, _)| i)
            .collect();
        match matches.as_slice() {
            [one] => resources.resources[*one].var_names.push(var.name.clone()),
            [] => {
                return Err(Error::build(
                    format!("var '{}'", var.name),
                    format!("cannot find the object {kind} '{name}' it refers to"),
                ));
            }
            _ => {
                return Err(Error::build(
                    format!("var '{}'", var.name),
                    format!(
                        "found {} objects {kind} '{name}'; the reference is ambiguous",
                        matches.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn var_value(resources: &ResMap, var: &Var) -> Result<Value, Error> {
    let resource = resources
        .resources
        .iter()
        .find(|r| r.var_names.contains(&var.name))
        .ok_or_else(|| {
            Error::build(
                format!("var '{}'", var.name),
                "no object is bound to this var",
            )
        })?;
    let field_path = var
        .fieldref
        .as_ref()
        .and_then(|f| f.field_path.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "metadata.name".to_string());
    lookup_field(&resource.value, &field_path)
        .cloned()
        .ok_or_else(|| {
            Error::build(
                format!("var '{}'", var.name),
                format!("field '{field_path}' not found in {}", resource.cur_id()),
            )
        })
}

/// Looks up a dotted field path with optional `[index]` or `[key=value]` steps.
pub fn lookup_field<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    for part in split_field_path(path) {
        let (name, selector) = match part.find('[') {
            Some(open) if part.ends_with(']') => {
                (&part[..open], Some(&part[open + 1..part.len() - 1]))
            }
            _ => (part.as_str(), None),
        };
        if !name.is_empty() {
            current = current.get(name)?;
        }
        if let Some(selector) = selector {
            let items = current.as_seq()?;
            current = match selector.split_once('=') {
                Some((key, wanted)) => items.iter().find(|item| {
                    item.get(key).and_then(Value::scalar_text).as_deref() == Some(wanted)
                })?,
                None => items.get(selector.parse::<usize>().ok()?)?,
            };
        }
    }
    Some(current)
}

/// Splits on dots outside brackets.
fn split_field_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth -= 1;
                current.push(c);
            }
            '.' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

fn substitute(field: &mut Value, values: &[(String, Value)]) {
    match field {
        Value::Seq(items) => {
            for item in items {
                substitute(item, values);
            }
        }
        Value::Map(map) => {
            for (_, item) in map.iter_mut() {
                substitute(item, values);
            }
        }
        Value::String(text) => {
            if let Some(name) = text.strip_prefix("$(").and_then(|t| t.strip_suffix(')'))
                && let Some((_, value)) = values.iter().find(|(n, _)| n == name)
                && !matches!(value, Value::String(_))
            {
                *field = value.clone();
                return;
            }
            let mut result = String::new();
            let mut rest = text.as_str();
            while let Some(start) = rest.find("$(") {
                result.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                match after.find(')') {
                    Some(end) => {
                        let name = &after[..end];
                        match values.iter().find(|(n, _)| n == name) {
                            Some((_, value)) => {
                                result.push_str(&value.scalar_text().unwrap_or_default());
                            }
                            None => {
                                result.push_str("$(");
                                result.push_str(name);
                                result.push(')');
                            }
                        }
                        rest = &after[end + 1..];
                    }
                    None => {
                        result.push_str(&rest[start..]);
                        rest = "";
                    }
                }
            }
            result.push_str(rest);
            *text = result;
        }
        _ => {}
    }
}
