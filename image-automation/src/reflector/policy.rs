//! ImagePolicy's selection, free of I/O: filter the scanned tags (`filterTags`), then pick the
//! latest by the configured policy (`semver`, `alphabetical`, `numerical`).

use std::cmp::Ordering;

use eddy_api::image::v1::imagepolicy::{SelectedPolicy, SortOrder, TagFilter};
use eddy_semver::{Constraints, Version};
use regex::Regex;

/// Why no tag could be selected. Messages name the offending input so a user can fix it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    #[error("invalid regular expression pattern '{pattern}': {reason}")]
    InvalidPattern { pattern: String, reason: String },
    #[error("invalid semver range '{range}': {reason}")]
    InvalidRange { range: String, reason: String },
    #[error("no policy is set: one of semver, alphabetical or numerical is required")]
    NoPolicy,
    #[error("unable to determine latest version from provided list of {count} tags")]
    NoMatchingTag { count: usize },
}

/// A compiled `filterTags`: tags that match `pattern` take part under the value `extract`
/// expands to (Go's `$1`/`${name}` syntax, which `regex` shares); others are dropped.
pub struct CompiledFilter {
    pattern: Regex,
    extract: String,
}

impl CompiledFilter {
    /// `None` when the spec sets no pattern: every tag takes part unchanged.
    pub fn compile(filter: Option<&TagFilter>) -> Result<Option<CompiledFilter>, PolicyError> {
        let Some(pattern) = filter.and_then(|filter| filter.pattern.as_deref()) else {
            return Ok(None);
        };
        let compiled = Regex::new(pattern).map_err(|error| PolicyError::InvalidPattern {
            pattern: pattern.to_owned(),
            reason: error.to_string(),
        })?;
        let extract = filter
            .and_then(|filter| filter.extract.clone())
            .filter(|extract| !extract.is_empty())
            .unwrap_or_else(|| "$0".to_owned());
        Ok(Some(CompiledFilter {
            pattern: compiled,
            extract,
        }))
    }

    /// The value a tag is compared by, or `None` when the tag does not match.
    fn extract(&self, tag: &str) -> Option<String> {
        let captures = self.pattern.captures(tag)?;
        let mut value = String::new();
        captures.expand(&self.extract, &mut value);
        Some(value)
    }
}

/// A tag that passed the filter, with the value the policy compares.
struct Candidate<'a> {
    tag: &'a str,
    value: String,
}

fn candidates<'a>(tags: &'a [String], filter: Option<&CompiledFilter>) -> Vec<Candidate<'a>> {
    tags.iter()
        .filter_map(|tag| {
            let value = match filter {
                Some(filter) => filter.extract(tag)?,
                None => tag.clone(),
            };
            Some(Candidate { tag, value })
        })
        .collect()
}

/// The latest tag among `tags` under `policy`, after `filter`.
pub fn select_latest<'a>(
    tags: &'a [String],
    policy: Option<SelectedPolicy<'_>>,
    filter: Option<&CompiledFilter>,
) -> Result<&'a str, PolicyError> {
    let policy = policy.ok_or(PolicyError::NoPolicy)?;
    let candidates = candidates(tags, filter);
    let latest = match policy {
        SelectedPolicy::SemVer(semver) => latest_semver(&candidates, &semver.range)?,
        SelectedPolicy::Alphabetical(order) => latest_by(&candidates, order, |a, b| a.cmp(b)),
        SelectedPolicy::Numerical(order) => latest_numerical(&candidates, order),
    };
    latest.ok_or(PolicyError::NoMatchingTag { count: tags.len() })
}

fn latest_semver<'a>(
    candidates: &[Candidate<'a>],
    range: &str,
) -> Result<Option<&'a str>, PolicyError> {
    let constraints = Constraints::parse(range).map_err(|error| PolicyError::InvalidRange {
        range: range.to_owned(),
        reason: error.to_string(),
    })?;
    let best = candidates
        .iter()
        .filter_map(|candidate| {
            let version = Version::parse(&candidate.value).ok()?;
            constraints
                .matches(&version)
                .then_some((version, candidate.tag))
        })
        .max_by(|(a, _), (b, _)| a.compare(b));
    Ok(best.map(|(_, tag)| tag))
}

fn latest_numerical<'a>(candidates: &[Candidate<'a>], order: SortOrder) -> Option<&'a str> {
    let numbers: Vec<(f64, &'a str)> = candidates
        .iter()
        .filter_map(|candidate| Some((candidate.value.parse::<f64>().ok()?, candidate.tag)))
        .filter(|(number, _)| number.is_finite())
        .collect();
    let pick = |ordering: fn(&f64, &f64) -> Ordering| {
        numbers
            .iter()
            .max_by(|(a, _), (b, _)| ordering(a, b))
            .map(|(_, tag)| *tag)
    };
    match order {
        SortOrder::Asc => pick(|a, b| a.total_cmp(b)),
        SortOrder::Desc => pick(|a, b| b.total_cmp(a)),
    }
}

fn latest_by<'a>(
    candidates: &[Candidate<'a>],
    order: SortOrder,
    compare: fn(&str, &str) -> Ordering,
) -> Option<&'a str> {
    let best = match order {
        SortOrder::Asc => candidates.iter().max_by(|a, b| compare(&a.value, &b.value)),
        SortOrder::Desc => candidates.iter().min_by(|a, b| compare(&a.value, &b.value)),
    };
    best.map(|candidate| candidate.tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_api::image::v1::imagepolicy::SemVerPolicy;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|tag| (*tag).to_owned()).collect()
    }

    #[test]
    fn semver_picks_highest_in_range_and_ignores_non_semver_tags() {
        let tags = tags(&["5.0.0", "5.0.3", "5.1.0", "6.0.0", "latest", "main-abc"]);
        let policy = SemVerPolicy {
            range: "5.0.x".to_owned(),
        };
        let latest = select_latest(&tags, Some(SelectedPolicy::SemVer(&policy)), None);
        assert_eq!(latest, Ok("5.0.3"));
    }

    #[test]
    fn semver_excludes_prereleases_unless_the_range_asks_for_them() {
        let tags = tags(&["1.0.0", "1.1.0-rc.1"]);
        let plain = SemVerPolicy {
            range: ">=1.0.0".to_owned(),
        };
        let with_pre = SemVerPolicy {
            range: ">=1.0.0-0".to_owned(),
        };
        assert_eq!(
            select_latest(&tags, Some(SelectedPolicy::SemVer(&plain)), None),
            Ok("1.0.0")
        );
        assert_eq!(
            select_latest(&tags, Some(SelectedPolicy::SemVer(&with_pre)), None),
            Ok("1.1.0-rc.1")
        );
    }

    #[test]
    fn invalid_range_names_the_range() {
        let policy = SemVerPolicy {
            range: "not a range!".to_owned(),
        };
        let tags = tags(&["1.0.0"]);
        let error = select_latest(&tags, Some(SelectedPolicy::SemVer(&policy)), None);
        assert!(
            matches!(error, Err(PolicyError::InvalidRange { range, .. }) if range == "not a range!")
        );
    }

    #[test]
    fn alphabetical_orders() {
        let tags = tags(&["b", "c", "a"]);
        let asc = select_latest(
            &tags,
            Some(SelectedPolicy::Alphabetical(SortOrder::Asc)),
            None,
        );
        let desc = select_latest(
            &tags,
            Some(SelectedPolicy::Alphabetical(SortOrder::Desc)),
            None,
        );
        assert_eq!((asc, desc), (Ok("c"), Ok("a")));
    }

    #[test]
    fn numerical_orders_numbers_not_text_and_skips_words() {
        let tags = tags(&["9", "10", "2.5", "latest"]);
        let asc = select_latest(&tags, Some(SelectedPolicy::Numerical(SortOrder::Asc)), None);
        let desc = select_latest(
            &tags,
            Some(SelectedPolicy::Numerical(SortOrder::Desc)),
            None,
        );
        assert_eq!((asc, desc), (Ok("10"), Ok("2.5")));
    }

    #[test]
    fn filter_extracts_named_group_and_reports_original_tag() {
        let tags = tags(&[
            "main-abc-1700000002",
            "main-def-1700000010",
            "dev-x-1800000000",
        ]);
        let filter = TagFilter {
            pattern: Some(r"^main-[a-f0-9]+-(?P<ts>[0-9]+)$".to_owned()),
            extract: Some("$ts".to_owned()),
        };
        let compiled = CompiledFilter::compile(Some(&filter)).unwrap();
        let latest = select_latest(
            &tags,
            Some(SelectedPolicy::Numerical(SortOrder::Asc)),
            compiled.as_ref(),
        );
        assert_eq!(latest, Ok("main-def-1700000010"));
    }

    #[test]
    fn invalid_filter_pattern_is_an_error() {
        let filter = TagFilter {
            pattern: Some("(".to_owned()),
            extract: None,
        };
        let error = CompiledFilter::compile(Some(&filter)).err();
        assert!(
            matches!(error, Some(PolicyError::InvalidPattern { pattern, .. }) if pattern == "(")
        );
    }

    #[test]
    fn nothing_matching_is_an_error() {
        let policy = SemVerPolicy {
            range: ">=2.0.0".to_owned(),
        };
        let tags = tags(&["1.0.0"]);
        let error = select_latest(&tags, Some(SelectedPolicy::SemVer(&policy)), None);
        assert_eq!(error, Err(PolicyError::NoMatchingTag { count: 1 }));
        assert_eq!(select_latest(&tags, None, None), Err(PolicyError::NoPolicy));
    }
}
