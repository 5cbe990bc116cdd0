//! Template functions: their Go signatures (which decide argument conversion and error texts)
//! and the function maps: Go's builtins, Sprig's and Helm's.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::FuncError;
use crate::exec::Context;
use crate::value::{ElemType, Value};

pub mod builtins;
pub mod convert;
pub mod helm;
mod json_errors;
pub mod sprig;

/// The Go type of a parameter. Arguments are checked and converted against it exactly as Go's
/// reflection-based call does (untyped constants convert; typed values must match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `interface {}`: anything, nil included.
    Any,
    String,
    Int,
    Int64,
    Uint,
    Float64,
    Bool,
    /// `map[string]interface {}` (named map types such as `chartutil.Values` are assignable).
    Map,
    /// `[]interface {}`.
    List,
    /// `[]string`.
    StringList,
    /// `[]byte`.
    Bytes,
    /// `reflect.Value`: the raw argument, an untyped nil included (Go's builtins).
    Reflect,
    /// Any other signed integer type (`int8`, `int32`, …).
    IntOf(crate::value::IntKind),
    /// Any other unsigned integer type (`uint8`, `uint16`, …).
    UintOf(crate::value::UintKind),
}

impl Param {
    pub fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::String => "string",
            Param::Int => "int",
            Param::Int64 => "int64",
            Param::Uint => "uint",
            Param::Float64 => "float64",
            Param::Bool => "bool",
            Param::Map => "map[string]interface {}",
            Param::List => "[]interface {}",
            Param::StringList => "[]string",
            Param::Bytes => "[]uint8",
            Param::Reflect => "reflect.Value",
            Param::IntOf(kind) => crate::value::int_kind_name(kind),
            Param::UintOf(kind) => crate::value::uint_kind_name(kind),
        }
    }

    /// Whether Go's `reflect.Zero` of this type is a nil (so an untyped nil is accepted).
    pub fn can_be_nil(self) -> bool {
        matches!(
            self,
            Param::Any
                | Param::Map
                | Param::List
                | Param::StringList
                | Param::Bytes
                | Param::Reflect
        )
    }

    /// Whether a value of this Go type may be passed (Go's assignability).
    pub fn accepts(self, value: &Value) -> bool {
        match (self, value) {
            (Param::Any | Param::Reflect, _) => true,
            (Param::String, Value::String(_)) => true,
            (Param::Int, Value::Int(_, crate::value::IntKind::Int)) => true,
            (Param::Int64, Value::Int(_, crate::value::IntKind::Int64)) => true,
            (Param::Uint, Value::Uint(_, crate::value::UintKind::Uint)) => true,
            (Param::Float64, Value::Float(_, false)) => true,
            (Param::Bool, Value::Bool(_)) => true,
            (Param::Map, Value::Map(m)) => m.elem == ElemType::Any,
            (Param::Map, Value::Object(o)) => o.map_view().is_some_and(|m| m.elem == ElemType::Any),
            (Param::List, Value::List(l)) => l.elem == ElemType::Any,
            (Param::StringList, Value::List(l)) => l.elem == ElemType::String,
            (Param::Bytes, Value::Bytes(_)) => true,
            (Param::IntOf(k), Value::Int(_, kind)) => k == *kind,
            (Param::UintOf(k), Value::Uint(_, kind)) => k == *kind,
            _ => false,
        }
    }
}

type SharedImpl =
    dyn Fn(&mut Context<'_, '_>, Vec<Value>) -> Result<Value, FuncError> + Send + Sync;
type LocalImpl = dyn Fn(&mut Context<'_, '_>, Vec<Value>) -> Result<Value, FuncError>;

#[derive(Clone)]
enum Callee {
    Shared(Arc<SharedImpl>),
    Local(Rc<LocalImpl>),
}

/// A callable with a Go signature: fixed parameters, optionally a variadic tail.
#[derive(Clone)]
pub struct Function {
    params: Arc<[Param]>,
    variadic: Option<Param>,
    callee: Callee,
    /// Go's `and`/`or`, which the executor evaluates lazily.
    pub(crate) short_circuit: Option<bool>,
    /// For builtins that take `reflect.Value`: the panic text Go produces when an argument is
    /// "no value" (an invalid reflect.Value) rather than a nil held in an interface.
    pub(crate) invalid_arg_panic: Option<&'static str>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "func({:?}, ...{:?})", self.params, self.variadic)
    }
}

impl Function {
    /// A function shareable across threads (the kind a [`FuncMap`] holds).
    pub fn new(
        params: &[Param],
        variadic: Option<Param>,
        implementation: impl Fn(&mut Context<'_, '_>, Vec<Value>) -> Result<Value, FuncError>
        + Send
        + Sync
        + 'static,
    ) -> Function {
        Function {
            params: params.into(),
            variadic,
            callee: Callee::Shared(Arc::new(implementation)),
            short_circuit: None,
            invalid_arg_panic: None,
        }
    }

    /// A function bound to per-execution data, such as a host object's method.
    pub fn local(
        params: &[Param],
        variadic: Option<Param>,
        implementation: impl Fn(&mut Context<'_, '_>, Vec<Value>) -> Result<Value, FuncError> + 'static,
    ) -> Function {
        Function {
            params: params.into(),
            variadic,
            callee: Callee::Local(Rc::new(implementation)),
            short_circuit: None,
            invalid_arg_panic: None,
        }
    }

    pub fn params(&self) -> &[Param] {
        &self.params
    }

    pub fn variadic(&self) -> Option<Param> {
        self.variadic
    }

    pub fn call(
        &self,
        context: &mut Context<'_, '_>,
        args: Vec<Value>,
    ) -> Result<Value, FuncError> {
        match &self.callee {
            Callee::Shared(f) => f(context, args),
            Callee::Local(f) => f(context, args),
        }
    }
}

/// Named functions available to templates. Later insertions replace earlier ones, as
/// `template.Funcs` does.
#[derive(Clone, Default)]
pub struct FuncMap {
    functions: HashMap<String, Function>,
}

impl FuncMap {
    pub fn new() -> FuncMap {
        FuncMap::default()
    }

    /// Go's builtins only (`and`, `or`, `not`, `len`, `index`, `slice`, `print`, `eq`, …).
    pub fn go_builtins() -> FuncMap {
        let mut map = FuncMap::new();
        builtins::register(&mut map);
        map
    }

    /// Go's builtins plus Sprig v3.3.0's text function map (with `env`/`expandenv`).
    pub fn sprig() -> FuncMap {
        let mut map = FuncMap::go_builtins();
        sprig::register(&mut map);
        map
    }

    /// What Helm v4 gives chart templates: builtins, Sprig without `env`/`expandenv`, and
    /// Helm's own functions (`include`, `tpl`, `required`, `toYaml`, `lookup`, …). `lookup`
    /// returns an empty map and `getHostByName` an empty string, as `helm template` does;
    /// replace them with [`FuncMap::insert`] to connect a cluster or a resolver.
    pub fn helm() -> FuncMap {
        let mut map = FuncMap::sprig();
        map.remove("env");
        map.remove("expandenv");
        helm::register(&mut map);
        map
    }

    pub fn insert(&mut self, name: impl Into<String>, function: Function) {
        self.functions.insert(name.into(), function);
    }

    pub fn remove(&mut self, name: &str) -> Option<Function> {
        self.functions.remove(name)
    }

    pub fn get(&self, name: &str) -> Option<&Function> {
        self.functions.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.functions.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.functions.keys().map(String::as_str)
    }

    /// Registers a function with fixed parameters.
    pub(crate) fn add(
        &mut self,
        name: &str,
        params: &[Param],
        implementation: impl Fn(&mut Context<'_, '_>, Vec<Value>) -> Result<Value, FuncError>
        + Send
        + Sync
        + 'static,
    ) {
        self.insert(name, Function::new(params, None, implementation));
    }

    /// Registers a variadic function.
    pub(crate) fn add_variadic(
        &mut self,
        name: &str,
        params: &[Param],
        variadic: Param,
        implementation: impl Fn(&mut Context<'_, '_>, Vec<Value>) -> Result<Value, FuncError>
        + Send
        + Sync
        + 'static,
    ) {
        self.insert(name, Function::new(params, Some(variadic), implementation));
    }
}

/// The argument at `index`, or nil when absent.
pub(crate) fn str_arg(args: &[Value], index: usize) -> &str {
    args.get(index).and_then(Value::as_str).unwrap_or("")
}

pub(crate) fn int_arg(args: &[Value], index: usize) -> i64 {
    match args.get(index).unwrap_or(&Value::Nil) {
        Value::Int(i, _) => *i,
        Value::Uint(u, _) => *u as i64,
        _ => 0,
    }
}
