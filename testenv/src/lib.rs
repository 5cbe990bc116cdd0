//! A real Kubernetes control plane for tests and the demo (placeholder; see the testenv issue).
