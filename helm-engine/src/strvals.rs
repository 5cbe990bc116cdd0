//! `--set`, `--set-string` and `--set-json` (Helm's `strvals`): `a.b[0].c=v,d={x,y}` parsed
//! into a values table. `--set` types its values as Helm does: `true`/`false`/`null` in any
//! case, and decimal integers without a leading zero become int64 (not float64 as in YAML);
//! everything else stays a string.

use serde_json::{Map, Value as Json};

use crate::values::Table;

const MAX_INDEX: usize = 65536;
const MAX_NESTED_NAME_LEVEL: usize = 30;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Typed,
    Strings,
    Json,
}

/// Parses `--set` text into `dest`.
pub fn parse_set_into(text: &str, dest: &mut Table) -> Result<(), String> {
    Parser::new(text, Mode::Typed).parse(dest)
}

/// Parses `--set-string` text into `dest`.
pub fn parse_set_string_into(text: &str, dest: &mut Table) -> Result<(), String> {
    Parser::new(text, Mode::Strings).parse(dest)
}

/// Parses `--set-json` text (`key=<JSON>`) into `dest`.
pub fn parse_set_json_into(text: &str, dest: &mut Table) -> Result<(), String> {
    Parser::new(text, Mode::Json).parse(dest)
}

enum Stop {
    Found(char),
    End,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    mode: Mode,
}

impl Parser {
    fn new(text: &str, mode: Mode) -> Parser {
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            mode,
        }
    }

    fn parse(mut self, dest: &mut Table) -> Result<(), String> {
        while self.pos < self.chars.len() {
            match self.key(dest, 0) {
                Ok(()) => {}
                Err(None) => return Ok(()),
                Err(Some(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads up to one of `stop` (consumed); a backslash escapes the next character.
    fn until(&mut self, stop: &[char]) -> (String, Stop) {
        let mut out = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if stop.contains(&c) {
                return (out, Stop::Found(c));
            }
            if c == '\\' {
                match self.chars.get(self.pos) {
                    Some(&next) => {
                        self.pos += 1;
                        out.push(next);
                    }
                    None => return (out, Stop::End),
                }
            } else {
                out.push(c);
            }
        }
        (out, Stop::End)
    }

    /// `Err(None)` is the end of input (Go's `io.EOF`), `Err(Some(_))` a parse error.
    fn key(&mut self, data: &mut Table, level: usize) -> Result<(), Option<String>> {
        let (key, stop) = self.until(&['=', '[', ',', '.']);
        match stop {
            Stop::End if key.is_empty() => Err(None),
            Stop::End => Err(Some(format!("key {key:?} has no value"))),
            Stop::Found('[') => {
                let index = self.index()?;
                let list = match data.get(&key) {
                    None => Vec::new(),
                    Some(Json::Array(items)) => items.clone(),
                    Some(_) => {
                        return Err(Some(format!("unable to parse key: {key:?} is not a list")));
                    }
                };
                let (list, result) = self.list_item(list, index, level);
                set(data, &key, Json::Array(list));
                result
            }
            Stop::Found('=') => self.assign(data, &key),
            Stop::Found(',') => {
                set(data, &key, Json::String(String::new()));
                Err(Some(format!(
                    "key {key:?} has no value (cannot end with ,)"
                )))
            }
            Stop::Found(_) => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(Some(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match data.get(&key) {
                    None => Table::new(),
                    Some(Json::Object(map)) => map.clone(),
                    Some(_) => {
                        return Err(Some(format!("unable to parse key: {key:?} is not a map")));
                    }
                };
                let result = self.key(&mut inner, level);
                if result.is_ok() && inner.is_empty() {
                    return Err(Some(format!("key map {key:?} has no value")));
                }
                if !inner.is_empty() {
                    set(data, &key, Json::Object(inner));
                }
                result
            }
        }
    }

    fn assign(&mut self, data: &mut Table, key: &str) -> Result<(), Option<String>> {
        let (value, result) = self.value()?;
        set(data, key, value);
        result
    }

    /// The value after `=`: JSON in `--set-json`, a `{a,b}` list, or a scalar up to `,`.
    #[allow(clippy::type_complexity)]
    fn value(&mut self) -> Result<(Json, Result<(), Option<String>>), Option<String>> {
        if self.mode == Mode::Json {
            if self.empty_value() {
                return Ok((Json::Null, Ok(())));
            }
            let rest: String = self.chars[self.pos..].iter().collect();
            let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Json>();
            let value = match stream.next() {
                Some(Ok(v)) => as_go_json(v),
                Some(Err(e)) => return Err(Some(e.to_string())),
                None => return Err(Some("unexpected end of JSON input".into())),
            };
            self.pos += rest[..stream.byte_offset()].chars().count();
            self.empty_value();
            return Ok((value, Ok(())));
        }
        match self.chars.get(self.pos) {
            None => Ok((Json::String(String::new()), Err(None))),
            Some('{') => {
                self.pos += 1;
                Ok((Json::Array(self.list()?), Ok(())))
            }
            Some(_) => {
                let (text, stop) = self.until(&[',']);
                let end = match stop {
                    Stop::End => Err(None),
                    Stop::Found(_) => Ok(()),
                };
                Ok((self.typed(&text), end))
            }
        }
    }

    fn list(&mut self) -> Result<Vec<Json>, Option<String>> {
        let mut list = Vec::new();
        loop {
            let (text, stop) = self.until(&[',', '}']);
            match stop {
                Stop::End => return Err(Some("list must terminate with '}'".into())),
                Stop::Found('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    list.push(self.typed(&text));
                    return Ok(list);
                }
                Stop::Found(_) => list.push(self.typed(&text)),
            }
        }
    }

    /// Skips spaces; true at the end of input or a `,` (consumed).
    fn empty_value(&mut self) -> bool {
        while let Some(&c) = self.chars.get(self.pos) {
            if c == ',' {
                self.pos += 1;
                return true;
            }
            if !c.is_whitespace() {
                return false;
            }
            self.pos += 1;
        }
        true
    }

    fn index(&mut self) -> Result<i64, Option<String>> {
        let (text, stop) = self.until(&[']']);
        if matches!(stop, Stop::End) {
            return Err(None);
        }
        text.parse::<i64>().map_err(|_| {
            Some(format!(
                "error parsing index: strconv.Atoi: parsing {text:?}: invalid syntax"
            ))
        })
    }

    fn list_item(
        &mut self,
        mut list: Vec<Json>,
        index: i64,
        level: usize,
    ) -> (Vec<Json>, Result<(), Option<String>>) {
        if index < 0 {
            return (
                list,
                Err(Some(format!("negative {index} index not allowed"))),
            );
        }
        let (text, stop) = self.until(&['[', '.', '=']);
        if !text.is_empty() {
            return (
                list,
                Err(Some(format!(
                    "unexpected data at end of array index: {text:?}"
                ))),
            );
        }
        match stop {
            Stop::End => (list, Err(None)),
            Stop::Found('=') => match self.value() {
                Err(e) => (list, Err(e)),
                Ok((value, _)) => match set_index(&mut list, index, value) {
                    Ok(()) => (list, Ok(())),
                    Err(e) => (list, Err(Some(e))),
                },
            },
            Stop::Found('[') => {
                let next = match self.index() {
                    Ok(i) => i,
                    Err(e) => return (list, Err(e)),
                };
                let current = match list.get(index as usize) {
                    Some(Json::Array(items)) => items.clone(),
                    _ => Vec::new(),
                };
                let (inner, result) = self.list_item(current, next, level);
                if result.as_ref().is_err_and(Option::is_some) {
                    return (list, result);
                }
                match set_index(&mut list, index, Json::Array(inner)) {
                    Ok(()) => (list, result),
                    Err(e) => (list, Err(Some(e))),
                }
            }
            Stop::Found(_) => {
                let mut inner = match list.get(index as usize) {
                    Some(Json::Object(map)) => map.clone(),
                    _ => Map::new(),
                };
                let result = self.key(&mut inner, level);
                if result.as_ref().is_err_and(Option::is_some) {
                    return (list, result);
                }
                match set_index(&mut list, index, Json::Object(inner)) {
                    Ok(()) => (list, result),
                    Err(e) => (list, Err(Some(e))),
                }
            }
        }
    }

    fn typed(&self, text: &str) -> Json {
        if self.mode == Mode::Strings {
            return Json::String(text.to_string());
        }
        if text.eq_ignore_ascii_case("true") {
            return Json::Bool(true);
        }
        if text.eq_ignore_ascii_case("false") {
            return Json::Bool(false);
        }
        if text.eq_ignore_ascii_case("null") {
            return Json::Null;
        }
        if text == "0" {
            return Json::from(0_i64);
        }
        if !text.starts_with('0')
            && let Ok(i) = parse_go_int(text)
        {
            return Json::from(i);
        }
        Json::String(text.to_string())
    }
}

/// Go's `encoding/json` decodes every number into `interface{}` as a float64.
fn as_go_json(value: Json) -> Json {
    match value {
        Json::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Json::Null, Json::Number),
        Json::Array(items) => Json::Array(items.into_iter().map(as_go_json).collect()),
        Json::Object(map) => {
            Json::Object(map.into_iter().map(|(k, v)| (k, as_go_json(v))).collect())
        }
        other => other,
    }
}

/// `strconv.ParseInt(s, 10, 64)`: an optional sign and decimal digits.
fn parse_go_int(text: &str) -> Result<i64, ()> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    text.strip_prefix('+')
        .unwrap_or(text)
        .parse()
        .map_err(|_| ())
}

fn set(data: &mut Table, key: &str, value: Json) {
    if !key.is_empty() {
        data.insert(key.to_string(), value);
    }
}

fn set_index(list: &mut Vec<Json>, index: i64, value: Json) -> Result<(), String> {
    let index =
        usize::try_from(index).map_err(|_| format!("negative {index} index not allowed"))?;
    if index > MAX_INDEX {
        return Err(format!(
            "index of {index} is greater than maximum supported index of {MAX_INDEX}"
        ));
    }
    if list.len() <= index {
        list.resize(index + 1, Json::Null);
    }
    list[index] = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set_values(text: &str) -> Result<Json, String> {
        let mut table = Table::new();
        parse_set_into(text, &mut table)?;
        Ok(Json::Object(table))
    }

    #[test]
    fn typed_values_paths_lists_and_indexes() {
        assert_eq!(
            set_values("name=value,replicas=3,zero=0,octal=012,on=TRUE,none=null,empty=").unwrap(),
            json!({"name": "value", "replicas": 3, "zero": 0, "octal": "012", "on": true, "none": null, "empty": ""})
        );
        assert_eq!(
            set_values("a.b.c=1,a.b.d=x,list={x,2,true}").unwrap(),
            json!({"a": {"b": {"c": 1, "d": "x"}}, "list": ["x", 2, true]})
        );
        assert_eq!(
            set_values("l[2]=c,l[0]=a,m[1].name=n,n[0][1]=deep").unwrap(),
            json!({"l": ["a", null, "c"], "m": [null, {"name": "n"}], "n": [[null, "deep"]]})
        );
        assert_eq!(set_values(r"a\.b=c\,d").unwrap(), json!({"a.b": "c,d"}));
    }

    #[test]
    fn strings_json_and_errors() {
        let mut table = Table::new();
        parse_set_string_into("n=3,b=true", &mut table).unwrap();
        assert_eq!(Json::Object(table), json!({"n": "3", "b": "true"}));
        let mut table = Table::new();
        parse_set_json_into(r#"a={"x":[1,2]},b="s""#, &mut table).unwrap();
        assert_eq!(
            Json::Object(table),
            json!({"a": {"x": [1.0, 2.0]}, "b": "s"})
        );
        assert_eq!(set_values("name").unwrap_err(), "key \"name\" has no value");
        assert_eq!(
            set_values("name,x=1").unwrap_err(),
            "key \"name\" has no value (cannot end with ,)"
        );
        assert_eq!(
            set_values("l[-1]=x").unwrap_err(),
            "negative -1 index not allowed"
        );
        assert_eq!(
            set_values("l={a,b").unwrap_err(),
            "list must terminate with '}'"
        );
    }
}
