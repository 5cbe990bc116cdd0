//! Semver constraints in the syntax Flux users write (Masterminds `semver/v3`), evaluated with
//! the `semver` crate's version type.
//!
//! The `semver` crate's own `VersionReq` follows Cargo's rules, which differ: Masterminds joins
//! comparators with spaces or commas and alternatives with `||`, allows hyphen ranges
//! (`1.2 - 1.4`), `x`/`X`/`*` wildcards, `~>` and `=<`, and accepts `v`-prefixed and partial
//! versions (`v1.2`). Pre-releases only match when the constraint itself names one.

use std::cmp::Ordering;

use semver::{BuildMetadata, Prerelease, Version};

/// A parsed constraint: alternatives (`||`), each a conjunction of comparators.
#[derive(Debug, Clone)]
pub struct Constraint {
    alternatives: Vec<Conjunction>,
}

#[derive(Debug, Clone)]
struct Conjunction {
    bounds: Vec<Bound>,
    /// Whether any comparator names a pre-release, which lets pre-release versions match.
    allows_prerelease: bool,
}

#[derive(Debug, Clone)]
enum Bound {
    Any,
    AtLeast(Version),
    Above(Version),
    Below(Version),
    AtMost(Version),
    Exactly(Version),
    /// Outside `[low, high)`; `high` is `None` for an exact version.
    Excluding(Version, Option<Version>),
}

/// A version written with some parts missing or wildcarded (`1`, `1.2`, `1.x`).
#[derive(Debug, Clone)]
struct Partial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Prerelease,
}

impl Partial {
    fn floor(&self) -> Version {
        let mut version = Version::new(
            self.major.unwrap_or(0),
            self.minor.unwrap_or(0),
            self.patch.unwrap_or(0),
        );
        version.pre = self.pre.clone();
        version
    }

    /// The first version above every version this partial stands for; `None` for `*`.
    fn ceiling(&self) -> Option<Version> {
        match (self.major, self.minor, self.patch) {
            (None, _, _) => None,
            (Some(major), None, _) => Some(Version::new(major + 1, 0, 0)),
            (Some(major), Some(minor), None) => Some(Version::new(major, minor + 1, 0)),
            (Some(major), Some(minor), Some(patch)) => Some(Version::new(major, minor, patch + 1)),
        }
    }

    fn is_complete(&self) -> bool {
        self.patch.is_some()
    }
}

/// Parses a tag or version string the lenient way Masterminds does: optional `v`, missing
/// minor/patch treated as 0.
pub fn parse_version(text: &str) -> Option<Version> {
    let partial = parse_partial(text, false).ok()?;
    let mut version = partial.floor();
    if let Some((_, build)) = text.split_once('+') {
        version.build = BuildMetadata::new(build).ok()?;
    }
    Some(version)
}

fn parse_partial(text: &str, allow_wildcards: bool) -> Result<Partial, String> {
    let text = text.trim();
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let core_and_pre = text.split_once('+').map_or(text, |(core, _)| core);
    let (core, pre) = match core_and_pre.split_once('-') {
        Some((core, pre)) => (
            core,
            Prerelease::new(pre).map_err(|err| format!("bad pre-release '{pre}': {err}"))?,
        ),
        None => (core_and_pre, Prerelease::EMPTY),
    };
    if core.is_empty() {
        return Err("empty version".to_string());
    }
    let mut parts = [None, None, None];
    let mut wildcard_seen = false;
    for (index, part) in core.split('.').enumerate() {
        if index >= 3 {
            return Err(format!("'{text}' has more than three numbers"));
        }
        if matches!(part, "x" | "X" | "*") {
            if !allow_wildcards {
                return Err(format!("wildcard in version '{text}'"));
            }
            wildcard_seen = true;
            continue;
        }
        if wildcard_seen {
            return Err(format!("'{text}' has a number after a wildcard"));
        }
        let number = part
            .parse::<u64>()
            .map_err(|_| format!("'{part}' in '{text}' is not a number"))?;
        parts[index] = Some(number);
    }
    Ok(Partial {
        major: parts[0],
        minor: parts[1],
        patch: parts[2],
        pre,
    })
}

impl Constraint {
    /// Parses a Masterminds-style constraint such as `>=1.0.0 <2.0.0`, `^1.2`, `~1.2`, `1.x`
    /// or `*`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("the constraint is empty".to_string());
        }
        let alternatives = text
            .split("||")
            .map(parse_conjunction)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Constraint { alternatives })
    }

    /// Whether `version` satisfies the constraint.
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|group| {
            if !version.pre.is_empty() && !group.allows_prerelease {
                return false;
            }
            group.bounds.iter().all(|bound| bound.admits(version))
        })
    }
}

impl Bound {
    fn admits(&self, version: &Version) -> bool {
        let cmp = |other: &Version| version.cmp_precedence(other);
        match self {
            Bound::Any => true,
            Bound::AtLeast(low) => cmp(low) != Ordering::Less,
            Bound::Above(low) => cmp(low) == Ordering::Greater,
            Bound::Below(high) => cmp(high) == Ordering::Less,
            Bound::AtMost(high) => cmp(high) != Ordering::Greater,
            Bound::Exactly(exact) => cmp(exact) == Ordering::Equal,
            Bound::Excluding(low, None) => cmp(low) != Ordering::Equal,
            Bound::Excluding(low, Some(high)) => {
                cmp(low) == Ordering::Less || cmp(high) != Ordering::Less
            }
        }
    }
}

fn parse_conjunction(text: &str) -> Result<Conjunction, String> {
    // Commas and spaces both separate comparators; an operator may be followed by a space.
    let tokens: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|token| !token.is_empty())
        .collect();
    if tokens.is_empty() {
        return Err(format!("empty alternative in '{}'", text.trim()));
    }
    let mut bounds = Vec::new();
    let mut allows_prerelease = false;
    let mut index = 0;
    while index < tokens.len() {
        // Hyphen range: `A - B`.
        if tokens.get(index + 1) == Some(&"-") {
            let high_text = tokens
                .get(index + 2)
                .ok_or_else(|| format!("hyphen range '{}' has no upper end", text.trim()))?;
            let low = parse_partial(tokens[index], true)?;
            let high = parse_partial(high_text, true)?;
            allows_prerelease |= !low.pre.is_empty() || !high.pre.is_empty();
            bounds.push(Bound::AtLeast(low.floor()));
            bounds.push(upper_inclusive(&high));
            index += 3;
            continue;
        }
        let mut comparator = tokens[index].to_string();
        if is_operator(&comparator) {
            let version = tokens
                .get(index + 1)
                .ok_or_else(|| format!("operator '{comparator}' has no version"))?;
            comparator.push_str(version);
            index += 1;
        }
        index += 1;
        let (operator, version_text) = split_operator(&comparator);
        let partial = parse_partial(version_text, true)?;
        allows_prerelease |= !partial.pre.is_empty();
        bounds.extend(comparator_bounds(operator, &partial)?);
    }
    Ok(Conjunction {
        bounds,
        allows_prerelease,
    })
}

const OPERATORS: [&str; 10] = ["~>", ">=", "<=", "=<", "!=", "=", ">", "<", "~", "^"];

fn is_operator(token: &str) -> bool {
    OPERATORS.contains(&token)
}

fn split_operator(comparator: &str) -> (&str, &str) {
    OPERATORS
        .iter()
        .find_map(|op| comparator.strip_prefix(op).map(|rest| (*op, rest)))
        .unwrap_or(("", comparator))
}

fn upper_inclusive(partial: &Partial) -> Bound {
    if partial.is_complete() {
        Bound::AtMost(partial.floor())
    } else {
        partial.ceiling().map_or(Bound::Any, Bound::Below)
    }
}

fn comparator_bounds(operator: &str, partial: &Partial) -> Result<Vec<Bound>, String> {
    let floor = partial.floor();
    let bounds = match operator {
        "" | "=" => match (partial.is_complete(), partial.ceiling()) {
            (true, _) => vec![Bound::Exactly(floor)],
            (false, Some(ceiling)) => vec![Bound::AtLeast(floor), Bound::Below(ceiling)],
            (false, None) => vec![Bound::Any],
        },
        "!=" => match (partial.is_complete(), partial.ceiling()) {
            (true, _) => vec![Bound::Excluding(floor, None)],
            (false, Some(ceiling)) => vec![Bound::Excluding(floor, Some(ceiling))],
            // `!= *` excludes everything.
            (false, None) => vec![Bound::Below(Version::new(0, 0, 0))],
        },
        ">" => match (partial.is_complete(), partial.ceiling()) {
            (true, _) => vec![Bound::Above(floor)],
            (false, Some(ceiling)) => vec![Bound::AtLeast(ceiling)],
            (false, None) => vec![Bound::Below(Version::new(0, 0, 0))],
        },
        ">=" => vec![Bound::AtLeast(floor)],
        "<" => vec![Bound::Below(floor)],
        "<=" | "=<" => vec![upper_inclusive(partial)],
        "~" | "~>" => {
            let ceiling = match (partial.major, partial.minor) {
                (None, _) => None,
                (Some(major), None) => Some(Version::new(major + 1, 0, 0)),
                (Some(major), Some(minor)) => Some(Version::new(major, minor + 1, 0)),
            };
            let mut bounds = vec![Bound::AtLeast(floor)];
            bounds.extend(ceiling.map(Bound::Below));
            bounds
        }
        "^" => {
            // The first non-zero number written is the one that must not change.
            let ceiling = match (partial.major, partial.minor, partial.patch) {
                (None, _, _) => None,
                (Some(major), _, _) if major > 0 => Some(Version::new(major + 1, 0, 0)),
                (Some(_), None, _) => Some(Version::new(1, 0, 0)),
                (Some(_), Some(minor), _) if minor > 0 => Some(Version::new(0, minor + 1, 0)),
                (Some(_), Some(_), None) => Some(Version::new(0, 1, 0)),
                (Some(_), Some(_), Some(patch)) => Some(Version::new(0, 0, patch + 1)),
            };
            let mut bounds = vec![Bound::AtLeast(floor)];
            bounds.extend(ceiling.map(Bound::Below));
            bounds
        }
        other => return Err(format!("unknown operator '{other}'")),
    };
    Ok(bounds)
}

/// Picks the tag with the highest version satisfying `constraint` from `tags` (names without
/// `refs/tags/`). Tags that are not versions are ignored.
pub fn highest_matching<'a>(
    constraint: &Constraint,
    tags: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    tags.into_iter()
        .filter_map(|tag| parse_version(tag).map(|version| (tag, version)))
        .filter(|(_, version)| constraint.matches(version))
        .max_by(|(_, a), (_, b)| a.cmp_precedence(b))
        .map(|(tag, _)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn satisfied(constraint: &str, version: &str) -> bool {
        Constraint::parse(constraint)
            .unwrap()
            .matches(&parse_version(version).unwrap())
    }

    #[test]
    fn space_and_comma_separated_ranges() {
        for constraint in [">=1.0.0 <2.0.0", ">=1.0.0, <2.0.0", ">= 1.0.0 < 2.0.0"] {
            assert!(satisfied(constraint, "1.5.0"), "{constraint}");
            assert!(satisfied(constraint, "1.0.0"), "{constraint}");
            assert!(!satisfied(constraint, "2.0.0"), "{constraint}");
            assert!(!satisfied(constraint, "0.9.9"), "{constraint}");
        }
    }

    #[test]
    fn caret_differs_below_one() {
        assert!(satisfied("^1.2", "1.9.0"));
        assert!(!satisfied("^1.2", "2.0.0"));
        assert!(!satisfied("^1.2", "1.1.9"));
        assert!(satisfied("^0.2.3", "0.2.9"));
        assert!(!satisfied("^0.2.3", "0.3.0"));
        assert!(satisfied("^0.0.3", "0.0.3"));
        assert!(!satisfied("^0.0.3", "0.0.4"));
        assert!(satisfied("^0", "0.9.0"));
        assert!(!satisfied("^0", "1.0.0"));
    }

    #[test]
    fn tilde_and_tilde_greater() {
        for constraint in ["~1.2", "~1.2.0", "~>1.2"] {
            assert!(satisfied(constraint, "1.2.7"), "{constraint}");
            assert!(!satisfied(constraint, "1.3.0"), "{constraint}");
        }
        assert!(satisfied("~1", "1.9.0"));
        assert!(!satisfied("~1", "2.0.0"));
    }

    #[test]
    fn wildcards_and_partials() {
        assert!(satisfied("1.x", "1.4.2"));
        assert!(!satisfied("1.x", "2.0.0"));
        assert!(satisfied("1.2.*", "1.2.9"));
        assert!(!satisfied("1.2.X", "1.3.0"));
        assert!(satisfied("*", "0.0.1"));
        assert!(satisfied("1.2", "1.2.5"));
        assert!(satisfied("<=1.2", "1.2.9"));
        assert!(!satisfied("<=1.2", "1.3.0"));
        assert!(satisfied(">1.2", "1.3.0"));
        assert!(!satisfied(">1.2", "1.2.9"));
        assert!(!satisfied("!=1.2", "1.2.3"));
        assert!(satisfied("!=1.2", "1.3.0"));
    }

    #[test]
    fn alternatives_and_hyphen_ranges() {
        assert!(satisfied("<1.0.0 || >=3.0.0", "3.1.0"));
        assert!(!satisfied("<1.0.0 || >=3.0.0", "2.0.0"));
        assert!(satisfied("1.2 - 1.4", "1.4.8"));
        assert!(!satisfied("1.2 - 1.4", "1.5.0"));
        assert!(satisfied("1.2.3 - 1.4.5", "1.4.5"));
        assert!(!satisfied("1.2.3 - 1.4.5", "1.4.6"));
    }

    #[test]
    fn prereleases_need_a_prerelease_constraint() {
        assert!(!satisfied(">=1.0.0", "1.1.0-rc.1"));
        assert!(satisfied(">=1.1.0-rc.0", "1.1.0-rc.1"));
        assert!(!satisfied(">=1.1.0-rc.0", "1.1.0-alpha"));
    }

    #[test]
    fn lenient_versions() {
        assert_eq!(parse_version("v1.2").unwrap(), Version::new(1, 2, 0));
        assert_eq!(parse_version("V3").unwrap(), Version::new(3, 0, 0));
        assert!(parse_version("release-1").is_none());
        assert!(parse_version("1.2.3.4").is_none());
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["", ">=", "1.2 -", "foo", "~1.x.2", "1.2.3 ||"] {
            assert!(Constraint::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn picks_highest_matching_tag() {
        let constraint = Constraint::parse(">=1.0.0 <2.0.0").unwrap();
        let tags = [
            "v0.9.0",
            "v1.0.0",
            "v1.10.0",
            "v1.9.0",
            "v2.0.0",
            "latest",
            "v1.11.0-rc.1",
        ];
        assert_eq!(highest_matching(&constraint, tags), Some("v1.10.0"));
        let none = Constraint::parse(">=5").unwrap();
        assert_eq!(highest_matching(&none, tags), None);
    }
}
