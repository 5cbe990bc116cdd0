//! The pinned versions of the control-plane components and how each binary is built.
//!
//! `testenv/tools/go.mod` (and `testenv/tools/kwok/go.mod` for kwok) hold the same pins for Go; a
//! unit test checks they agree, so a bump of one without the other fails
//! `cargo test -p eddy-testenv`.

/// Kubernetes release the apiserver, controller-manager and scheduler are built from. Its minor
/// must match the `k8s-openapi` feature the workspace enables (`v1_34`).
pub const KUBERNETES_VERSION: &str = "v1.34.4";

/// etcd release (the server module); the one Kubernetes 1.34 itself depends on, so both agree on
/// the etcd client libraries.
pub const ETCD_VERSION: &str = "v3.6.4";

/// kwok release. Each kwok release compiles only against the Kubernetes libraries it was released
/// with (v0.7.0: 1.33; the newest, v0.8.0: 1.36 and Go 1.26), so kwok lives in a Go module of its
/// own (`tools/kwok`) and talks to the 1.34 API server over HTTP like any client.
pub const KWOK_VERSION: &str = "v0.7.0";

/// Oldest Go that can build the tools module (the `go` directive of `testenv/tools/go.mod`).
pub const MINIMUM_GO: (u32, u32) = (1, 24);

/// One binary of the control plane: the file name in the cache, the Go module directory (relative
/// to `testenv/tools`) and the main package it is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    pub binary: &'static str,
    pub module_dir: &'static str,
    pub package: &'static str,
}

pub const ETCD: Component = Component {
    binary: "etcd",
    module_dir: ".",
    package: "go.etcd.io/etcd/server/v3",
};
pub const KUBE_APISERVER: Component = Component {
    binary: "kube-apiserver",
    module_dir: ".",
    package: "k8s.io/kubernetes/cmd/kube-apiserver",
};
pub const KUBE_CONTROLLER_MANAGER: Component = Component {
    binary: "kube-controller-manager",
    module_dir: ".",
    package: "k8s.io/kubernetes/cmd/kube-controller-manager",
};
pub const KUBE_SCHEDULER: Component = Component {
    binary: "kube-scheduler",
    module_dir: ".",
    package: "k8s.io/kubernetes/cmd/kube-scheduler",
};
pub const KWOK: Component = Component {
    binary: "kwok",
    module_dir: "kwok",
    package: "sigs.k8s.io/kwok/cmd/kwok",
};

/// Every binary, in the order they are built and started.
pub const COMPONENTS: [Component; 5] = [
    ETCD,
    KUBE_APISERVER,
    KUBE_CONTROLLER_MANAGER,
    KUBE_SCHEDULER,
    KWOK,
];

/// The cache directory name for this set of pins: changing any pin builds into a new directory,
/// so binaries of different versions never mix.
pub fn cache_key() -> String {
    format!("k8s-{KUBERNETES_VERSION}_etcd-{ETCD_VERSION}_kwok-{KWOK_VERSION}")
}

/// Linker flags: strip symbols (smaller, faster to link) and stamp the Kubernetes version, which a
/// build from the module cache would otherwise report as `v0.0.0-master`.
pub fn go_ldflags() -> String {
    let (major, minor) = kubernetes_major_minor();
    format!(
        "-s -w -X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION} \
         -X k8s.io/component-base/version.gitMajor={major} \
         -X k8s.io/component-base/version.gitMinor={minor}"
    )
}

fn kubernetes_major_minor() -> (&'static str, &'static str) {
    let mut parts = KUBERNETES_VERSION.trim_start_matches('v').split('.');
    (parts.next().unwrap_or("1"), parts.next().unwrap_or("0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = include_str!("../tools/go.mod");
    const KWOK_GO_MOD: &str = include_str!("../tools/kwok/go.mod");

    fn required_version(module: &str) -> Option<&'static str> {
        required_in(GO_MOD, module)
    }

    fn required_in(go_mod: &'static str, module: &str) -> Option<&'static str> {
        go_mod.lines().find_map(|line| {
            let line = line.strip_prefix("require ").unwrap_or(line);
            let mut words = line.split_whitespace();
            (words.next() == Some(module))
                .then(|| words.next())
                .flatten()
        })
    }

    #[test]
    fn go_mod_pins_match_the_rust_constants() {
        assert_eq!(
            required_version("k8s.io/kubernetes"),
            Some(KUBERNETES_VERSION)
        );
        assert_eq!(
            required_version("go.etcd.io/etcd/server/v3"),
            Some(ETCD_VERSION)
        );
        assert_eq!(
            required_in(KWOK_GO_MOD, "sigs.k8s.io/kwok"),
            Some(KWOK_VERSION)
        );
    }

    #[test]
    fn staging_modules_are_replaced_with_the_matching_release() {
        let staging = format!("v0.{}", KUBERNETES_VERSION.trim_start_matches("v1."));
        let replaces: Vec<&str> = GO_MOD
            .lines()
            .filter(|line| line.trim_start().starts_with("k8s.io/") && line.contains("=>"))
            .collect();
        assert!(
            replaces.len() > 20,
            "expected the staging replace block, found {replaces:?}"
        );
        for line in replaces {
            assert!(
                line.trim_end().ends_with(&staging),
                "{line} is not at {staging}"
            );
        }
    }

    #[test]
    fn go_directive_matches_minimum_go() {
        for go_mod in [GO_MOD, KWOK_GO_MOD] {
            assert_go_directive(go_mod);
        }
    }

    fn assert_go_directive(go_mod: &str) {
        let directive = go_mod
            .lines()
            .find_map(|line| line.strip_prefix("go "))
            .map(str::trim);
        let (major, minor) = MINIMUM_GO;
        let expected = format!("{major}.{minor}");
        assert!(
            directive.is_some_and(|d| d == expected || d.starts_with(&format!("{expected}."))),
            "go directive {directive:?} does not match MINIMUM_GO {expected}"
        );
    }

    #[test]
    fn ldflags_stamp_the_kubernetes_version() {
        let flags = go_ldflags();
        assert!(flags.contains("gitVersion=v1.34.4"));
        assert!(flags.contains("gitMajor=1 "));
        assert!(flags.contains("gitMinor=34"));
    }

    #[test]
    fn cache_key_changes_with_every_pin() {
        let key = cache_key();
        for pin in [KUBERNETES_VERSION, ETCD_VERSION, KWOK_VERSION] {
            assert!(key.contains(pin));
        }
    }
}
