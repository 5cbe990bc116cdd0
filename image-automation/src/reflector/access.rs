//! Whether an ImagePolicy may use an ImageRepository in another namespace: the repository's
//! `accessFrom` lists namespace selectors; a policy is let in when its namespace's labels match
//! any of them. A selector without labels matches every namespace; no `accessFrom` lets no other
//! namespace in.

use std::collections::BTreeMap;

use eddy_api::meta::AccessFrom;

/// `true` when a referrer in a namespace with `labels` may use an object with `access_from`.
pub fn allows(access_from: Option<&AccessFrom>, labels: &BTreeMap<String, String>) -> bool {
    let Some(access_from) = access_from else {
        return false;
    };
    access_from.namespace_selectors.iter().any(|selector| {
        selector
            .match_labels
            .iter()
            .flatten()
            .all(|(key, value)| labels.get(key) == Some(value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use eddy_api::meta::NamespaceSelector;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn selector(pairs: &[(&str, &str)]) -> NamespaceSelector {
        NamespaceSelector {
            match_labels: Some(labels(pairs)),
        }
    }

    #[test]
    fn selectors_match_on_all_their_labels() {
        let team = labels(&[("team", "a"), ("env", "prod")]);
        assert!(!allows(None, &team), "no accessFrom denies");
        let none = AccessFrom {
            namespace_selectors: vec![],
        };
        assert!(!allows(Some(&none), &team), "no selector denies");
        let empty = AccessFrom {
            namespace_selectors: vec![NamespaceSelector { match_labels: None }],
        };
        assert!(
            allows(Some(&empty), &BTreeMap::new()),
            "empty selector allows all"
        );
        let both = AccessFrom {
            namespace_selectors: vec![selector(&[("team", "a"), ("env", "dev")])],
        };
        assert!(!allows(Some(&both), &team), "every label must match");
        let any = AccessFrom {
            namespace_selectors: vec![selector(&[("team", "b")]), selector(&[("env", "prod")])],
        };
        assert!(allows(Some(&any), &team), "any selector may match");
    }
}
