//! The parse tree. Each node keeps its byte offset in the source text, from which error messages
//! compute `name:line:column`, and prints itself the way Go's `parse.Node.String` does, since
//! execution errors quote the node (`executing "t" at <.a.b>: …`).

use std::fmt::{self, Display, Write};
use std::sync::Arc;

/// One parsed template: the body of a file or of a `define`/`block`.
#[derive(Debug, Clone)]
pub struct Tree {
    pub name: String,
    /// The name of the file the text came from (shown in error locations).
    pub parse_name: Arc<str>,
    pub root: Vec<Node>,
    pub text: Arc<str>,
}

impl Tree {
    /// `name:line:column` of a byte offset, as Go's `ErrorContext` computes it.
    pub fn location(&self, pos: usize) -> String {
        let pos = pos.min(self.text.len());
        let before = self.text.get(..pos).unwrap_or("");
        let column = match before.rfind('\n') {
            Some(newline) => pos - (newline + 1),
            None => pos,
        };
        let line = 1 + before.matches('\n').count();
        format!("{}:{}:{}", self.parse_name, line, column)
    }

    /// Whether the tree holds nothing but space and comments (Go's `IsEmptyTree`).
    pub fn is_empty(&self) -> bool {
        self.root.iter().all(|node| match node {
            Node::Text { text, .. } => text.trim_ascii().is_empty(),
            _ => false,
        })
    }
}

#[derive(Debug, Clone)]
pub enum Node {
    Text {
        pos: usize,
        text: String,
    },
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug, Clone)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<Variable>,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub pos: usize,
    /// `$x.a.b` is `["$x", "a", "b"]`.
    pub ident: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub struct Number {
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub int: i64,
    pub uint: u64,
    pub float: f64,
}

#[derive(Debug, Clone)]
pub enum Arg {
    Field {
        pos: usize,
        ident: Vec<String>,
    },
    Variable(Variable),
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Bool {
        pos: usize,
        value: bool,
    },
    Number {
        pos: usize,
        number: Number,
    },
    String {
        pos: usize,
        quoted: String,
        text: String,
    },
    Identifier {
        pos: usize,
        name: String,
    },
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::String { pos, .. }
            | Arg::Identifier { pos, .. }
            | Arg::Chain { pos, .. } => *pos,
            Arg::Variable(v) => v.pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Field { ident, .. } => {
                for name in ident {
                    write!(f, ".{name}")?;
                }
                Ok(())
            }
            Arg::Variable(v) => write!(f, "{v}"),
            Arg::Dot { .. } => f.write_char('.'),
            Arg::Nil { .. } => f.write_str("nil"),
            Arg::Bool { value, .. } => write!(f, "{value}"),
            Arg::Number { number, .. } => f.write_str(&number.text),
            Arg::String { quoted, .. } => f.write_str(quoted),
            Arg::Identifier { name, .. } => f.write_str(name),
            Arg::Chain { node, fields, .. } => {
                match node.as_ref() {
                    Arg::Pipe(p) => write!(f, "({p})")?,
                    other => write!(f, "{other}")?,
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ident.join("."))
    }
}

impl Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_char(' ')?;
            }
            match arg {
                Arg::Pipe(p) => write!(f, "({p})")?,
                other => write!(f, "{other}")?,
            }
        }
        Ok(())
    }
}

impl Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, v) in self.decl.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, list: &[Node]) -> fmt::Result {
    for node in list {
        write!(f, "{node}")?;
    }
    Ok(())
}

fn write_branch(f: &mut fmt::Formatter<'_>, keyword: &str, branch: &Branch) -> fmt::Result {
    write!(f, "{{{{{keyword} {}}}}}", branch.pipe)?;
    write_list(f, &branch.list)?;
    if let Some(else_list) = &branch.else_list {
        f.write_str("{{else}}")?;
        write_list(f, else_list)?;
    }
    f.write_str("{{end}}")
}

impl Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text { text, .. } => f.write_str(text),
            Node::Action { pipe, .. } => write!(f, "{{{{{pipe}}}}}"),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Template { name, pipe, .. } => {
                let quoted = crate::fmt::quote_go(name);
                match pipe {
                    Some(p) => write!(f, "{{{{template {quoted} {p}}}}}"),
                    None => write!(f, "{{{{template {quoted}}}}}"),
                }
            }
            Node::Break { .. } => f.write_str("{{break}}"),
            Node::Continue { .. } => f.write_str("{{continue}}"),
        }
    }
}
