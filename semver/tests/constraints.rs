//! Constraint semantics as GitRepository `spec.ref.semver` users write them (these cases came
//! with eddy-git's former range parser). Where that parser disagreed with Masterminds/semver,
//! the assertion states Go's answer, checked with the gotemplate oracle's `semverCompare`.

#![allow(clippy::unwrap_used)]

use eddy_semver::{Constraints, Version, highest_matching_tag};

fn satisfied(constraint: &str, version: &str) -> bool {
    Constraints::parse(constraint)
        .unwrap()
        .matches(&Version::parse(version).unwrap())
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
    assert_eq!(Version::parse("v1.2").unwrap(), Version::new(1, 2, 0));
    // The former parser also took an upper-case `V`; Masterminds does not
    // (`semver "V3"`: invalid semantic version), and neither does Flux.
    assert!(Version::parse("V3").is_err());
    assert!(Version::parse("release-1").is_err());
    assert!(Version::parse("1.2.3.4").is_err());
}

#[test]
fn rejects_nonsense() {
    for bad in ["", ">=", "1.2 -", "foo", "1.2.3 ||"] {
        assert!(Constraints::parse(bad).is_err(), "{bad:?}");
    }
    // The former parser rejected a number after a wildcard; Masterminds reads `~1.x.2` as `~1`
    // (`semverCompare "~1.x.2" "1.5.0"` is true in Go).
    assert!(satisfied("~1.x.2", "1.5.0"));
    assert!(!satisfied("~1.x.2", "2.0.0"));
}

#[test]
fn picks_highest_matching_tag() {
    let constraint = Constraints::parse(">=1.0.0 <2.0.0").unwrap();
    let tags = [
        "v0.9.0",
        "v1.0.0",
        "v1.10.0",
        "v1.9.0",
        "v2.0.0",
        "latest",
        "v1.11.0-rc.1",
    ];
    assert_eq!(highest_matching_tag(&constraint, tags), Some("v1.10.0"));
    let none = Constraints::parse(">=5").unwrap();
    assert_eq!(highest_matching_tag(&none, tags), None);
}
