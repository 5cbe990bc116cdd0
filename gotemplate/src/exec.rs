//! The executor: walks a parsed tree with a data value, following Go's `text/template/exec.go`
//! semantics (field chains, argument conversion, variables and their scopes, range order,
//! `missingkey`) and error texts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use crate::ast::{Arg, Branch, Command, Node, Pipe, Tree, Variable};
use crate::error::{Error, ExecError, ExecErrorKind, FuncError};
use crate::fmt::{quote_go, to_string_v};
use crate::funcs::{Function, Param};
use crate::set::{MissingKey, TemplateSet};
use crate::value::{IntKind, Value};

/// State shared by one top-level execution and every `template`/`include`/`tpl` inside it.
pub(crate) struct Session {
    deadline: Option<Instant>,
    written: usize,
    steps: u64,
    /// Nesting count per name, for Helm's `include` recursion cap.
    pub(crate) includes: HashMap<String, usize>,
}

impl Session {
    pub(crate) fn new(set: &TemplateSet) -> Session {
        Session {
            deadline: set.limits().timeout.map(|t| Instant::now() + t),
            written: 0,
            steps: 0,
            includes: HashMap::new(),
        }
    }
}

/// What a function sees of the running execution: the template set (for `include` and
/// `tpl`) and the limits in force.
pub struct Context<'s, 'e> {
    pub(crate) set: &'s TemplateSet,
    pub(crate) session: &'e mut Session,
    pub(crate) depth: usize,
}

impl Context<'_, '_> {
    /// The template set being executed.
    pub fn template_set(&self) -> &TemplateSet {
        self.set
    }

    /// Executes the named template with `data` into a string (Go's `ExecuteTemplate`).
    pub fn execute_template(&mut self, name: &str, data: Value) -> Result<String, Error> {
        let Some(tree) = self.set.tree(name) else {
            return Err(Error::Exec(ExecError {
                message: format!(
                    "template: no template {} associated with template {}",
                    quote_go(name),
                    quote_go(self.set.name())
                ),
                kind: ExecErrorKind::Template,
            }));
        };
        if self.depth >= self.set.limits().max_depth {
            return Err(limit_error(format!(
                "exceeded maximum template depth ({})",
                self.set.limits().max_depth
            )));
        }
        let mut out = String::new();
        let mut exec = Exec {
            set: self.set,
            session: self.session,
            tree,
            vars: Vec::new(),
            depth: self.depth + 1,
            last_pos: 0,
        };
        grow_stack(|| exec.run(data, &mut out))?;
        Ok(out)
    }

    /// Parses `text` into a copy of the template set (defines inside stay in the copy) as a
    /// template named after the set, and executes it with `data` (Helm's `tpl`).
    pub fn execute_text(&mut self, text: &str, data: Value) -> Result<String, Error> {
        let mut copy = self.set.clone();
        let name = copy.name().to_string();
        copy.parse(&name, text)?;
        let mut nested = Context {
            set: &copy,
            session: self.session,
            depth: self.depth,
        };
        nested.execute_template(&name, data)
    }

    /// Counts one more nesting of `name`; Helm fails past 1,000.
    pub fn enter_include(&mut self, name: &str) -> Result<(), FuncError> {
        let count = self.session.includes.entry(name.to_string()).or_insert(0);
        if *count > self.set.limits().max_include_depth {
            return Err(FuncError::msg(format!(
                "rendering template has a nested reference name: {name}: unable to execute template"
            )));
        }
        *count += 1;
        Ok(())
    }

    pub fn leave_include(&mut self, name: &str) {
        if let Some(count) = self.session.includes.get_mut(name) {
            *count = count.saturating_sub(1);
        }
    }
}

fn limit_error(message: String) -> Error {
    Error::Exec(ExecError {
        message,
        kind: ExecErrorKind::Limit,
    })
}

/// A value as evaluation produced it. `iface` marks a nil that is a nil `interface {}` held in
/// a container (Go: a valid reflect.Value of interface kind) rather than "no value" (Go: an
/// invalid reflect.Value); Go treats the two differently in field access and argument checks.
#[derive(Clone, Debug)]
struct Ev {
    value: Value,
    iface: bool,
}

impl Ev {
    fn plain(value: Value) -> Ev {
        Ev {
            value,
            iface: false,
        }
    }
    fn held(value: Value) -> Ev {
        Ev { value, iface: true }
    }
}

struct Var {
    name: String,
    value: Ev,
}

enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node an error is reported at.
#[derive(Clone, Copy)]
enum At<'a> {
    Arg(&'a Arg),
    Command(&'a Command),
    Pipe(&'a Pipe),
    Node(&'a Node),
    Variable(&'a Variable),
}

impl At<'_> {
    fn pos(self) -> usize {
        match self {
            At::Arg(a) => a.pos(),
            At::Command(c) => c.pos,
            At::Pipe(p) => p.pos,
            At::Variable(v) => v.pos,
            At::Node(n) => match n {
                Node::Text { pos, .. }
                | Node::Action { pos, .. }
                | Node::Template { pos, .. }
                | Node::Break { pos }
                | Node::Continue { pos } => *pos,
                Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
            },
        }
    }
    fn context(self) -> String {
        match self {
            At::Arg(a) => a.to_string(),
            At::Command(c) => c.to_string(),
            At::Pipe(p) => p.to_string(),
            At::Node(n) => n.to_string(),
            At::Variable(v) => v.to_string(),
        }
    }
}

type Res<T> = Result<T, Error>;

/// How often (in evaluation steps) the deadline is checked.
const STEPS_PER_CLOCK_CHECK: u64 = 64;

pub(crate) struct Exec<'s, 'e> {
    pub(crate) set: &'s TemplateSet,
    pub(crate) session: &'e mut Session,
    pub(crate) tree: Arc<Tree>,
    vars: Vec<Var>,
    pub(crate) depth: usize,
    /// Byte offset of the node evaluated last (Go's `state.at`): where a type error on a
    /// parenthesised argument is reported.
    last_pos: usize,
}

impl<'s, 'e> Exec<'s, 'e> {
    pub(crate) fn new(set: &'s TemplateSet, session: &'e mut Session, tree: Arc<Tree>) -> Self {
        Exec {
            set,
            session,
            tree,
            vars: Vec::new(),
            depth: 0,
            last_pos: 0,
        }
    }

    pub(crate) fn run(&mut self, data: Value, out: &mut String) -> Res<()> {
        let dot = Ev::plain(data);
        self.vars.push(Var {
            name: "$".to_string(),
            value: dot.clone(),
        });
        let tree = self.tree.clone();
        match self.walk_list(&dot, &tree.root, out)? {
            Flow::Normal => Ok(()),
            Flow::Break | Flow::Continue => Ok(()),
        }
    }

    fn error(&self, at: At<'_>, message: impl AsRef<str>) -> Error {
        Error::Exec(ExecError {
            message: format!(
                "template: {}: executing {} at <{}>: {}",
                self.tree.location(at.pos()),
                quote_go(&self.tree.name),
                at.context(),
                message.as_ref()
            ),
            kind: ExecErrorKind::Template,
        })
    }

    fn step(&mut self) -> Res<()> {
        self.session.steps += 1;
        if self.session.steps.is_multiple_of(STEPS_PER_CLOCK_CHECK)
            && let Some(deadline) = self.session.deadline
            && Instant::now() > deadline
        {
            return Err(limit_error(format!(
                "template: {}: execution exceeded the time limit of {:?}",
                self.tree.name,
                self.set.limits().timeout.unwrap_or_default()
            )));
        }
        Ok(())
    }

    fn write(&mut self, out: &mut String, text: &str) -> Res<()> {
        self.session.written += text.len();
        if self.session.written > self.set.limits().max_output_bytes {
            return Err(limit_error(format!(
                "template: {}: output exceeds the limit of {} bytes",
                self.tree.name,
                self.set.limits().max_output_bytes
            )));
        }
        out.push_str(text);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Ev, list: &[Node], out: &mut String) -> Res<Flow> {
        for node in list {
            match self.walk(dot, node, out)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Ev, node: &Node, out: &mut String) -> Res<Flow> {
        self.step()?;
        match node {
            Node::Text { text, .. } => self.write(out, text)?,
            Node::Action { pipe, .. } => {
                let value = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    let text = printable(&value.value);
                    self.write(out, &text)?;
                }
            }
            Node::If(branch) => {
                return grow_stack(|| self.walk_if_or_with(dot, branch, false, out));
            }
            Node::With(branch) => {
                return grow_stack(|| self.walk_if_or_with(dot, branch, true, out));
            }
            Node::Range(branch) => return grow_stack(|| self.walk_range(dot, branch, out)),
            Node::Template { name, pipe, .. } => {
                self.walk_template(dot, node, name, pipe.as_ref(), out)?
            }
            Node::Break { .. } => return Ok(Flow::Break),
            Node::Continue { .. } => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_or_with(
        &mut self,
        dot: &Ev,
        branch: &Branch,
        is_with: bool,
        out: &mut String,
    ) -> Res<Flow> {
        let mark = self.vars.len();
        let result = (|| {
            let value = self.eval_pipeline(dot, &branch.pipe)?;
            if value.value.truth() {
                if is_with {
                    self.walk_list(&value, &branch.list, out)
                } else {
                    self.walk_list(dot, &branch.list, out)
                }
            } else if let Some(else_list) = &branch.else_list {
                self.walk_list(dot, else_list, out)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        result
    }

    fn walk_range(&mut self, dot: &Ev, branch: &Branch, out: &mut String) -> Res<Flow> {
        let mark = self.vars.len();
        let result = self.walk_range_inner(dot, branch, out);
        self.vars.truncate(mark);
        result
    }

    fn walk_range_inner(&mut self, dot: &Ev, branch: &Branch, out: &mut String) -> Res<Flow> {
        let value = self.eval_pipeline(dot, &branch.pipe)?.value;
        let mark = self.vars.len();
        let mut ran = false;
        let keyed_entries = match &value {
            Value::Object(object) => object.range_entries(),
            _ => None,
        };
        let iterations: Vec<(Value, Ev)> = match (&value, keyed_entries) {
            (_, Some(entries)) => entries
                .into_iter()
                .map(|(key, element)| (key, Ev::held(element)))
                .collect(),
            (Value::Nil, None) => Vec::new(),
            (Value::Int(n, kind), None) => {
                if branch.pipe.decl.len() > 1 {
                    return Err(self.error(
                        last_evaluated(&branch.pipe),
                        format!(
                            "can't use {} to iterate over more than one variable",
                            to_string_v(&value)
                        ),
                    ));
                }
                (0..(*n).max(0))
                    .map(|i| (Value::Int(i, *kind), Ev::plain(Value::Int(i, *kind))))
                    .collect()
            }
            (Value::Uint(n, kind), None) => {
                if branch.pipe.decl.len() > 1 {
                    return Err(self.error(
                        last_evaluated(&branch.pipe),
                        format!(
                            "can't use {} to iterate over more than one variable",
                            to_string_v(&value)
                        ),
                    ));
                }
                (0..*n)
                    .map(|i| (Value::Uint(i, *kind), Ev::plain(Value::Uint(i, *kind))))
                    .collect()
            }
            (other, None) => {
                if let Some(list) = other.as_list() {
                    list.items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (Value::int(i as i64), Ev::held(v.clone())))
                        .collect()
                } else if let Some(map) = other.as_map() {
                    map.entries
                        .borrow()
                        .iter()
                        .map(|(k, v)| (Value::string(k.as_str()), Ev::held(v.clone())))
                        .collect()
                } else if let Value::Bytes(bytes) = other {
                    bytes
                        .iter()
                        .enumerate()
                        .map(|(i, b)| {
                            (
                                Value::int(i as i64),
                                Ev::plain(Value::Uint(
                                    u64::from(*b),
                                    crate::value::UintKind::Uint8,
                                )),
                            )
                        })
                        .collect()
                } else {
                    return Err(self.error(
                        last_evaluated(&branch.pipe),
                        format!("range can't iterate over {}", to_string_v(other)),
                    ));
                }
            }
        };
        for (index, element) in iterations {
            // An empty body walks no node, so each iteration counts towards the time limit.
            self.step()?;
            ran = true;
            self.set_range_vars(branch, mark, index, &element);
            let flow = self.walk_list(&element, &branch.list, out);
            self.vars.truncate(mark);
            match flow? {
                Flow::Break => break,
                Flow::Normal | Flow::Continue => {}
            }
        }
        if !ran && let Some(else_list) = &branch.else_list {
            return self.walk_list(dot, else_list, out);
        }
        Ok(Flow::Normal)
    }

    fn set_range_vars(&mut self, branch: &Branch, mark: usize, index: Value, element: &Ev) {
        let decl = &branch.pipe.decl;
        if decl.is_empty() {
            return;
        }
        if branch.pipe.is_assign {
            if decl.len() > 1 {
                self.set_var(&decl[0].ident[0], Ev::plain(index));
                self.set_var(&decl[1].ident[0], element.clone());
            } else {
                self.set_var(&decl[0].ident[0], element.clone());
            }
            return;
        }
        // Declared variables were pushed by the pipeline: the last is the element, the one
        // before it (with two variables) the index.
        if let Some(top) = mark.checked_sub(1).and_then(|i| self.vars.get_mut(i)) {
            top.value = element.clone();
        }
        if decl.len() > 1
            && let Some(second) = mark.checked_sub(2).and_then(|i| self.vars.get_mut(i))
        {
            second.value = Ev::plain(index);
        }
    }

    fn walk_template(
        &mut self,
        dot: &Ev,
        node: &Node,
        name: &str,
        pipe: Option<&Pipe>,
        out: &mut String,
    ) -> Res<()> {
        let Some(tree) = self.set.tree(name) else {
            return Err(self.error(
                At::Node(node),
                format!("template {} not defined", quote_go(name)),
            ));
        };
        if self.depth >= self.set.limits().max_depth {
            return Err(Error::Exec(ExecError {
                message: format!(
                    "template: {}: executing {} at <{}>: exceeded maximum template depth ({})",
                    self.tree.location(At::Node(node).pos()),
                    quote_go(&self.tree.name),
                    At::Node(node).context(),
                    self.set.limits().max_depth
                ),
                kind: ExecErrorKind::Limit,
            }));
        }
        let new_dot = match pipe {
            Some(pipe) => self.eval_pipeline(dot, pipe)?,
            None => Ev::plain(Value::Nil),
        };
        let mut nested = Exec {
            set: self.set,
            session: self.session,
            tree,
            vars: Vec::new(),
            depth: self.depth + 1,
            last_pos: 0,
        };
        nested.vars.push(Var {
            name: "$".to_string(),
            value: new_dot.clone(),
        });
        let root = nested.tree.clone();
        grow_stack(|| nested.walk_list(&new_dot, &root.root, out))?;
        Ok(())
    }

    fn set_var(&mut self, name: &str, value: Ev) {
        if let Some(var) = self.vars.iter_mut().rev().find(|v| v.name == name) {
            var.value = value;
        }
    }

    fn var_value(&self, variable: &Variable) -> Res<Ev> {
        let name = &variable.ident[0];
        match self.vars.iter().rev().find(|v| &v.name == name) {
            Some(var) => Ok(var.value.clone()),
            None => Err(self.error(
                At::Variable(variable),
                format!("undefined variable: {name}"),
            )),
        }
    }

    fn eval_pipeline(&mut self, dot: &Ev, pipe: &Pipe) -> Res<Ev> {
        let mut value: Option<Ev> = None;
        for command in &pipe.cmds {
            let result = self.eval_command(dot, command, value.take())?;
            // Go unwraps interface values after each command: a nil becomes "no value".
            value = Some(Ev::plain(result.value));
        }
        let value = value.unwrap_or(Ev::plain(Value::Nil));
        for variable in &pipe.decl {
            if pipe.is_assign {
                self.set_var(&variable.ident[0], value.clone());
            } else {
                self.vars.push(Var {
                    name: variable.ident[0].clone(),
                    value: value.clone(),
                });
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_value: &Option<Ev>) -> Res<()> {
        if args.len() > 1 || final_value.is_some() {
            return Err(self.error(
                At::Arg(&args[0]),
                format!("can't give argument to non-function {}", args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Ev, command: &Command, final_value: Option<Ev>) -> Res<Ev> {
        let Some(first) = command.args.first() else {
            return Err(self.error(At::Command(command), "empty command"));
        };
        match first {
            Arg::Field { ident, .. } => {
                self.eval_field_chain(dot, dot.clone(), first, ident, &command.args, final_value)
            }
            Arg::Chain { node, fields, .. } => {
                self.eval_chain(dot, first, node, fields, &command.args, final_value)
            }
            Arg::Identifier { name, .. } => self.eval_function(
                dot,
                first,
                name,
                At::Command(command),
                &command.args,
                final_value,
            ),
            Arg::Pipe(pipe) => {
                self.not_a_function(&command.args, &final_value)?;
                self.eval_pipeline(dot, pipe)
            }
            Arg::Variable(variable) => {
                self.eval_variable(dot, variable, first, &command.args, final_value)
            }
            _ => {
                self.not_a_function(&command.args, &final_value)?;
                match first {
                    Arg::Bool { value, .. } => Ok(Ev::plain(Value::Bool(*value))),
                    Arg::Dot { .. } => Ok(dot.clone()),
                    Arg::Nil { .. } => Err(self.error(At::Arg(first), "nil is not a command")),
                    Arg::Number { number, .. } => {
                        Ok(Ev::plain(self.ideal_constant(first, number)?))
                    }
                    Arg::String { text, .. } => Ok(Ev::plain(Value::string(text.as_str()))),
                    _ => Err(self.error(
                        At::Arg(first),
                        format!("can't evaluate command {}", quote_go(&first.to_string())),
                    )),
                }
            }
        }
    }

    fn ideal_constant(&self, at: &Arg, number: &crate::ast::Number) -> Res<Value> {
        let text = &number.text;
        let is_hex_int = text.len() > 2
            && text.starts_with('0')
            && matches!(text.as_bytes()[1], b'x' | b'X')
            && !text.contains(['p', 'P']);
        let is_rune = text.starts_with('\'');
        if number.is_float && !is_hex_int && !is_rune && text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::float(number.float));
        }
        if number.is_int {
            return Ok(Value::int(number.int));
        }
        if number.is_uint {
            return Err(self.error(At::Arg(at), format!("{text} overflows int")));
        }
        Ok(Value::Nil)
    }

    fn eval_variable(
        &mut self,
        dot: &Ev,
        variable: &Variable,
        node: &Arg,
        args: &[Arg],
        final_value: Option<Ev>,
    ) -> Res<Ev> {
        let value = self.var_value(variable)?;
        if variable.ident.len() == 1 {
            self.not_a_function(args, &final_value)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, node, &variable.ident[1..], args, final_value)
    }

    fn eval_chain(
        &mut self,
        dot: &Ev,
        chain: &Arg,
        node: &Arg,
        fields: &[String],
        args: &[Arg],
        final_value: Option<Ev>,
    ) -> Res<Ev> {
        if let Arg::Nil { .. } = node {
            return Err(self.error(
                At::Arg(chain),
                format!("indirection through explicit nil in {chain}"),
            ));
        }
        let receiver = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, receiver, chain, fields, args, final_value)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Ev,
        mut receiver: Ev,
        node: &Arg,
        ident: &[String],
        args: &[Arg],
        final_value: Option<Ev>,
    ) -> Res<Ev> {
        let Some((last, init)) = ident.split_last() else {
            return Ok(receiver);
        };
        for name in init {
            receiver = self.eval_field(dot, name, node, &[], None, receiver)?;
        }
        self.eval_field(dot, last, node, args, final_value, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Ev,
        name: &str,
        node: &Arg,
        args: &[Arg],
        final_value: Option<Ev>,
        receiver: Ev,
    ) -> Res<Ev> {
        let has_args = args.len() > 1 || final_value.is_some();
        match &receiver.value {
            Value::Nil => {
                if receiver.iface {
                    return Err(self.error(
                        At::Arg(node),
                        format!("nil pointer evaluating interface {{}}.{name}"),
                    ));
                }
                if self.set.missing_key() == MissingKey::Error {
                    return Err(self.error(
                        At::Arg(node),
                        format!("nil data; no entry for key {}", quote_go(name)),
                    ));
                }
                Ok(Ev::plain(Value::Nil))
            }
            Value::Map(map) => {
                if has_args {
                    return Err(self.error(
                        At::Arg(node),
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                let found = map.entries.borrow().get(name).cloned();
                self.map_result(node, name, found, &map.elem)
            }
            Value::Object(object) => {
                if let Some(method) = object.method(name) {
                    return self.eval_call(
                        dot,
                        &method,
                        At::Arg(node),
                        At::Arg(node),
                        name,
                        args,
                        final_value,
                    );
                }
                if object.is_nil() {
                    return Err(self.error(
                        At::Arg(node),
                        format!("nil pointer evaluating {}.{name}", object.type_name()),
                    ));
                }
                if let Some(field) = object.field(name) {
                    if has_args {
                        return Err(self.error(
                            At::Arg(node),
                            format!("{name} has arguments but cannot be invoked as function"),
                        ));
                    }
                    return Ok(Ev::held(field));
                }
                if let Some(map) = object.map_view() {
                    if has_args {
                        return Err(self.error(
                            At::Arg(node),
                            format!("{name} is not a method but has arguments"),
                        ));
                    }
                    let found = map.entries.borrow().get(name).cloned();
                    return self.map_result(node, name, found, &map.elem);
                }
                let type_name = if receiver.iface {
                    "interface {}"
                } else {
                    object.type_name()
                };
                Err(self.error(
                    At::Arg(node),
                    format!("can't evaluate field {name} in type {type_name}"),
                ))
            }
            other => {
                let type_name = if receiver.iface {
                    "interface {}".to_string()
                } else {
                    other.type_name()
                };
                Err(self.error(
                    At::Arg(node),
                    format!("can't evaluate field {name} in type {type_name}"),
                ))
            }
        }
    }

    fn map_result(
        &self,
        node: &Arg,
        name: &str,
        found: Option<Value>,
        elem: &crate::value::ElemType,
    ) -> Res<Ev> {
        match found {
            Some(value) => Ok(Ev::held(value)),
            None => match self.set.missing_key() {
                MissingKey::Default => Ok(Ev::plain(Value::Nil)),
                MissingKey::Zero => Ok(Ev::held(zero_of(elem))),
                MissingKey::Error => Err(self.error(
                    At::Arg(node),
                    format!("map has no entry for key {}", quote_go(name)),
                )),
            },
        }
    }

    fn eval_function(
        &mut self,
        dot: &Ev,
        node: &Arg,
        name: &str,
        command: At<'_>,
        args: &[Arg],
        final_value: Option<Ev>,
    ) -> Res<Ev> {
        self.last_pos = node.pos();
        let Some(function) = self.set.funcs().get(name).cloned() else {
            return Err(self.error(
                At::Arg(node),
                format!("{} is not a defined function", quote_go(name)),
            ));
        };
        self.eval_call(
            dot,
            &function,
            At::Arg(node),
            command,
            name,
            args,
            final_value,
        )
    }

    /// `at` is where argument-count errors are reported, `call_at` where the function's own
    /// error is (Go reports the identifier, then the whole command).
    #[allow(clippy::too_many_arguments)]
    fn eval_call(
        &mut self,
        dot: &Ev,
        function: &Function,
        at: At<'_>,
        call_at: At<'_>,
        name: &str,
        args: &[Arg],
        final_value: Option<Ev>,
    ) -> Res<Ev> {
        let all_args = args;
        let args = if args.is_empty() { args } else { &args[1..] };
        let params = function.params();
        let num_in = args.len() + usize::from(final_value.is_some());
        let num_fixed = if function.variadic().is_some() {
            params.len()
        } else {
            args.len()
        };
        match function.variadic() {
            Some(_) => {
                if num_in < params.len() {
                    return Err(self.error(
                        at,
                        format!(
                            "wrong number of args for {name}: want at least {} got {}",
                            params.len(),
                            args.len()
                        ),
                    ));
                }
            }
            None => {
                if num_in != params.len() {
                    return Err(self.error(
                        at,
                        format!(
                            "wrong number of args for {name}: want {} got {num_in}",
                            params.len()
                        ),
                    ));
                }
            }
        }
        if let Some(is_or) = function.short_circuit {
            let mut last = Value::Nil;
            for arg in args {
                let value = self.eval_arg(dot, Some(Param::Reflect), arg)?.value;
                if value.truth() == is_or {
                    return Ok(Ev::plain(value));
                }
                last = value;
            }
            if let Some(final_value) = final_value {
                last = final_value.value;
            }
            return Ok(Ev::plain(last));
        }
        let mut argv = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < num_fixed && i < args.len() {
            let value = self.eval_arg(dot, params.get(i).copied(), &args[i])?;
            if let (Some(panic), Value::Nil, false) =
                (function.invalid_arg_panic, &value.value, value.iface)
            {
                return Err(self.function_error(call_at, name, panic));
            }
            argv.push(value.value);
            i += 1;
        }
        if let Some(variadic) = function.variadic() {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(variadic), &args[i])?.value);
                i += 1;
            }
        }
        if let Some(final_value) = final_value {
            let param = if num_in - 1 < params.len() {
                params.get(num_in - 1).copied()
            } else {
                function.variadic()
            };
            let last_at = find_at(all_args, self.last_pos).unwrap_or(at);
            argv.push(self.validate_type(last_at, final_value, param)?.value);
        }
        self.step()?;
        let mut context = Context {
            set: self.set,
            session: self.session,
            depth: self.depth,
        };
        match function.call(&mut context, argv) {
            Ok(value) => Ok(Ev::held(value)),
            Err(FuncError::Nested(error)) => match *error {
                Error::Exec(ExecError {
                    kind: ExecErrorKind::Limit,
                    ..
                }) => Err(*error),
                other => Err(self.function_error(call_at, name, &other.to_string())),
            },
            Err(FuncError::Failed(message)) => Err(self.function_error(call_at, name, &message)),
        }
    }

    fn function_error(&self, at: At<'_>, name: &str, message: &str) -> Error {
        match self.error(at, format!("error calling {name}: {message}")) {
            Error::Exec(mut e) => {
                e.kind = ExecErrorKind::Function;
                Error::Exec(e)
            }
            other => other,
        }
    }

    fn eval_arg(&mut self, dot: &Ev, param: Option<Param>, arg: &Arg) -> Res<Ev> {
        self.last_pos = arg.pos();
        let at = At::Arg(arg);
        match arg {
            Arg::Dot { .. } => return self.validate_type(at, dot.clone(), param),
            Arg::Nil { .. } => {
                return match param {
                    Some(p) if p.can_be_nil() => Ok(Ev::plain(Value::Nil)),
                    None => Ok(Ev::plain(Value::Nil)),
                    Some(p) => Err(self.error(at, format!("cannot assign nil to {}", p.go_name()))),
                };
            }
            Arg::Field { ident, .. } => {
                let value = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    arg,
                    ident,
                    std::slice::from_ref(arg),
                    None,
                )?;
                return self.validate_type(at, value, param);
            }
            Arg::Variable(variable) => {
                let value = self.eval_variable(dot, variable, arg, &[], None)?;
                return self.validate_type(at, value, param);
            }
            Arg::Pipe(pipe) => {
                let value = grow_stack(|| self.eval_pipeline(dot, pipe))?;
                let at = find_at(std::slice::from_ref(arg), self.last_pos)
                    .unwrap_or_else(|| last_evaluated(pipe));
                return self.validate_type(at, value, param);
            }
            Arg::Identifier { name, .. } => {
                let value = self.eval_function(
                    dot,
                    arg,
                    name,
                    At::Arg(arg),
                    std::slice::from_ref(arg),
                    None,
                )?;
                return self.validate_type(at, value, param);
            }
            Arg::Chain { node, fields, .. } => {
                let value = self.eval_chain(dot, arg, node, fields, &[], None)?;
                return self.validate_type(at, value, param);
            }
            _ => {}
        }
        let Some(param) = param else {
            return self.eval_empty_interface(dot, arg);
        };
        match (param, arg) {
            (Param::Bool, Arg::Bool { value, .. }) => Ok(Ev::plain(Value::Bool(*value))),
            (Param::Bool, _) => Err(self.error(at, format!("expected bool; found {arg}"))),
            (Param::Int | Param::Int64, Arg::Number { number, .. }) if number.is_int => {
                let kind = if param == Param::Int {
                    IntKind::Int
                } else {
                    IntKind::Int64
                };
                Ok(Ev::plain(Value::Int(number.int, kind)))
            }
            (Param::Int | Param::Int64, _) => {
                Err(self.error(at, format!("expected integer; found {arg}")))
            }
            (Param::IntOf(kind), Arg::Number { number, .. }) if number.is_int => {
                Ok(Ev::plain(Value::Int(truncate_int(number.int, kind), kind)))
            }
            (Param::IntOf(_), _) => Err(self.error(at, format!("expected integer; found {arg}"))),
            (Param::Uint, Arg::Number { number, .. }) if number.is_uint => Ok(Ev::plain(
                Value::Uint(number.uint, crate::value::UintKind::Uint),
            )),
            (Param::UintOf(kind), Arg::Number { number, .. }) if number.is_uint => Ok(Ev::plain(
                Value::Uint(truncate_uint(number.uint, kind), kind),
            )),
            (Param::Uint | Param::UintOf(_), _) => {
                Err(self.error(at, format!("expected unsigned integer; found {arg}")))
            }
            (Param::Float64, Arg::Number { number, .. }) if number.is_float => {
                Ok(Ev::plain(Value::float(number.float)))
            }
            (Param::Float64, _) => Err(self.error(at, format!("expected float; found {arg}"))),
            (Param::String, Arg::String { text, .. }) => {
                Ok(Ev::plain(Value::string(text.as_str())))
            }
            (Param::String, _) => Err(self.error(at, format!("expected string; found {arg}"))),
            (Param::Any | Param::Reflect, _) => self.eval_empty_interface(dot, arg),
            (other, _) => Err(self.error(
                at,
                format!("can't handle {arg} for arg of type {}", other.go_name()),
            )),
        }
    }

    fn eval_empty_interface(&mut self, dot: &Ev, arg: &Arg) -> Res<Ev> {
        match arg {
            Arg::Bool { value, .. } => Ok(Ev::plain(Value::Bool(*value))),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Number { number, .. } => Ok(Ev::plain(self.ideal_constant(arg, number)?)),
            Arg::String { text, .. } => Ok(Ev::plain(Value::string(text.as_str()))),
            Arg::Nil { .. } => {
                Err(self.error(At::Arg(arg), "evalEmptyInterface: nil (can't happen)"))
            }
            other => self.eval_arg(dot, None, other),
        }
    }

    /// Go's `validateType`: an argument must be assignable to the parameter type.
    fn validate_type(&self, at: At<'_>, value: Ev, param: Option<Param>) -> Res<Ev> {
        let Some(param) = param else {
            return Ok(value);
        };
        if let Value::Nil = value.value {
            if matches!(param, Param::Reflect | Param::Any) {
                return Ok(value);
            }
            if param.can_be_nil() && !value.iface {
                return Ok(Ev::plain(Value::Nil));
            }
            if value.iface {
                return Err(self.error(
                    at,
                    format!(
                        "wrong type for value; expected {}; got interface {{}}",
                        param.go_name()
                    ),
                ));
            }
            return Err(self.error(at, format!("invalid value; expected {}", param.go_name())));
        }
        if param.accepts(&value.value) {
            return Ok(value);
        }
        Err(self.error(
            at,
            format!(
                "wrong type for value; expected {}; got {}",
                param.go_name(),
                value.value.type_name()
            ),
        ))
    }
}

/// Runs a recursive step on a fresh stack segment when the current one runs low: templates nest
/// (`template`, `include`, `tpl`, blocks) as deep as Go allows, which a fixed thread stack would
/// not survive.
pub(crate) fn grow_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(128 * 1024, 4 * 1024 * 1024, f)
}

/// The node Go's executor last visited when a pipeline finished: the innermost last argument.
fn last_evaluated(pipe: &Pipe) -> At<'_> {
    let Some(arg) = pipe.cmds.last().and_then(|c| c.args.last()) else {
        return At::Pipe(pipe);
    };
    match arg {
        Arg::Pipe(inner) => last_evaluated(inner),
        other => At::Arg(other),
    }
}

/// The argument node starting at `pos` within `args` (searching parenthesised pipelines).
fn find_at(args: &[Arg], pos: usize) -> Option<At<'_>> {
    for arg in args {
        match arg {
            Arg::Pipe(pipe) => {
                if let Some(found) = pipe.cmds.iter().find_map(|c| find_at(&c.args, pos)) {
                    return Some(found);
                }
            }
            Arg::Chain { node, .. } => {
                if arg.pos() == pos {
                    return Some(At::Arg(arg));
                }
                if let Some(found) = find_at(std::slice::from_ref(node), pos) {
                    return Some(found);
                }
            }
            other if other.pos() == pos => return Some(At::Arg(other)),
            _ => {}
        }
    }
    None
}

/// Go's `reflect.Value.SetInt` on a narrower type keeps the low bits.
fn truncate_int(value: i64, kind: IntKind) -> i64 {
    match kind {
        IntKind::Int8 => i64::from(value as i8),
        IntKind::Int16 => i64::from(value as i16),
        IntKind::Int32 => i64::from(value as i32),
        IntKind::Int | IntKind::Int64 => value,
    }
}

fn truncate_uint(value: u64, kind: crate::value::UintKind) -> u64 {
    use crate::value::UintKind;
    match kind {
        UintKind::Uint8 => u64::from(value as u8),
        UintKind::Uint16 => u64::from(value as u16),
        UintKind::Uint32 => u64::from(value as u32),
        _ => value,
    }
}

/// The zero value of a map's element type (what `missingkey=zero` yields).
fn zero_of(elem: &crate::value::ElemType) -> Value {
    use crate::value::ElemType;
    match elem {
        ElemType::String => Value::string(""),
        ElemType::Int => Value::int(0),
        ElemType::Int64 => Value::int64(0),
        ElemType::Float64 => Value::float(0.0),
        ElemType::Bool => Value::Bool(false),
        ElemType::Any | ElemType::Named(_) => Value::Nil,
    }
}

/// What an action prints: Go's `fmt.Fprint` of the value, `<no value>` for no value.
fn printable(value: &Value) -> String {
    match value {
        Value::Nil => "<no value>".to_string(),
        Value::String(s) => s.to_string(),
        other => crate::fmt::to_string_action(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_marks_missing_values() {
        assert_eq!(printable(&Value::Nil), "<no value>");
        assert_eq!(printable(&Value::float(1e6)), "1e+06");
    }
}
