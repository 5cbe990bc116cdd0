//! The two glob dialects Helm uses: Go's `filepath.Match` (`.helmignore`) and gobwas/glob with
//! `/` as separator (`.Files.Glob`: adds `**` and `{a,b}`).

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `?`: one character other than `/`.
    AnyChar,
    /// `*`: any run of characters without `/`.
    Star,
    /// `**` (gobwas only): any run of characters.
    DoubleStar,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A malformed pattern (Go's `filepath.ErrBadPattern`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern;

/// Go's `filepath.Match` with `/` as the separator.
pub fn filepath_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let tokens = tokenize(pattern, false)?;
    let name: Vec<char> = name.chars().collect();
    Ok(matches(&tokens, &name))
}

/// A compiled `.Files.Glob` pattern.
#[derive(Debug, Clone)]
pub struct FilesGlob {
    alternatives: Vec<Vec<Token>>,
}

impl FilesGlob {
    pub fn compile(pattern: &str) -> Result<FilesGlob, BadPattern> {
        let alternatives = expand_braces(pattern)?
            .iter()
            .map(|p| tokenize(p, true))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FilesGlob { alternatives })
    }

    pub fn is_match(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        self.alternatives.iter().any(|t| matches(t, &name))
    }
}

fn tokenize(pattern: &str, double_star: bool) -> Result<Vec<Token>, BadPattern> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if double_star && chars.get(i + 1) == Some(&'*') => {
                tokens.push(Token::DoubleStar);
                i += 2;
            }
            '*' => {
                tokens.push(Token::Star);
                i += 1;
            }
            '?' => {
                tokens.push(Token::AnyChar);
                i += 1;
            }
            '\\' => {
                let c = *chars.get(i + 1).ok_or(BadPattern)?;
                tokens.push(Token::Literal(c));
                i += 2;
            }
            '[' => {
                let (token, next) = class(&chars, i + 1, double_star)?;
                tokens.push(token);
                i = next;
            }
            c => {
                tokens.push(Token::Literal(c));
                i += 1;
            }
        }
    }
    Ok(tokens)
}

/// Parses a character class starting after `[`; returns the token and the index after `]`.
fn class(chars: &[char], mut i: usize, bang_negates: bool) -> Result<(Token, usize), BadPattern> {
    let mut negated = false;
    if chars.get(i) == Some(&'^') || (bang_negates && chars.get(i) == Some(&'!')) {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i).ok_or(BadPattern)?;
        if c == ']' && !first {
            return Ok((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        let (low, after_low) = class_char(chars, i)?;
        i = after_low;
        let mut high = low;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
            let (h, after_high) = class_char(chars, i + 1)?;
            high = h;
            i = after_high;
        }
        if high < low {
            return Err(BadPattern);
        }
        ranges.push((low, high));
    }
}

fn class_char(chars: &[char], i: usize) -> Result<(char, usize), BadPattern> {
    match chars.get(i) {
        Some('\\') => chars.get(i + 1).map(|c| (*c, i + 2)).ok_or(BadPattern),
        Some(c) => Ok((*c, i + 1)),
        None => Err(BadPattern),
    }
}

fn matches(tokens: &[Token], name: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return name.is_empty();
    };
    match first {
        Token::Star | Token::DoubleStar => {
            let crosses = *first == Token::DoubleStar;
            for skip in 0..=name.len() {
                if matches(rest, &name[skip..]) {
                    return true;
                }
                if skip < name.len() && !crosses && name[skip] == '/' {
                    return false;
                }
            }
            false
        }
        Token::AnyChar => name
            .split_first()
            .is_some_and(|(c, tail)| *c != '/' && matches(rest, tail)),
        Token::Literal(l) => name
            .split_first()
            .is_some_and(|(c, tail)| c == l && matches(rest, tail)),
        Token::Class { negated, ranges } => name.split_first().is_some_and(|(c, tail)| {
            let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
            inside != *negated && *c != '/' && matches(rest, tail)
        }),
    }
}

/// Expands `{a,b}` alternatives (nested ones too) into plain patterns.
fn expand_braces(pattern: &str) -> Result<Vec<String>, BadPattern> {
    let chars: Vec<char> = pattern.chars().collect();
    let Some(open) = find_unescaped(&chars, 0, '{') else {
        return Ok(vec![pattern.to_string()]);
    };
    let mut depth = 0;
    let mut parts = Vec::new();
    let mut start = open + 1;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    parts.push(chars[start..i].iter().collect::<String>());
                    let prefix: String = chars[..open].iter().collect();
                    let suffix: String = chars[i + 1..].iter().collect();
                    let mut out = Vec::new();
                    for part in parts {
                        out.extend(expand_braces(&format!("{prefix}{part}{suffix}"))?);
                    }
                    return Ok(out);
                }
            }
            ',' if depth == 1 => {
                parts.push(chars[start..i].iter().collect::<String>());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    Err(BadPattern)
}

fn find_unescaped(chars: &[char], from: usize, wanted: char) -> Option<usize> {
    let mut i = from;
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == wanted {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filepath_match_follows_go() {
        assert_eq!(filepath_match("*.txt", "a.txt"), Ok(true));
        assert_eq!(filepath_match("*.txt", "dir/a.txt"), Ok(false));
        assert_eq!(filepath_match("templates/.?*", "templates/.git"), Ok(true));
        assert_eq!(filepath_match("templates/.?*", "templates/."), Ok(false));
        assert_eq!(filepath_match("[a-c]x", "bx"), Ok(true));
        assert_eq!(filepath_match("[^a-c]x", "bx"), Ok(false));
        assert_eq!(filepath_match("\\*", "*"), Ok(true));
        assert_eq!(filepath_match("[", "a"), Err(BadPattern));
    }

    #[test]
    fn files_glob_has_double_star_and_alternatives() {
        let g = FilesGlob::compile("files/**.{yaml,json}").unwrap();
        assert!(g.is_match("files/a/b.yaml"));
        assert!(g.is_match("files/c.json"));
        assert!(!g.is_match("files/c.txt"));
        let single = FilesGlob::compile("files/*").unwrap();
        assert!(single.is_match("files/a"));
        assert!(!single.is_match("files/a/b"));
        assert!(FilesGlob::compile("x/[!a]").unwrap().is_match("x/b"));
    }
}
