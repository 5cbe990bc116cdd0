//! The Go-shaped value model: what a template sees as `.`, variables, arguments and results.
//!
//! Go's templates run on `reflect.Value`s; what decides output bytes is each value's Go type
//! (`int` vs `int64` vs `float64`, `[]string` vs `[]interface {}`), so every value here carries
//! enough to name its Go type. Maps and host objects are shared references, like Go's maps and
//! pointers: Sprig's `set` mutates a dict that another variable also sees.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use crate::funcs::Function;

/// The signed integer kinds of Go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntKind {
    Int,
    Int8,
    Int16,
    Int32,
    Int64,
}

/// The unsigned integer kinds of Go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UintKind {
    Uint,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Uintptr,
}

/// The static element type of a slice or map, which `%T`, `typeOf` and argument checks show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElemType {
    /// `interface {}`: anything.
    Any,
    String,
    Int,
    Int64,
    Float64,
    Bool,
    /// Any other Go type, by name (for host data).
    Named(Rc<str>),
}

impl Default for List {
    fn default() -> List {
        List {
            elem: ElemType::Any,
            items: Vec::new(),
        }
    }
}

impl ElemType {
    pub fn go_name(&self) -> &str {
        match self {
            ElemType::Any => "interface {}",
            ElemType::String => "string",
            ElemType::Int => "int",
            ElemType::Int64 => "int64",
            ElemType::Float64 => "float64",
            ElemType::Bool => "bool",
            ElemType::Named(name) => name,
        }
    }
}

/// A Go slice. Immutable once built: Sprig's list functions return new slices.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    pub elem: ElemType,
    pub items: Vec<Value>,
}

/// A Go map with string keys, shared and mutable like Go's maps.
#[derive(Debug)]
pub struct MapData {
    pub elem: ElemType,
    pub entries: RefCell<BTreeMap<String, Value>>,
}

pub type MapRef = Rc<MapData>;

/// A Go value of a type the caller defines: a struct with fields and methods (Helm's `.Files`,
/// `.Capabilities`), or a named map/slice type with methods (`chartutil.Values`, `VersionSet`).
pub trait HostObject {
    /// The Go type name `%T` prints, such as `chartutil.Values` or `*chartutil.Capabilities`.
    fn type_name(&self) -> &str;
    /// A method with this name, bound to the receiver. Methods shadow fields and map keys.
    fn method(&self, _name: &str) -> Option<Function> {
        None
    }
    /// An exported field with this name.
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    /// For a named map type: its entries (key lookup, `range`, `index`, printing, conversions).
    fn map_view(&self) -> Option<MapRef> {
        None
    }
    /// For a named slice type: its elements.
    fn list_view(&self) -> Option<Rc<List>> {
        None
    }
    /// For a Go map whose keys are not strings (Flux's `map[ObjectIdentifier][]Change`): its
    /// (key, value) pairs in the order `range` visits them. Only `range` uses it; key lookup by
    /// field name still goes through [`HostObject::map_view`].
    fn range_entries(&self) -> Option<Vec<(Value, Value)>> {
        None
    }
    /// A nil pointer of this type (`<nil>` when printed, an error when a field is taken).
    fn is_nil(&self) -> bool {
        false
    }
    /// What `fmt` prints for it: a `String()`/`Error()` method's result, or the struct form
    /// `{field1 field2}`. `None` prints `{}`.
    fn display(&self) -> Option<String> {
        None
    }
    /// The struct's fields in declaration order, for conversions to JSON/YAML.
    fn fields(&self) -> Vec<(String, Value)> {
        Vec::new()
    }
    /// The JSON text of a type with its own `MarshalJSON` (such as `time.Time`), used by
    /// `toJson` and `toYaml` instead of the fields.
    fn marshal_json(&self) -> Option<String> {
        None
    }
}

/// One Go value.
#[derive(Clone, Default)]
pub enum Value {
    /// `nil`: an untyped nil or a nil `interface {}`.
    #[default]
    Nil,
    Bool(bool),
    Int(i64, IntKind),
    Uint(u64, UintKind),
    /// A float64, or a float32 when the flag is set.
    Float(f64, bool),
    String(Rc<str>),
    /// `[]byte`.
    Bytes(Rc<[u8]>),
    List(Rc<List>),
    Map(MapRef),
    Object(Rc<dyn HostObject>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i, k) => write!(f, "{i}({k:?})"),
            Value::Uint(u, k) => write!(f, "{u}({k:?})"),
            Value::Float(x, _) => write!(f, "{x}f"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "bytes{b:?}"),
            Value::List(l) => f.debug_list().entries(l.items.iter()).finish(),
            Value::Map(m) => f.debug_map().entries(m.entries.borrow().iter()).finish(),
            Value::Object(o) => write!(f, "<{}>", o.type_name()),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        crate::value::deep_equal(self, other)
    }
}

impl Value {
    pub fn int(i: i64) -> Value {
        Value::Int(i, IntKind::Int)
    }
    pub fn int64(i: i64) -> Value {
        Value::Int(i, IntKind::Int64)
    }
    pub fn float(f: f64) -> Value {
        Value::Float(f, false)
    }
    pub fn string(s: impl Into<Rc<str>>) -> Value {
        Value::String(s.into())
    }
    /// A `[]interface {}`.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(List {
            elem: ElemType::Any,
            items,
        }))
    }
    /// A `[]string`.
    pub fn string_list(items: impl IntoIterator<Item = String>) -> Value {
        Value::List(Rc::new(List {
            elem: ElemType::String,
            items: items.into_iter().map(Value::string).collect(),
        }))
    }
    /// A `map[string]interface {}`.
    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::typed_map(ElemType::Any, entries)
    }
    pub fn typed_map(elem: ElemType, entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(MapData {
            elem,
            entries: RefCell::new(entries),
        }))
    }
    pub fn empty_map() -> Value {
        Value::map(BTreeMap::new())
    }

    /// Converts JSON the way Go's `encoding/json` decodes into `interface {}`: numbers become
    /// float64, objects `map[string]interface {}`, arrays `[]interface {}`.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::float(n.as_f64().unwrap_or(0.0)),
            serde_json::Value::String(s) => Value::string(s.as_str()),
            serde_json::Value::Array(items) => {
                Value::list(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => Value::map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    pub fn is_nil(&self) -> bool {
        match self {
            Value::Nil => true,
            Value::Object(o) => o.is_nil(),
            _ => false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a map or a named map type.
    pub fn as_map(&self) -> Option<MapRef> {
        match self {
            Value::Map(m) => Some(m.clone()),
            Value::Object(o) => o.map_view(),
            _ => None,
        }
    }

    /// The elements of a slice or a named slice type.
    pub fn as_list(&self) -> Option<Rc<List>> {
        match self {
            Value::List(l) => Some(l.clone()),
            Value::Object(o) => o.list_view(),
            _ => None,
        }
    }

    /// Go's truth: false, zero numbers, "", nil and empty collections are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Uint(u, _) => *u != 0,
            Value::Float(f, _) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.items.is_empty(),
            Value::Map(m) => !m.entries.borrow().is_empty(),
            Value::Object(o) => {
                if o.is_nil() {
                    false
                } else if let Some(m) = o.map_view() {
                    !m.entries.borrow().is_empty()
                } else if let Some(l) = o.list_view() {
                    !l.items.is_empty()
                } else {
                    true
                }
            }
        }
    }

    /// The Go type name, as `%T` prints it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".to_string(),
            Value::Bool(_) => "bool".to_string(),
            Value::Int(_, k) => int_kind_name(*k).to_string(),
            Value::Uint(_, k) => uint_kind_name(*k).to_string(),
            Value::Float(_, f32) => if *f32 { "float32" } else { "float64" }.to_string(),
            Value::String(_) => "string".to_string(),
            Value::Bytes(_) => "[]uint8".to_string(),
            Value::List(l) => format!("[]{}", l.elem.go_name()),
            Value::Map(m) => format!("map[string]{}", m.elem.go_name()),
            Value::Object(o) => o.type_name().to_string(),
        }
    }

    /// The Go `reflect.Kind` name, as Sprig's `kindOf` prints it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_, k) => int_kind_name(*k),
            Value::Uint(_, k) => uint_kind_name(*k),
            Value::Float(_, f32) => {
                if *f32 {
                    "float32"
                } else {
                    "float64"
                }
            }
            Value::String(_) => "string",
            Value::Bytes(_) | Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => {
                if o.map_view().is_some() {
                    "map"
                } else if o.list_view().is_some() {
                    "slice"
                } else if o.type_name().starts_with('*') {
                    "ptr"
                } else {
                    "struct"
                }
            }
        }
    }
}

pub fn int_kind_name(kind: IntKind) -> &'static str {
    match kind {
        IntKind::Int => "int",
        IntKind::Int8 => "int8",
        IntKind::Int16 => "int16",
        IntKind::Int32 => "int32",
        IntKind::Int64 => "int64",
    }
}

pub fn uint_kind_name(kind: UintKind) -> &'static str {
    match kind {
        UintKind::Uint => "uint",
        UintKind::Uint8 => "uint8",
        UintKind::Uint16 => "uint16",
        UintKind::Uint32 => "uint32",
        UintKind::Uint64 => "uint64",
        UintKind::Uintptr => "uintptr",
    }
}

/// `reflect.DeepEqual` on the value model: same types, same contents.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x, k), Value::Int(y, l)) => x == y && k == l,
        (Value::Uint(x, k), Value::Uint(y, l)) => x == y && k == l,
        (Value::Float(x, k), Value::Float(y, l)) => x == y && k == l,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.elem == y.elem
                && x.items.len() == y.items.len()
                && x.items.iter().zip(&y.items).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x_entries, y_entries) = (x.entries.borrow(), y.entries.borrow());
            x.elem == y.elem
                && x_entries.len() == y_entries.len()
                && x_entries
                    .iter()
                    .zip(y_entries.iter())
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && deep_equal(v1, v2))
        }
        (Value::Object(x), Value::Object(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}
