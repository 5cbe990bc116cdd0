//! Which manifest of a repository to pull: OCIRepository's `spec.ref`, with Flux's precedence
//! digest > semver > tag and tag `latest` when nothing is set.

use eddy_semver::{Constraints, highest_matching_tag};
use regex::Regex;

/// The tag Flux pulls when `spec.ref` names nothing.
pub const DEFAULT_TAG: &str = "latest";

/// A `spec.ref`, validated.
#[derive(Debug, Clone)]
pub enum RefSelector {
    Digest(String),
    Semver {
        range: Constraints,
        filter: Option<Regex>,
    },
    Tag(String),
}

/// A `spec.ref` that cannot be used as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("spec.ref.digest '{0}' is not '<algorithm>:<hex>'")]
    Digest(String),
    #[error("spec.ref.semver '{range}' is not a valid range: {detail}")]
    Semver { range: String, detail: String },
    #[error("spec.ref.semverFilter '{filter}' is not a valid regular expression: {detail}")]
    Filter { filter: String, detail: String },
}

impl RefSelector {
    /// Builds the selector from `spec.ref`'s fields (empty strings count as unset).
    pub fn from_fields(
        digest: Option<&str>,
        semver: Option<&str>,
        semver_filter: Option<&str>,
        tag: Option<&str>,
    ) -> Result<RefSelector, SelectorError> {
        if let Some(digest) = set(digest) {
            return valid_digest(digest)
                .then(|| RefSelector::Digest(digest.to_owned()))
                .ok_or_else(|| SelectorError::Digest(digest.to_owned()));
        }
        if let Some(range) = set(semver) {
            let constraints = Constraints::parse(range).map_err(|error| SelectorError::Semver {
                range: range.to_owned(),
                detail: error.to_string(),
            })?;
            let filter = set(semver_filter)
                .map(|filter| {
                    Regex::new(filter).map_err(|error| SelectorError::Filter {
                        filter: filter.to_owned(),
                        detail: error.to_string(),
                    })
                })
                .transpose()?;
            return Ok(RefSelector::Semver {
                range: constraints,
                filter,
            });
        }
        Ok(RefSelector::Tag(set(tag).unwrap_or(DEFAULT_TAG).to_owned()))
    }
}

/// A field's value, with empty strings counting as unset.
fn set(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// `sha256:<64 hex>` or `sha512:<128 hex>`.
fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    let length = match algorithm {
        "sha256" => 64,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == length
        && hex
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// The highest tag whose version `range` admits, among the tags `filter` matches (all when
/// unset). Tags that are not versions in Flux's sense (`v1.2.3`, `1.2.3-rc.1`) are ignored.
pub fn highest_semver_tag<'a>(
    tags: &'a [String],
    range: &Constraints,
    filter: Option<&Regex>,
) -> Option<&'a str> {
    highest_matching_tag(
        range,
        tags.iter()
            .map(String::as_str)
            .filter(|tag| filter.is_none_or(|filter| filter.is_match(tag))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn digest_wins_over_semver_wins_over_tag_and_latest_is_the_default() {
        let both = RefSelector::from_fields(Some(DIGEST), Some("1.x"), None, Some("v1")).unwrap();
        assert!(matches!(both, RefSelector::Digest(d) if d == DIGEST));
        let semver = RefSelector::from_fields(None, Some(">=1.0.0"), None, Some("v1")).unwrap();
        assert!(matches!(semver, RefSelector::Semver { .. }));
        let tag = RefSelector::from_fields(Some(""), None, None, Some("v1")).unwrap();
        assert!(matches!(tag, RefSelector::Tag(t) if t == "v1"));
        let default = RefSelector::from_fields(None, None, None, None).unwrap();
        assert!(matches!(default, RefSelector::Tag(t) if t == "latest"));
    }

    #[test]
    fn bad_digests_ranges_and_filters_are_refused_with_the_field_named() {
        for digest in ["sha256:abc", "md5:00", &DIGEST.to_uppercase(), "0123"] {
            let error = RefSelector::from_fields(Some(digest), None, None, None).unwrap_err();
            assert!(error.to_string().starts_with("spec.ref.digest"), "{error}");
        }
        let error = RefSelector::from_fields(None, Some("not a range"), None, None).unwrap_err();
        assert!(error.to_string().starts_with("spec.ref.semver "), "{error}");
        let error = RefSelector::from_fields(None, Some("1.x"), Some("("), None).unwrap_err();
        assert!(
            error.to_string().starts_with("spec.ref.semverFilter"),
            "{error}"
        );
    }

    #[test]
    fn semver_picks_the_highest_filtered_version() {
        let tags: Vec<String> = ["1.0.0", "1.2.0", "2.0.0", "1.3.0-rc.1", "latest", "v1.4"]
            .into_iter()
            .map(String::from)
            .collect();
        let range = Constraints::parse("1.x").unwrap();
        assert_eq!(highest_semver_tag(&tags, &range, None), Some("1.2.0"));
        let only_one_zero = Regex::new("^1\\.0").unwrap();
        assert_eq!(
            highest_semver_tag(&tags, &range, Some(&only_one_zero)),
            Some("1.0.0")
        );
        let nothing = Constraints::parse(">=3.0.0").unwrap();
        assert_eq!(highest_semver_tag(&tags, &nothing, None), None);
    }
}
