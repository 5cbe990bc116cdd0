//! `.helmignore` rules, with Helm's semantics: Go `filepath.Match` patterns, a rule without `/`
//! matches the base name, a leading `/` anchors nothing more than the relative path, a trailing
//! `/` matches directories only, and a `!` rule ignores everything it does *not* match.

use crate::error::Error;
use crate::glob::filepath_match;

pub const HELMIGNORE: &str = ".helmignore";

#[derive(Debug, Clone)]
struct Rule {
    pattern: String,
    negate: bool,
    dir_only: bool,
    whole_path: bool,
}

#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    rules: Vec<Rule>,
}

impl IgnoreRules {
    /// Parses a `.helmignore` file and adds Helm's default rule (`templates/.?*`).
    pub fn parse(text: &str) -> Result<IgnoreRules, Error> {
        let mut rules = IgnoreRules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.lines() {
            rules.add(line)?;
        }
        rules.add("templates/.?*")?;
        Ok(rules)
    }

    /// Only Helm's default rule.
    pub fn defaults() -> IgnoreRules {
        IgnoreRules::parse("").unwrap_or_default()
    }

    fn add(&mut self, line: &str) -> Result<(), Error> {
        let mut rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(Error::Ignore(
                "double-star (**) syntax is not supported".into(),
            ));
        }
        if filepath_match(rule, "abc").is_err() {
            return Err(Error::Ignore("syntax error in pattern".into()));
        }
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let dir_only = rule.ends_with('/');
        let rule = rule.strip_suffix('/').unwrap_or(rule);
        let (pattern, whole_path) = match rule.strip_prefix('/') {
            Some(anchored) => (anchored, true),
            None => (rule, rule.contains('/')),
        };
        self.rules.push(Rule {
            pattern: pattern.to_string(),
            negate,
            dir_only,
            whole_path,
        });
        Ok(())
    }

    /// Whether the chart-relative `path` (with `/` separators) is ignored.
    pub fn ignores(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for rule in &self.rules {
            let subject = if rule.whole_path {
                path
            } else {
                path.rsplit('/').next().unwrap_or(path)
            };
            let matched = filepath_match(&rule.pattern, subject).unwrap_or(false);
            if rule.negate {
                if (rule.dir_only && !is_dir) || !matched {
                    return true;
                }
                continue;
            }
            if rule.dir_only && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_name_path_and_directory_rules() {
        let rules = IgnoreRules::parse("# comment\n*.bak\nci/\n/docs/*.md\n").unwrap();
        assert!(rules.ignores("a/b/c.bak", false));
        assert!(rules.ignores("ci", true));
        assert!(!rules.ignores("ci", false));
        assert!(rules.ignores("docs/x.md", false));
        assert!(!rules.ignores("other/docs/x.md", false));
        assert!(rules.ignores("templates/.hidden", false));
        assert!(!rules.ignores("templates/a.yaml", false));
    }

    #[test]
    fn double_star_is_refused() {
        assert!(IgnoreRules::parse("**/x").is_err());
    }
}
