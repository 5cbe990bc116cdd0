//! A small evaluator for the CEL expressions Flux users write in `commitStatusExpr`, Receiver
//! `filter` and `resourceFilter`: literals, field access, indexing, `+ - ! && || == != < <= > >=
//! in ?:`, `has()`, `size()` and the string methods `lowerAscii`, `upperAscii`, `startsWith`,
//! `endsWith`, `contains`, `matches`, `split`, `join`, `trim`, `replace`. Anything else is a
//! clear error naming what is unsupported, never a silent wrong answer.

use serde_json::{Value, json};

/// Why an expression cannot be evaluated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CelError {
    #[error("invalid CEL expression: {0}")]
    Parse(String),
    #[error("CEL evaluation failed: {0}")]
    Eval(String),
    #[error("CEL expression must produce a {expected}, got {got}")]
    Type { expected: &'static str, got: String },
}

/// Evaluates `expression` with `variables` (a JSON object of top-level names) to a string.
pub fn evaluate_string(expression: &str, variables: &Value) -> Result<String, CelError> {
    match evaluate(expression, variables)? {
        Value::String(text) => Ok(text),
        other => Err(CelError::Type {
            expected: "string",
            got: type_name(&other).into(),
        }),
    }
}

/// Evaluates `expression` to a boolean.
pub fn evaluate_bool(expression: &str, variables: &Value) -> Result<bool, CelError> {
    match evaluate(expression, variables)? {
        Value::Bool(value) => Ok(value),
        other => Err(CelError::Type {
            expected: "bool",
            got: type_name(&other).into(),
        }),
    }
}

/// Checks that `expression` parses (for validating specs before any request arrives).
pub fn check(expression: &str) -> Result<(), CelError> {
    parse(expression).map(|_| ())
}

/// Evaluates `expression` to a JSON value.
pub fn evaluate(expression: &str, variables: &Value) -> Result<Value, CelError> {
    let ast = parse(expression)?;
    eval(&ast, variables)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Op(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Token>, CelError> {
    const OPS: &[&str] = &[
        "&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", ".", ",", "(", ")", "[", "]",
        "?", ":",
    ];
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let quote = c;
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(CelError::Parse("unterminated string".into())),
                    Some('\\') => {
                        let escaped = chars
                            .get(i + 1)
                            .ok_or_else(|| CelError::Parse("bad escape".into()))?;
                        value.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            other => *other,
                        });
                        i += 2;
                    }
                    Some(ch) if *ch == quote => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        value.push(*ch);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Str(value));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            tokens.push(Token::Int(
                digits
                    .parse()
                    .map_err(|_| CelError::Parse(format!("bad number {digits}")))?,
            ));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = OPS
                .iter()
                .find(|op| rest.starts_with(**op))
                .ok_or_else(|| CelError::Parse(format!("unexpected character '{c}'")))?;
            tokens.push(Token::Op(op));
            i += op.len();
        }
    }
    Ok(tokens)
}

#[derive(Debug, Clone)]
enum Ast {
    Literal(Value),
    Var(String),
    List(Vec<Ast>),
    Member(Box<Ast>, String),
    Index(Box<Ast>, Box<Ast>),
    Call(Option<Box<Ast>>, String, Vec<Ast>),
    Unary(&'static str, Box<Ast>),
    Binary(&'static str, Box<Ast>, Box<Ast>),
    Conditional(Box<Ast>, Box<Ast>, Box<Ast>),
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
    /// Current nesting; bounded so a hostile expression cannot overflow the stack.
    depth: usize,
}

/// Deepest nesting of parentheses, lists and call arguments accepted.
const MAX_DEPTH: usize = 64;
/// Longest expression accepted, in tokens; also bounds the evaluator's recursion.
const MAX_TOKENS: usize = 512;

fn parse(text: &str) -> Result<Ast, CelError> {
    let tokens = tokenize(text)?;
    if tokens.len() > MAX_TOKENS {
        return Err(CelError::Parse(format!(
            "expression longer than {MAX_TOKENS} tokens"
        )));
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        depth: 0,
    };
    let ast = parser.conditional()?;
    if parser.position != parser.tokens.len() {
        return Err(CelError::Parse(format!(
            "unexpected {:?}",
            parser.tokens[parser.position]
        )));
    }
    Ok(ast)
}

impl Parser {
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.tokens.get(self.position), Some(Token::Op(o)) if *o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let found = self.peek_op(op);
        if found {
            self.position += 1;
        }
        found
    }

    fn expect_op(&mut self, op: &str) -> Result<(), CelError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(CelError::Parse(format!("expected '{op}'")))
        }
    }

    fn conditional(&mut self) -> Result<Ast, CelError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CelError::Parse(format!(
                "expression nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let result = self.conditional_inner();
        self.depth -= 1;
        result
    }

    fn conditional_inner(&mut self) -> Result<Ast, CelError> {
        let condition = self.binary(0)?;
        if self.eat_op("?") {
            let then = self.conditional()?;
            self.expect_op(":")?;
            let otherwise = self.conditional()?;
            return Ok(Ast::Conditional(
                Box::new(condition),
                Box::new(then),
                Box::new(otherwise),
            ));
        }
        Ok(condition)
    }

    fn binary(&mut self, level: usize) -> Result<Ast, CelError> {
        const LEVELS: &[&[&str]] = &[
            &["||"],
            &["&&"],
            &["==", "!=", "<", "<=", ">", ">=", "in"],
            &["+", "-"],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            let op = match self.tokens.get(self.position) {
                Some(Token::Op(op)) if LEVELS[level].contains(op) => *op,
                Some(Token::Ident(word)) if word == "in" && LEVELS[level].contains(&"in") => "in",
                _ => return Ok(left),
            };
            self.position += 1;
            let right = self.binary(level + 1)?;
            left = Ast::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Ast, CelError> {
        if self.eat_op("!") {
            return Ok(Ast::Unary("!", Box::new(self.unary()?)));
        }
        if self.eat_op("-") {
            return Ok(Ast::Unary("-", Box::new(self.unary()?)));
        }
        self.postfix()
    }

    fn arguments(&mut self, close: &str) -> Result<Vec<Ast>, CelError> {
        let mut arguments = Vec::new();
        if self.eat_op(close) {
            return Ok(arguments);
        }
        loop {
            arguments.push(self.conditional()?);
            if self.eat_op(close) {
                return Ok(arguments);
            }
            self.expect_op(",")?;
        }
    }

    fn postfix(&mut self) -> Result<Ast, CelError> {
        let mut ast = self.primary()?;
        loop {
            if self.eat_op(".") {
                let Some(Token::Ident(name)) = self.tokens.get(self.position).cloned() else {
                    return Err(CelError::Parse(
                        "expected a field or method name after '.'".into(),
                    ));
                };
                self.position += 1;
                ast = if self.eat_op("(") {
                    Ast::Call(Some(Box::new(ast)), name, self.arguments(")")?)
                } else {
                    Ast::Member(Box::new(ast), name)
                };
            } else if self.eat_op("[") {
                let index = self.conditional()?;
                self.expect_op("]")?;
                ast = Ast::Index(Box::new(ast), Box::new(index));
            } else {
                return Ok(ast);
            }
        }
    }

    fn primary(&mut self) -> Result<Ast, CelError> {
        let token = self
            .tokens
            .get(self.position)
            .cloned()
            .ok_or_else(|| CelError::Parse("unexpected end".into()))?;
        self.position += 1;
        match token {
            Token::Str(text) => Ok(Ast::Literal(json!(text))),
            Token::Int(number) => Ok(Ast::Literal(json!(number))),
            Token::Ident(word) => match word.as_str() {
                "true" => Ok(Ast::Literal(json!(true))),
                "false" => Ok(Ast::Literal(json!(false))),
                "null" => Ok(Ast::Literal(Value::Null)),
                _ if self.eat_op("(") => Ok(Ast::Call(None, word, self.arguments(")")?)),
                _ => Ok(Ast::Var(word)),
            },
            Token::Op("(") => {
                let inner = self.conditional()?;
                self.expect_op(")")?;
                Ok(inner)
            }
            Token::Op("[") => Ok(Ast::List(self.arguments("]")?)),
            Token::Op(op) => Err(CelError::Parse(format!("unexpected '{op}'"))),
        }
    }
}

fn eval(ast: &Ast, variables: &Value) -> Result<Value, CelError> {
    match ast {
        Ast::Literal(value) => Ok(value.clone()),
        Ast::Var(name) => variables
            .get(name)
            .cloned()
            .ok_or_else(|| CelError::Eval(format!("undeclared reference to '{name}'"))),
        Ast::List(items) => Ok(Value::Array(
            items
                .iter()
                .map(|item| eval(item, variables))
                .collect::<Result<_, _>>()?,
        )),
        Ast::Member(target, field) => match eval(target, variables)? {
            Value::Object(map) => map
                .get(field)
                .cloned()
                .ok_or_else(|| CelError::Eval(format!("no such key: {field}"))),
            other => Err(CelError::Eval(format!(
                "cannot select '{field}' from a {}",
                type_name(&other)
            ))),
        },
        Ast::Index(target, index) => {
            let target = eval(target, variables)?;
            let index = eval(index, variables)?;
            match (&target, &index) {
                (Value::Array(items), Value::Number(n)) => n
                    .as_u64()
                    .and_then(|i| items.get(i as usize))
                    .cloned()
                    .ok_or_else(|| CelError::Eval(format!("index {n} out of range"))),
                (Value::Object(map), Value::String(key)) => map
                    .get(key)
                    .cloned()
                    .ok_or_else(|| CelError::Eval(format!("no such key: {key}"))),
                _ => Err(CelError::Eval(format!(
                    "cannot index a {} with a {}",
                    type_name(&target),
                    type_name(&index)
                ))),
            }
        }
        Ast::Unary(op, operand) => {
            let value = eval(operand, variables)?;
            match (*op, value) {
                ("!", Value::Bool(b)) => Ok(json!(!b)),
                ("-", Value::Number(n)) => n
                    .as_i64()
                    .and_then(i64::checked_neg)
                    .map(|negated| json!(negated))
                    .ok_or_else(|| CelError::Eval("integer overflow".into())),
                (op, other) => Err(CelError::Eval(format!(
                    "'{op}' does not apply to a {}",
                    type_name(&other)
                ))),
            }
        }
        Ast::Conditional(condition, then, otherwise) => match eval(condition, variables)? {
            Value::Bool(true) => eval(then, variables),
            Value::Bool(false) => eval(otherwise, variables),
            other => Err(CelError::Eval(format!(
                "condition is a {}, not a bool",
                type_name(&other)
            ))),
        },
        Ast::Binary(op, left, right) => binary(op, left, right, variables),
        Ast::Call(None, name, arguments) if name == "has" => match arguments.as_slice() {
            [Ast::Member(target, field)] => match eval(target, variables)? {
                Value::Object(map) => Ok(json!(map.contains_key(field))),
                _ => Ok(json!(false)),
            },
            _ => Err(CelError::Eval(
                "has() takes one field selection like has(a.b)".into(),
            )),
        },
        Ast::Call(None, name, arguments) => {
            let arguments: Vec<Value> = arguments
                .iter()
                .map(|a| eval(a, variables))
                .collect::<Result<_, _>>()?;
            match (name.as_str(), arguments.as_slice()) {
                ("size", [value]) => size(value),
                ("string", [value]) => Ok(json!(match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })),
                _ => Err(CelError::Eval(format!("unsupported function '{name}'"))),
            }
        }
        Ast::Call(Some(target), name, arguments) => {
            let target = eval(target, variables)?;
            let arguments: Vec<Value> = arguments
                .iter()
                .map(|a| eval(a, variables))
                .collect::<Result<_, _>>()?;
            method(&target, name, &arguments)
        }
    }
}

fn binary(op: &str, left: &Ast, right: &Ast, variables: &Value) -> Result<Value, CelError> {
    // Short-circuit logic first: the right side may not even be evaluable.
    if op == "&&" || op == "||" {
        let left = as_bool(eval(left, variables)?)?;
        if (op == "&&" && !left) || (op == "||" && left) {
            return Ok(json!(left));
        }
        return Ok(json!(as_bool(eval(right, variables)?)?));
    }
    let left = eval(left, variables)?;
    let right = eval(right, variables)?;
    match (op, &left, &right) {
        ("==", _, _) => Ok(json!(left == right)),
        ("!=", _, _) => Ok(json!(left != right)),
        ("+", Value::String(a), Value::String(b)) => Ok(json!(format!("{a}{b}"))),
        ("+", Value::Array(a), Value::Array(b)) => {
            Ok(Value::Array(a.iter().chain(b).cloned().collect()))
        }
        ("+" | "-" | "<" | "<=" | ">" | ">=", Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_i64().unwrap_or_default(),
                b.as_i64().unwrap_or_default(),
            );
            let overflow = || CelError::Eval("integer overflow".into());
            Ok(match op {
                "+" => json!(a.checked_add(b).ok_or_else(overflow)?),
                "-" => json!(a.checked_sub(b).ok_or_else(overflow)?),
                "<" => json!(a < b),
                "<=" => json!(a <= b),
                ">" => json!(a > b),
                _ => json!(a >= b),
            })
        }
        ("<" | "<=" | ">" | ">=", Value::String(a), Value::String(b)) => Ok(json!(match op {
            "<" => a < b,
            "<=" => a <= b,
            ">" => a > b,
            _ => a >= b,
        })),
        ("in", _, Value::Array(items)) => Ok(json!(items.contains(&left))),
        ("in", Value::String(key), Value::Object(map)) => Ok(json!(map.contains_key(key))),
        _ => Err(CelError::Eval(format!(
            "'{op}' does not apply to a {} and a {}",
            type_name(&left),
            type_name(&right)
        ))),
    }
}

fn as_bool(value: Value) -> Result<bool, CelError> {
    match value {
        Value::Bool(b) => Ok(b),
        other => Err(CelError::Eval(format!(
            "expected a bool, got a {}",
            type_name(&other)
        ))),
    }
}

fn size(value: &Value) -> Result<Value, CelError> {
    match value {
        Value::String(s) => Ok(json!(s.chars().count())),
        Value::Array(items) => Ok(json!(items.len())),
        Value::Object(map) => Ok(json!(map.len())),
        other => Err(CelError::Eval(format!(
            "size() does not apply to a {}",
            type_name(other)
        ))),
    }
}

fn method(target: &Value, name: &str, arguments: &[Value]) -> Result<Value, CelError> {
    let text_argument = |index: usize| match arguments.get(index) {
        Some(Value::String(s)) => Ok(s.as_str()),
        _ => Err(CelError::Eval(format!("{name}() needs a string argument"))),
    };
    match (target, name) {
        (_, "size") => size(target),
        (Value::String(s), "lowerAscii") => Ok(json!(s.to_ascii_lowercase())),
        (Value::String(s), "upperAscii") => Ok(json!(s.to_ascii_uppercase())),
        (Value::String(s), "trim") => Ok(json!(s.trim())),
        (Value::String(s), "startsWith") => Ok(json!(s.starts_with(text_argument(0)?))),
        (Value::String(s), "endsWith") => Ok(json!(s.ends_with(text_argument(0)?))),
        (Value::String(s), "contains") => Ok(json!(s.contains(text_argument(0)?))),
        (Value::String(s), "matches") => {
            let regex =
                regex::Regex::new(text_argument(0)?).map_err(|e| CelError::Eval(e.to_string()))?;
            Ok(json!(regex.is_match(s)))
        }
        (Value::String(s), "split") => Ok(json!(s.split(text_argument(0)?).collect::<Vec<_>>())),
        (Value::String(s), "replace") => Ok(json!(s.replace(text_argument(0)?, text_argument(1)?))),
        (Value::Array(items), "join") => {
            let separator = if arguments.is_empty() {
                ""
            } else {
                text_argument(0)?
            };
            let parts: Vec<String> = items
                .iter()
                .map(|item| match item {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            Ok(json!(parts.join(separator)))
        }
        _ => Err(CelError::Eval(format!(
            "unsupported method '{name}' on a {}",
            type_name(target)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variables() -> Value {
        json!({
            "event": {"involvedObject": {"kind": "Kustomization", "name": "Apps", "namespace": "team"}, "metadata": {"env": "prod"}},
            "provider": {"metadata": {"uid": "0c9a4b7e-1111-2222"}},
            "res": {"metadata": {"name": "app", "labels": {"tier": "web"}}},
            "req": {"ref": "refs/heads/main", "commits": [1, 2]},
        })
    }

    #[test]
    fn commit_status_expressions_like_flux_docs() {
        let expression = "(event.involvedObject.kind + '/' + event.involvedObject.name + '/' + event.metadata.env + '/' + provider.metadata.uid.split('-')[0]).lowerAscii()";
        assert_eq!(
            evaluate_string(expression, &variables()).unwrap(),
            "kustomization/apps/prod/0c9a4b7e"
        );
    }

    #[test]
    fn filters_with_logic_has_and_membership() {
        let v = variables();
        assert!(
            evaluate_bool(
                "req.ref == 'refs/heads/main' && res.metadata.labels.tier in ['web', 'api']",
                &v
            )
            .unwrap()
        );
        assert!(
            !evaluate_bool("has(res.metadata.annotations) || size(req.commits) > 2", &v).unwrap()
        );
        assert!(evaluate_bool("res.metadata.name.startsWith('ap') ? true : false", &v).unwrap());
        assert!(
            evaluate_bool(
                "!req.ref.endsWith('/dev') && req.ref.matches('^refs/heads/.*')",
                &v
            )
            .unwrap()
        );
    }

    #[test]
    fn errors_are_clear() {
        let v = variables();
        assert!(
            matches!(evaluate("req.ref.reverse()", &v), Err(CelError::Eval(m)) if m.contains("unsupported method 'reverse'"))
        );
        assert!(
            matches!(evaluate("req.missing", &v), Err(CelError::Eval(m)) if m.contains("no such key"))
        );
        assert!(matches!(check("req.ref =="), Err(CelError::Parse(_))));
        assert!(matches!(
            evaluate_string("1 + 2", &v),
            Err(CelError::Type { .. })
        ));
        assert!(matches!(check("a ~ b"), Err(CelError::Parse(_))));
        let big = json!({"n": i64::MAX, "m": i64::MIN});
        assert!(
            matches!(evaluate("n + 1", &big), Err(CelError::Eval(m)) if m.contains("overflow"))
        );
        assert!(matches!(evaluate("-m", &big), Err(CelError::Eval(m)) if m.contains("overflow")));
        assert_eq!(evaluate("n - 1 > 0", &big).unwrap(), json!(true));
        // Hostile nesting is refused instead of overflowing the stack.
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert!(matches!(check(&deep), Err(CelError::Parse(m)) if m.contains("nested")));
        assert!(
            matches!(check(&"!".repeat(5000)), Err(CelError::Parse(m)) if m.contains("tokens"))
        );
    }
}
