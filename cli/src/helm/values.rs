//! The user values of one render, merged as Helm merges them: `-f` files in order, then
//! `--set-json`, `--set`, `--set-string`.

use std::io::Read;

use eddy_helm::{Table, merge_maps, parse_values};

use super::{HelmError, TemplateArgs};

pub fn merge(args: &TemplateArgs) -> Result<Table, HelmError> {
    let mut values = Table::new();
    for file in &args.values {
        let text = read_values_file(file)?;
        let parsed =
            parse_values(&text).map_err(|e| HelmError(format!("failed to parse {file}: {e}")))?;
        values = merge_maps(values, parsed);
    }
    for item in &args.set_json {
        let trimmed = item.trim();
        if trimmed.starts_with('{') {
            // A whole JSON object; as a YAML document it gets the typing of a values file.
            let parsed = parse_values(trimmed)
                .map_err(|_| HelmError(format!("failed parsing --set-json data JSON: {item}")))?;
            values = merge_maps(values, parsed);
        } else {
            eddy_helm::parse_set_json_into(item, &mut values)
                .map_err(|_| HelmError(format!("failed parsing --set-json data {item}")))?;
        }
    }
    for item in &args.set {
        eddy_helm::parse_set_into(item, &mut values)
            .map_err(|e| HelmError(format!("failed parsing --set data: {e}")))?;
    }
    for item in &args.set_string {
        eddy_helm::parse_set_string_into(item, &mut values)
            .map_err(|e| HelmError(format!("failed parsing --set-string data: {e}")))?;
    }
    Ok(values)
}

fn read_values_file(file: &str) -> Result<String, HelmError> {
    if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| HelmError(format!("cannot read values from stdin: {e}")))?;
        return Ok(text);
    }
    if file.contains("://") {
        return Err(HelmError(format!(
            "values file {file}: values from URLs are not supported yet by eddy helm template"
        )));
    }
    // Go's wording, which Helm prints as it is.
    std::fs::read_to_string(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            HelmError(format!("open {file}: no such file or directory"))
        }
        _ => HelmError(format!("open {file}: {e}")),
    })
}
