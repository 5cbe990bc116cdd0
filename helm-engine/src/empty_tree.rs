//! Go's "empty template" rule as `tpl` meets it. Helm's `tpl` parses its text as a template
//! named `gotpl` in a copy of the set and executes that new template. When the text parses to
//! an empty tree (only whitespace, comments and `define`s), Go keeps the existing `gotpl` in
//! the set but still executes the new, empty tree, so the result is the text's whitespace.
//! eddy-gotemplate executes `gotpl` by name, which inside a nested `tpl` is the enclosing text,
//! and recurses until its depth limit. This module recognises such texts so the `tpl` wrapper
//! can render them itself.

use eddy_gotemplate::{FuncMap, MissingKey, TemplateSet, Value};

/// Whether `text` would parse to an empty tree: outside `define … end` blocks, nothing but
/// whitespace and comments.
pub fn is_empty_tree(text: &str) -> bool {
    let mut rest = text;
    let mut define_depth = 0usize;
    loop {
        let Some(open) = rest.find("{{") else {
            return define_depth == 0 && rest.trim().is_empty();
        };
        if define_depth == 0 && !rest[..open].trim().is_empty() {
            return false;
        }
        let after_open = &rest[open + 2..];
        let Some(close) = after_open.find("}}") else {
            return false;
        };
        let action = trim_markers(&after_open[..close]);
        rest = &after_open[close + 2..];
        if action.starts_with("/*") {
            continue;
        }
        let keyword = action.split_whitespace().next().unwrap_or_default();
        match keyword {
            "define" => define_depth += 1,
            "if" | "range" | "with" | "block" if define_depth > 0 => define_depth += 1,
            "end" if define_depth > 0 => define_depth -= 1,
            _ if define_depth > 0 => {}
            _ => return false,
        }
    }
}

fn trim_markers(action: &str) -> &str {
    let action = action.strip_prefix("- ").unwrap_or(action);
    let action = action.strip_suffix(" -").unwrap_or(action);
    action.trim()
}

/// What executing an empty tree prints: its text outside comments and `define`s, with trim
/// markers applied. Such a text has no action that could read data or call a function.
pub fn render_empty_tree(text: &str) -> Result<String, eddy_gotemplate::Error> {
    let mut scratch = TemplateSet::new("gotpl", FuncMap::helm()).with_missing_key(MissingKey::Zero);
    // A name no define in `text` can take, so the body is never replaced.
    let name = "\u{0}empty-tree";
    scratch.parse(name, text)?;
    scratch.execute(name, Value::Nil)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_empty_trees() {
        assert!(is_empty_tree(""));
        assert!(is_empty_tree("  \n"));
        assert!(is_empty_tree("{{/* c */}}"));
        assert!(is_empty_tree(" {{- /* c */ -}} "));
        assert!(is_empty_tree(
            "{{ define \"q\" }}{{ if .x }}Q{{ end }}{{ end }} "
        ));
        assert!(!is_empty_tree("x"));
        assert!(!is_empty_tree("{{ .x }}"));
        assert!(!is_empty_tree("{{ define \"q\" }}Q{{ end }}x"));
        assert!(!is_empty_tree("{{ block \"b\" . }}B{{ end }}"));
    }

    #[test]
    fn renders_the_whitespace_that_remains() {
        assert_eq!(render_empty_tree("{{/* c */}}").unwrap(), "");
        assert_eq!(
            render_empty_tree("{{ define \"q\" }}Q{{ end }} ").unwrap(),
            " "
        );
        assert_eq!(render_empty_tree(" {{- /* c */ -}} ").unwrap(), "");
    }
}
