//! A set of named templates sharing one namespace and one function map, as a Go
//! `*template.Template` with its associated templates (Helm parses every chart file into one).

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::ast::Tree;
use crate::error::{Error, ExecError, ExecErrorKind};
use crate::exec::{Exec, Session};
use crate::fmt::quote_go;
use crate::funcs::FuncMap;
use crate::parse::parse;
use crate::value::Value;

/// What a missing map key evaluates to (Go's `missingkey` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// `missingkey=default`/`invalid`: "no value", printed `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero`: the map element type's zero value (Helm's mode).
    Zero,
    /// `missingkey=error`: execution stops with an error (Helm's `--strict` lint).
    Error,
}

/// Bounds on one execution, so that a stranger's chart cannot exhaust the process.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Nesting of `template`/`include`/`tpl` calls. Go's own cap is 100,000; the default here
    /// is 10,000, which keeps the memory a runaway recursion takes (the stack grows on the heap)
    /// near 100 MiB. Helm's own include cap (below) stops ordinary recursion first.
    pub max_depth: usize,
    /// How often one name may be nested inside itself through `include` (Helm: 1,000).
    pub max_include_depth: usize,
    /// Total bytes an execution may write (nested `include` output counts too).
    pub max_output_bytes: usize,
    /// Wall-clock time an execution may take.
    pub timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 10_000,
            max_include_depth: 1000,
            max_output_bytes: 64 << 20,
            timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// Parsed templates plus the functions and options they run with.
///
/// Cloning is cheap (trees are shared); Helm's `tpl` parses into a clone so that its
/// `define`s do not leak into the chart's set.
#[derive(Clone)]
pub struct TemplateSet {
    name: String,
    trees: HashMap<String, Arc<Tree>>,
    funcs: Rc<FuncMap>,
    missing_key: MissingKey,
    limits: Limits,
}

impl TemplateSet {
    /// An empty set. `name` is the root template's name (Helm uses `gotpl`); `tpl` parses its
    /// text under this name.
    pub fn new(name: impl Into<String>, funcs: FuncMap) -> TemplateSet {
        TemplateSet {
            name: name.into(),
            trees: HashMap::new(),
            funcs: Rc::new(funcs),
            missing_key: MissingKey::Default,
            limits: Limits::default(),
        }
    }

    pub fn with_missing_key(mut self, missing_key: MissingKey) -> TemplateSet {
        self.missing_key = missing_key;
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> TemplateSet {
        self.limits = limits;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn missing_key(&self) -> MissingKey {
        self.missing_key
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn funcs(&self) -> &FuncMap {
        &self.funcs
    }

    /// Parses one file's text as the template `name`, adding its `define`s and `block`s.
    /// As in Go, a later definition replaces an earlier one unless the later one is empty
    /// (only space and comments).
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let funcs = self.funcs.clone();
        let trees = parse(name, text, &|f| funcs.contains(f))?;
        for tree in trees {
            let keep_existing = tree.is_empty()
                && self
                    .trees
                    .get(&tree.name)
                    .is_some_and(|existing| !existing.is_empty());
            if !keep_existing {
                self.trees.insert(tree.name.clone(), Arc::new(tree));
            }
        }
        Ok(())
    }

    /// Names of every template in the set, sorted.
    pub fn template_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.trees.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    pub fn has_template(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    pub(crate) fn tree(&self, name: &str) -> Option<Arc<Tree>> {
        self.trees.get(name).cloned()
    }

    /// Executes the named template with `data` as `.` and `$` (Go's `ExecuteTemplate`).
    pub fn execute(&self, name: &str, data: Value) -> Result<String, Error> {
        let mut out = String::new();
        self.execute_into(name, data, &mut out)?;
        Ok(out)
    }

    /// Like [`execute`](Self::execute), appending to `out`; on error `out` holds what was
    /// written before the failure, as Go's writer would.
    pub fn execute_into(&self, name: &str, data: Value, out: &mut String) -> Result<(), Error> {
        let Some(tree) = self.tree(name) else {
            return Err(Error::Exec(ExecError {
                message: format!(
                    "template: no template {} associated with template {}",
                    quote_go(name),
                    quote_go(&self.name)
                ),
                kind: ExecErrorKind::Template,
            }));
        };
        let mut session = Session::new(self);
        let mut exec = Exec::new(self, &mut session, tree);
        exec.run(data, out)
    }
}
