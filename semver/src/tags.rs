//! Versions read from Git tags (and image tags) the way Flux reads them, and the pick of the
//! highest one a constraint admits: GitRepository `spec.ref.semver` checks out that tag.

use crate::{Constraints, SemverError, Version};

impl Version {
    /// Parses a tag as Flux does (`fluxcd/pkg/version.ParseVersion`): the text must have at
    /// least three dot-separated parts, then it is read like [`Version::parse`]. So `v1.2.3`,
    /// `1.2.3-rc.1+build` and `v2025.02.03` are versions; `v1.2`, `V1.2.3` and `latest` are not.
    pub fn parse_tag(text: &str) -> Result<Version, SemverError> {
        if text.splitn(3, '.').count() != 3 {
            return Err(SemverError::InvalidSemVer);
        }
        Version::parse(text)
    }
}

/// The tag with the highest version that satisfies `constraint`, among `tags` (names without
/// `refs/tags/`). Tags that are not versions by [`Version::parse_tag`] are ignored; a
/// pre-release only qualifies when the constraint names one (Masterminds' rule). Of tags with
/// equal versions (`v1.0.0` and `1.0.0+build`), the last one given wins: Flux breaks that tie
/// by commit time, which a ref listing does not carry.
pub fn highest_matching_tag<'a>(
    constraint: &Constraints,
    tags: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    tags.into_iter()
        .filter_map(|tag| Version::parse_tag(tag).ok().map(|version| (tag, version)))
        .filter(|(_, version)| constraint.matches(version))
        .max_by(|(_, a), (_, b)| a.compare(b))
        .map(|(tag, _)| tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_need_three_parts_and_a_lowercase_v() {
        assert_eq!(Version::parse_tag("v1.2.3").unwrap(), Version::new(1, 2, 3));
        assert_eq!(
            Version::parse_tag("v2025.02.03-rc.1").unwrap().to_string(),
            "2025.2.3-rc.1"
        );
        for not_a_tag_version in ["v1.2", "1", "V1.2.3", "latest", "1.2.3.4", "1.2.x"] {
            assert!(
                Version::parse_tag(not_a_tag_version).is_err(),
                "{not_a_tag_version}"
            );
        }
    }

    #[test]
    fn partial_tags_are_not_candidates() {
        let constraint = Constraints::parse(">=1.0.0").unwrap();
        assert_eq!(
            highest_matching_tag(&constraint, ["v1.0.0", "v3", "v2.1", "V2.0.0"]),
            Some("v1.0.0")
        );
    }

    #[test]
    fn equal_versions_keep_the_last_tag_given() {
        let constraint = Constraints::parse("1.x").unwrap();
        assert_eq!(
            highest_matching_tag(&constraint, ["1.2.0+a", "v1.2.0", "1.1.9"]),
            Some("v1.2.0")
        );
    }
}
