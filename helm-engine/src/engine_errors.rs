//! Template errors reworded as Helm's engine rewords them: parse errors as
//! `parse error at (file:line): message`, `required`/`fail` as
//! `execution error at (file:line:col): message`, other execution errors as a trace with one
//! `location / executing "name" at <node>: / message` block per nested `include`.

use std::sync::LazyLock;

use regex::Regex;

const PREFIX: &str = "template: ";

#[allow(clippy::expect_used)] // a constant pattern
static WARNING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"HELM_ERR_START((?s).*)HELM_ERR_END").expect("valid warning pattern")
});

/// Helm's `cleanupParseError`.
pub fn parse_error(filename: &str, message: &str) -> String {
    let tokens: Vec<&str> = message.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {message}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

/// Helm's `reformatExecErrorMsg`, on the flattened text of a Go template execution error.
pub fn exec_error(filename: &str, message: &str) -> String {
    let tokens: Vec<&str> = message.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {message}");
    }
    if let Some(warning) = WARNING.captures(tokens[2]).and_then(|c| c.get(1)) {
        return format!("execution error at ({}): {}", tokens[1], warning.as_str());
    }
    let mut trace: Vec<Traceable> = Vec::new();
    for level in nested_levels(message) {
        let Some(traceable) = Traceable::parse(level) else {
            return message.to_string();
        };
        if trace.last() != Some(&traceable) {
            trace.push(traceable);
        }
    }
    trace
        .iter()
        .map(Traceable::render)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The texts of the error chain Go would unwrap: the whole message, then each text that
/// follows an `error calling NAME: ` (a function's wrapped error).
fn nested_levels(message: &str) -> Vec<&str> {
    let mut levels = vec![message];
    let mut rest = message;
    while let Some(at) = rest.find("error calling ") {
        let after = &rest[at + "error calling ".len()..];
        let Some(colon) = after.find(": ") else {
            break;
        };
        rest = &after[colon + 2..];
        levels.push(rest);
    }
    levels
}

#[derive(Debug, PartialEq)]
struct Traceable {
    location: String,
    executed: String,
    message: String,
}

impl Traceable {
    fn parse(text: &str) -> Option<Traceable> {
        let remainder = text.strip_prefix(PREFIX)?;
        if remainder.starts_with("no template ") {
            return Some(Traceable {
                location: String::new(),
                executed: String::new(),
                message: text.to_string(),
            });
        }
        Traceable::executing_at(remainder).or_else(|| Traceable::simple(remainder))
    }

    fn executing_at(remainder: &str) -> Option<Traceable> {
        let (location, after) = remainder.split_once(": executing ")?;
        let quoted = after.strip_prefix('"')?;
        let end = quoted.find('"')?;
        let function = &quoted[..end];
        let after_at = quoted[end + 1..].strip_prefix(" at <")?;
        let (node, message) = after_at.split_once(">: ")?;
        Some(Traceable {
            location: location.to_string(),
            executed: format!("executing \"{function}\" at <{node}>:"),
            message: cut_nested(message).to_string(),
        })
    }

    fn simple(remainder: &str) -> Option<Traceable> {
        let at = remainder.rfind(": ")?;
        Some(Traceable {
            location: remainder[..at].to_string(),
            executed: String::new(),
            message: cut_nested(&remainder[at + 2..]).to_string(),
        })
    }

    fn render(&self) -> String {
        let mut out = String::new();
        if !self.location.is_empty() {
            out.push_str(&format!("{}\n  ", self.location));
        }
        if !self.executed.is_empty() {
            out.push_str(&format!("{}\n    ", self.executed));
        }
        if !self.message.is_empty() {
            out.push_str(&format!("{}\n", self.message));
        }
        out
    }
}

fn cut_nested(message: &str) -> &str {
    match message.find(" template:") {
        Some(cut) => &message[..cut],
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_and_fail_messages() {
        assert_eq!(
            exec_error(
                "c/templates/a.yaml",
                "template: c/templates/a.yaml:6:11: executing \"c/templates/a.yaml\" at <required \"x\" .Values.x>: error calling required: HELM_ERR_STARTx is requiredHELM_ERR_END"
            ),
            "execution error at (c/templates/a.yaml:6:11): x is required"
        );
    }

    #[test]
    fn a_type_error_becomes_a_trace() {
        assert_eq!(
            exec_error(
                "t/templates/bytes.yaml",
                "template: t/templates/bytes.yaml:8:54: executing \"t/templates/bytes.yaml\" at <b64enc>: wrong type for value; expected string; got []uint8"
            ),
            "t/templates/bytes.yaml:8:54\n  executing \"t/templates/bytes.yaml\" at <b64enc>:\n    wrong type for value; expected string; got []uint8"
        );
    }

    #[test]
    fn nested_includes_give_one_block_each() {
        let message = "template: c/templates/a.yaml:1:3: executing \"c/templates/a.yaml\" at <include \"h\" .>: error calling include: template: c/templates/_h.tpl:2:5: executing \"h\" at <.Values.x.y>: nil pointer evaluating interface {}.y";
        assert_eq!(
            exec_error("c/templates/a.yaml", message),
            "c/templates/a.yaml:1:3\n  executing \"c/templates/a.yaml\" at <include \"h\" .>:\n    error calling include:\nc/templates/_h.tpl:2:5\n  executing \"h\" at <.Values.x.y>:\n    nil pointer evaluating interface {}.y"
        );
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            parse_error(
                "c/templates/a.yaml",
                "template: c/templates/a.yaml:3: function \"nope\" not defined"
            ),
            "parse error at (c/templates/a.yaml:3): function \"nope\" not defined"
        );
    }
}
