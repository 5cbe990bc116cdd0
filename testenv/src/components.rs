//! The command lines of the five control-plane processes. Kept apart from the start-up sequence
//! so the flags can be read (and unit-tested) in one place.

use std::path::Path;

use crate::api::KWOK_NODE_ANNOTATION;
use crate::layout::Layout;
use crate::pki::Pki;
use crate::state::Ports;

/// Services get addresses from here; `pki::KUBERNETES_SERVICE_IP` is its first address.
pub const SERVICE_CIDR: &str = "10.0.0.0/24";

/// kwok hands out pod IPs from here (disjoint from the service range).
pub const POD_CIDR: &str = "10.244.0.1/16";

/// The issuer written into service-account tokens.
pub const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

fn flag(name: &str, value: impl std::fmt::Display) -> String {
    format!("--{name}={value}")
}

fn path_flag(name: &str, value: &Path) -> String {
    flag(name, value.display())
}

fn loopback_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

pub fn etcd(layout: &Layout, ports: &Ports) -> Vec<String> {
    let peer = loopback_url(ports.etcd_peer);
    vec![
        flag("name", "eddy"),
        path_flag("data-dir", &layout.etcd_data_dir()),
        flag("listen-client-urls", loopback_url(ports.etcd_client)),
        flag("advertise-client-urls", loopback_url(ports.etcd_client)),
        flag("listen-peer-urls", &peer),
        flag("initial-advertise-peer-urls", &peer),
        flag("initial-cluster", format!("eddy={peer}")),
        // Test data is thrown away with the state dir; skipping fsync makes every write cheaper.
        flag("unsafe-no-fsync", true),
        flag("log-level", "warn"),
    ]
}

pub fn kube_apiserver(ports: &Ports, pki: &Pki, layout: &Layout) -> Vec<String> {
    vec![
        flag("bind-address", "127.0.0.1"),
        flag("advertise-address", "127.0.0.1"),
        flag("secure-port", ports.apiserver),
        flag("etcd-servers", loopback_url(ports.etcd_client)),
        path_flag("cert-dir", &layout.state_dir().join("apiserver")),
        path_flag("tls-cert-file", &pki.apiserver_cert),
        path_flag("tls-private-key-file", &pki.apiserver_key),
        path_flag("client-ca-file", &pki.ca_cert),
        flag("service-account-issuer", SERVICE_ACCOUNT_ISSUER),
        path_flag("service-account-key-file", &pki.service_account_public_key),
        path_flag("service-account-signing-key-file", &pki.service_account_key),
        flag("service-cluster-ip-range", SERVICE_CIDR),
        flag("authorization-mode", "Node,RBAC"),
        flag("allow-privileged", true),
        flag("profiling", false),
        // The reconciler would publish 127.0.0.1 as the `kubernetes` Service's endpoint, which
        // the API rejects (loopback); nothing in the testenv reaches the API through the Service.
        flag("endpoint-reconciler-type", "none"),
    ]
}

/// Flags the controller-manager and the scheduler share: the admin kubeconfig for their API
/// calls and for delegated authn/authz of their own HTTPS endpoint, which listens on loopback.
fn client_component(kubeconfig: &Path, port: u16, cert_dir: &Path) -> Vec<String> {
    vec![
        path_flag("kubeconfig", kubeconfig),
        path_flag("authentication-kubeconfig", kubeconfig),
        path_flag("authorization-kubeconfig", kubeconfig),
        flag("bind-address", "127.0.0.1"),
        flag("secure-port", port),
        path_flag("cert-dir", cert_dir),
        // One instance each: leader election would only delay start-up.
        flag("leader-elect", false),
    ]
}

pub fn kube_controller_manager(ports: &Ports, pki: &Pki, layout: &Layout) -> Vec<String> {
    let mut args = client_component(
        &layout.kubeconfig(),
        ports.controller_manager,
        &layout.state_dir().join("controller-manager"),
    );
    args.extend([
        path_flag("service-account-private-key-file", &pki.service_account_key),
        path_flag("root-ca-file", &pki.ca_cert),
        flag("use-service-account-credentials", true),
        flag("controllers", "*"),
        // kwok heartbeats the fake node from a process that competes for two cores with
        // compilers and tests; a missed heartbeat must not mark the node NotReady (which flips
        // every pod on it to not-ready and, minutes later, evicts them). Real node failures are
        // not something this environment simulates.
        flag("node-monitor-grace-period", "1h"),
    ]);
    args
}

pub fn kube_scheduler(ports: &Ports, layout: &Layout) -> Vec<String> {
    client_component(
        &layout.kubeconfig(),
        ports.scheduler,
        &layout.state_dir().join("scheduler"),
    )
}

/// kwok with its built-in stages (nodes become Ready and heartbeat; pods become Running and
/// Ready, complete, and finish deleting), managing only the nodes annotated for it.
pub fn kwok(layout: &Layout) -> Vec<String> {
    let (key, value) = KWOK_NODE_ANNOTATION;
    vec![
        path_flag("kubeconfig", &layout.kubeconfig()),
        flag("manage-all-nodes", false),
        flag(
            "manage-nodes-with-annotation-selector",
            format!("{key}={value}"),
        ),
        flag("node-ip", "127.0.0.1"),
        flag("cidr", POD_CIDR),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: Ports = Ports {
        etcd_client: 41001,
        etcd_peer: 41002,
        apiserver: 41003,
        controller_manager: 41004,
        scheduler: 41005,
    };

    fn all_args() -> Vec<Vec<String>> {
        let layout = Layout::at("/root-dir");
        let pki = Pki::in_dir(&layout.pki_dir());
        vec![
            etcd(&layout, &PORTS),
            kube_apiserver(&PORTS, &pki, &layout),
            kube_controller_manager(&PORTS, &pki, &layout),
            kube_scheduler(&PORTS, &layout),
            kwok(&layout),
        ]
    }

    #[test]
    fn every_listener_is_on_loopback() {
        for args in all_args() {
            for arg in &args {
                if arg.starts_with("--listen-") || arg.starts_with("--bind-address") {
                    assert!(arg.contains("127.0.0.1"), "{arg} must bind loopback");
                }
            }
        }
    }

    #[test]
    fn components_are_wired_to_the_chosen_ports_and_files() {
        let args = all_args();
        assert!(args[1].contains(&"--etcd-servers=http://127.0.0.1:41001".to_owned()));
        assert!(args[1].contains(&"--secure-port=41003".to_owned()));
        assert!(args[1].contains(&"--client-ca-file=/root-dir/state/pki/ca.crt".to_owned()));
        assert!(args[2].contains(&"--secure-port=41004".to_owned()));
        assert!(args[2].contains(&"--controllers=*".to_owned()));
        assert!(args[2].contains(&"--leader-elect=false".to_owned()));
        assert!(args[3].contains(&"--kubeconfig=/root-dir/state/kubeconfig".to_owned()));
        assert!(args[4].contains(
            &"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake".to_owned()
        ));
    }
}
