#![doc = include_str!("../README.md")]

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use thiserror::Error;

mod tags;

pub use tags::highest_matching_tag;

/// Versions longer than this are rejected (as the Go library does).
pub const MAX_VERSION_LEN: usize = 256;
/// Constraints longer than this are rejected.
pub const MAX_CONSTRAINT_LEN: usize = 512;
/// At most this many `||` groups.
pub const MAX_CONSTRAINT_GROUPS: usize = 32;

/// Why a version or constraint did not parse. The texts are the Go library's.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum SemverError {
    #[error("invalid semantic version")]
    InvalidSemVer,
    #[error("version segment starts with 0")]
    SegmentStartsZero,
    #[error("invalid metadata string")]
    InvalidMetadata,
    #[error("invalid prerelease string")]
    InvalidPrerelease,
    #[error("version string is too long (max 256 bytes)")]
    VersionTooLong,
    #[error("error parsing version segment: {0}")]
    Segment(String),
    #[error("constraint string is too long (max 512 bytes)")]
    ConstraintTooLong,
    #[error("too many constraint groups (max 32)")]
    TooManyGroups,
    #[error("improper constraint: {0}")]
    ImproperConstraint(String),
    #[error("constraint parser error")]
    ConstraintParser,
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

#[allow(clippy::expect_used)] // The patterns are constants; a failure is a bug caught by any test.
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant regex")
}

static LOOSE_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$",
    )
});
static CONSTRAINT: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"^\s*({OPS})\s*({CV})\s*$")));
static CONSTRAINT_RANGE: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"\s*({CV})\s+-\s+({CV})\s*")));
static FIND_CONSTRAINT: LazyLock<Regex> = LazyLock::new(|| compile(&format!(r"({OPS})\s*({CV})")));
static VALID_CONSTRAINT: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
    ))
});

/// A semantic version.
#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

impl Version {
    /// Parses a version the way `semver.NewVersion` does.
    pub fn parse(text: &str) -> Result<Version, SemverError> {
        if text.len() > MAX_VERSION_LEN {
            return Err(SemverError::VersionTooLong);
        }
        let caps = LOOSE_VERSION
            .captures(text)
            .ok_or(SemverError::InvalidSemVer)?;
        let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        let segment = |s: &str| -> Result<u64, SemverError> {
            let digits = s.trim_start_matches('.');
            digits.parse::<u64>().map_err(|_| {
                SemverError::Segment(format!(
                    "strconv.ParseUint: parsing \"{digits}\": value out of range"
                ))
            })
        };
        let major = segment(group(1))?;
        let minor = if group(2).is_empty() {
            0
        } else {
            segment(group(2))?
        };
        let patch = if group(3).is_empty() {
            0
        } else {
            segment(group(3))?
        };
        let pre = group(5).to_string();
        let metadata = group(8).to_string();
        if !pre.is_empty() {
            validate_prerelease(&pre)?;
        }
        if !metadata.is_empty() {
            validate_metadata(&metadata)?;
        }
        Ok(Version {
            major,
            minor,
            patch,
            pre,
            metadata,
            original: text.to_string(),
        })
    }

    pub fn new(major: u64, minor: u64, patch: u64) -> Version {
        Version {
            major,
            minor,
            patch,
            pre: String::new(),
            metadata: String::new(),
            original: format!("{major}.{minor}.{patch}"),
        }
    }

    pub fn major(&self) -> u64 {
        self.major
    }
    pub fn minor(&self) -> u64 {
        self.minor
    }
    pub fn patch(&self) -> u64 {
        self.patch
    }
    pub fn prerelease(&self) -> &str {
        &self.pre
    }
    pub fn metadata(&self) -> &str {
        &self.metadata
    }
    /// The text the version was parsed from.
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Precedence order; build metadata is ignored.
    pub fn compare(&self, other: &Version) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            })
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        self.compare(other)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

fn validate_prerelease(pre: &str) -> Result<(), SemverError> {
    for part in pre.split('.') {
        if part.is_empty() {
            return Err(SemverError::InvalidPrerelease);
        }
        if part.chars().all(|c| c.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err(SemverError::SegmentStartsZero);
            }
        } else if !part.chars().all(is_identifier_char) {
            return Err(SemverError::InvalidPrerelease);
        }
    }
    Ok(())
}

fn validate_metadata(metadata: &str) -> Result<(), SemverError> {
    for part in metadata.split('.') {
        if part.is_empty() || !part.chars().all(is_identifier_char) {
            return Err(SemverError::InvalidMetadata);
        }
    }
    Ok(())
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let a_parts: Vec<&str> = a.split('.').collect();
    let b_parts: Vec<&str> = b.split('.').collect();
    for i in 0..a_parts.len().max(b_parts.len()) {
        let x = a_parts.get(i).copied().unwrap_or("");
        let y = b_parts.get(i).copied().unwrap_or("");
        let order = compare_pre_part(x, y);
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Err(_), Ok(_)) => Ordering::Greater,
        (Ok(_), Err(_)) => Ordering::Less,
        (Ok(x), Ok(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    version: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    fn parse(text: &str) -> Result<Constraint, SemverError> {
        let caps = CONSTRAINT
            .captures(text)
            .ok_or_else(|| SemverError::ImproperConstraint(format!("{text:?}")))?;
        let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
        let op = match group(1) {
            "" | "=" => Op::TildeOrEqual,
            "!=" => Op::NotEqual,
            ">" => Op::Greater,
            "<" => Op::Less,
            ">=" | "=>" => Op::GreaterEqual,
            "<=" | "=<" => Op::LessEqual,
            "~" | "~>" => Op::Tilde,
            _ => Op::Caret,
        };
        let (major, minor, patch, pre) = (group(3), group(4), group(5), group(6));
        let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
        let text = if is_x(major) || major.is_empty() {
            dirty = true;
            format!("0.0.0{pre}")
        } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
            minor_dirty = true;
            dirty = true;
            format!("{major}.0.0{pre}")
        } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
            dirty = true;
            patch_dirty = true;
            format!("{major}{minor}.0{pre}")
        } else {
            group(2).to_string()
        };
        let version = Version::parse(&text).map_err(|_| SemverError::ConstraintParser)?;
        Ok(Constraint {
            op,
            version,
            minor_dirty,
            patch_dirty,
            dirty,
        })
    }

    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.version;
        match self.op {
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v == c
                }
            }
            Op::NotEqual => self.not_equal(v),
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.version;
        if self.dirty {
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.pre.is_empty() || !c.pre.is_empty() {
                    return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                }
                return false;
            }
        }
        v != c
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if v < c {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.version;
        if v < c {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }
}

/// A parsed constraint expression: alternatives (`||`) of conjunctions.
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<Vec<Constraint>>,
    contains_pre: Vec<bool>,
    original: String,
}

impl Constraints {
    /// Parses a constraint the way `semver.NewConstraint` does.
    pub fn parse(text: &str) -> Result<Constraints, SemverError> {
        if text.len() > MAX_CONSTRAINT_LEN {
            return Err(SemverError::ConstraintTooLong);
        }
        let rewritten = rewrite_ranges(text);
        let alternatives: Vec<&str> = rewritten.split("||").collect();
        if alternatives.len() > MAX_CONSTRAINT_GROUPS {
            return Err(SemverError::TooManyGroups);
        }
        let mut groups = Vec::new();
        let mut contains_pre = Vec::new();
        for alternative in alternatives {
            if !VALID_CONSTRAINT.is_match(alternative) {
                return Err(SemverError::ImproperConstraint(format!("{alternative:?}")));
            }
            let mut found: Vec<&str> = FIND_CONSTRAINT
                .find_iter(alternative)
                .map(|m| m.as_str())
                .collect();
            if found.is_empty() {
                found.push(alternative);
            }
            let mut group = Vec::new();
            let mut has_pre = false;
            for text in found {
                let constraint = if text.is_empty() {
                    Constraint {
                        op: Op::TildeOrEqual,
                        version: Version::new(0, 0, 0),
                        minor_dirty: false,
                        patch_dirty: false,
                        dirty: true,
                    }
                } else {
                    Constraint::parse(text)?
                };
                has_pre |= !constraint.version.pre.is_empty();
                group.push(constraint);
            }
            groups.push(group);
            contains_pre.push(has_pre);
        }
        Ok(Constraints {
            groups,
            contains_pre,
            original: text.to_string(),
        })
    }

    /// Whether the version satisfies any alternative.
    pub fn matches(&self, version: &Version) -> bool {
        self.groups
            .iter()
            .zip(&self.contains_pre)
            .any(|(group, &pre)| group.iter().all(|c| c.check(version, pre)))
    }

    pub fn original(&self) -> &str {
        &self.original
    }
}

/// Turns `A - B` hyphen ranges into `>= A, <= B`.
fn rewrite_ranges(text: &str) -> String {
    let mut out = text.to_string();
    for caps in CONSTRAINT_RANGE.captures_iter(text) {
        let whole = caps.get(0).map_or("", |m| m.as_str());
        let low = caps.get(1).map_or("", |m| m.as_str());
        let high = caps.get(11).map_or("", |m| m.as_str());
        out = out.replacen(whole, &format!(">= {low}, <= {high} "), 1);
    }
    out
}

/// Sprig's `semverCompare constraint version`.
pub fn semver_compare(constraint: &str, version: &str) -> Result<bool, SemverError> {
    let constraints = Constraints::parse(constraint)?;
    let version = Version::parse(version)?;
    Ok(constraints.matches(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(constraint: &str, version: &str) -> bool {
        semver_compare(constraint, version).unwrap()
    }

    #[test]
    fn parses_loose_versions() {
        let v = Version::parse("v1.2").unwrap();
        assert_eq!(v.to_string(), "1.2.0");
        assert_eq!(v.original(), "v1.2");
        assert_eq!(
            Version::parse("1.2.3-01"),
            Err(SemverError::SegmentStartsZero)
        );
        assert_eq!(Version::parse("1.2.x"), Err(SemverError::InvalidSemVer));
        assert_eq!(
            Version::parse("1.2.3+a..b").unwrap_err(),
            SemverError::InvalidSemVer
        );
    }

    #[test]
    fn orders_prereleases() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in order.windows(2) {
            assert!(
                Version::parse(pair[0]).unwrap() < Version::parse(pair[1]).unwrap(),
                "{pair:?}"
            );
        }
    }

    #[test]
    fn kube_version_checks_as_charts_write_them() {
        assert!(check(">=1.19-0", "v1.31.0"));
        assert!(check(">=1.19-0", "1.20.0-rc.1"));
        assert!(!check(">=1.19", "1.20.0-rc.1"));
        assert!(check("<1.19-0", "1.18.9-gke.1"));
        assert!(check(">= 1.13.0 < 1.19.0", "1.14.0"));
        assert!(!check(">=1.13.0, <1.19.0", "1.19.0"));
    }

    #[test]
    fn tilde_caret_wildcards_and_ranges() {
        assert!(check("~1.2.3", "1.2.9"));
        assert!(!check("~1.2.3", "1.3.0"));
        assert!(check("~1", "1.9.0"));
        assert!(check("^1.2.3", "1.9.0"));
        assert!(!check("^1.2.3", "2.0.0"));
        assert!(check("^0.2.3", "0.2.9"));
        assert!(!check("^0.2.3", "0.3.0"));
        assert!(!check("^0.0.3", "0.0.4"));
        assert!(check("1.2.x", "1.2.7"));
        assert!(check("*", "3.0.0"));
        assert!(check("1.2 - 1.4.5", "1.4.5"));
        assert!(!check("1.2 - 1.4.5", "1.4.6"));
        assert!(check("<1.0.0 || >=2.0.0", "2.1.0"));
        assert!(check("!=1.2.3", "1.2.4"));
        assert!(!check(">1.x", "1.9.0"));
        assert!(check("<=1.2.x", "1.2.9"));
    }

    #[test]
    fn rejects_bad_constraints() {
        assert!(matches!(
            Constraints::parse("not a version"),
            Err(SemverError::ImproperConstraint(_))
        ));
        assert_eq!(
            Constraints::parse(&"1||".repeat(40)).unwrap_err(),
            SemverError::TooManyGroups
        );
    }
}
